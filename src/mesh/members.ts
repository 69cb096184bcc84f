/**
 * Who is in a mesh (DESIGN.md §16): n sidecars of different operators, each named by an ed25519
 * key; indices by sorted public key, so every member numbers the others alike. A member's request
 * to another is signed over what it asks and when (`xcmp-mesh|method|payload|at`, SIGNED_PAYLOAD); a request that
 * is not from a member, or older than REQUEST_WINDOW_MS, is refused. A replay within the window
 * can only ask again for chunks of public chain data.
 */
import { ed25519PairFromSeed, ed25519Sign, ed25519Verify } from '@polkadot/util-crypto';
import { recoveryThreshold } from '../derive/erasure.ts';
import { fromHex, type Hex, toHex } from '../protocol/bytes.ts';

export interface MeshKey {
  readonly publicKey: Hex;
  readonly secretKey: Uint8Array;
}

export interface MeshMember {
  readonly key: Hex;
  /** Where the member's sidecar answers; null for this sidecar itself. */
  readonly url: string | null;
  readonly index: number;
}

export interface Mesh {
  readonly self: MeshMember;
  readonly members: readonly MeshMember[];
  readonly n: number;
  /** Chunks needed to give a slice back: ⌊(n − 1)/3⌋ + 1. */
  readonly k: number;
}

export const REQUEST_WINDOW_MS = 5 * 60_000;
const KEY = /^0x[0-9a-f]{64}$/;

/** The key a 32-byte seed names. */
export function meshKeyFromSeed(seed: Uint8Array): MeshKey {
  if (seed.length !== 32) throw new Error(`a mesh key seed is 32 bytes, not ${seed.length}`);
  const pair = ed25519PairFromSeed(seed);
  return { publicKey: toHex(pair.publicKey), secretKey: pair.secretKey };
}

/** The mesh of this sidecar and its peers (`KEY@ws://…` each), numbered by sorted key. */
export function meshOf(self: MeshKey, peers: readonly { key: string; url: string }[]): Mesh {
  const all = [
    { key: self.publicKey, url: null as string | null },
    ...peers.map((p) => ({ key: p.key.toLowerCase() as Hex, url: p.url })),
  ];
  for (const { key } of all)
    if (!KEY.test(key)) throw new Error(`mesh member key ${key} is not 32 bytes of hex`);
  const keys = new Set(all.map((m) => m.key));
  if (keys.size !== all.length) throw new Error('a mesh member is listed twice (or is this sidecar itself)');
  const members = all.sort((a, b) => (a.key < b.key ? -1 : 1)).map((member, index) => ({ ...member, index }));
  const self_ = members.find((m) => m.url === null)!;
  return { self: self_, members, n: members.length, k: recoveryThreshold(members.length) };
}

export interface SignedRequest {
  readonly member: Hex;
  readonly at: number;
  readonly signature: Hex;
}

/** What each mesh method's signature covers, from its params (its content is proven, not signed): one definition for signer and checker. */
const SIGNED_PAYLOAD = {
  xcmp_meshChunks: (p: { readonly recipient: number; readonly blocks: readonly number[] }) =>
    `${p.recipient}:${p.blocks.join(',')}`,
  xcmp_meshPush: (p: { readonly block: { readonly number: number; readonly hash: string } }) =>
    `${p.block.number}:${p.block.hash}`,
  xcmp_meshBlocks: (p: { readonly fromBlock: number | null }) => `${p.fromBlock ?? 0}`,
};

export type MeshMethod = keyof typeof SIGNED_PAYLOAD;
export type SignedParams<M extends MeshMethod> = Parameters<(typeof SIGNED_PAYLOAD)[M]>[0];

const message = <M extends MeshMethod>(method: M, params: SignedParams<M>, at: number) =>
  new TextEncoder().encode(
    `xcmp-mesh|${method}|${(SIGNED_PAYLOAD[method] as (p: SignedParams<M>) => string)(params)}|${at}`,
  );

export function signRequest<M extends MeshMethod>(
  key: MeshKey,
  method: M,
  params: SignedParams<M>,
  at = Date.now(),
): SignedRequest {
  const signature = ed25519Sign(message(method, params, at), {
    publicKey: fromHex(key.publicKey),
    secretKey: key.secretKey,
  });
  return { member: key.publicKey, at, signature: toHex(signature) };
}

/** The member that signed this request, or why it is refused. */
export function requestSigner<M extends MeshMethod>(
  mesh: Mesh,
  request: SignedRequest & SignedParams<M>,
  method: M,
  now = Date.now(),
): MeshMember | string {
  const member = mesh.members.find((m) => m.key === request.member?.toLowerCase() && m.url !== null);
  if (!member) return `${request.member} is not a member of this mesh`;
  if (!Number.isSafeInteger(request.at) || Math.abs(now - request.at) > REQUEST_WINDOW_MS)
    return `the request was signed at ${request.at}, more than ${REQUEST_WINDOW_MS / 1000} s from now`;
  let valid = false;
  try {
    valid = ed25519Verify(
      message(method, request, request.at),
      fromHex(request.signature),
      fromHex(member.key),
    );
  } catch {
    valid = false;
  }
  return valid ? member : `the signature of ${member.key} does not verify`;
}
