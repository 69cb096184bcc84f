/**
 * GRANDPA finality without a trusted node (DESIGN.md §15): a justification proves its target final
 * to anyone who knows the authority set. Checked against polkadot-sdk
 * (`substrate/client/consensus/grandpa/src/justification.rs`, `finality-grandpa`'s commit
 * validation, `sp_consensus_grandpa::localized_payload`):
 * - `GrandpaJustification { round: u64, commit: { target_hash, target_number: u32, precommits:
 *   Vec<{ precommit: { target_hash, target_number }, signature: [u8; 64], id: [u8; 32] }> },
 *   votes_ancestries: Vec<Header> }`;
 * - each signature is ed25519 over SCALE `(Message::Precommit(precommit), round: u64, set_id: u64)`,
 *   `Message::Precommit` being variant 1;
 * - valid when every signer is in the set and signs once, the signers' weight reaches the threshold
 *   (n − ⌊(n − 1)/3⌋ of n equal weights: ⌊2n/3⌋ + 1), every signature verifies, every precommit
 *   target is the commit target or descends from it through `votes_ancestries`, and every ancestry
 *   header is used.
 * Pure: bytes and ed25519 (@polkadot/util-crypto: WASM when initialised, else @noble/curves).
 */
import { ed25519Verify } from '@polkadot/util-crypto';
import {
  concatBytes,
  fromHex,
  type Hex,
  readCompactNumber,
  readU32,
  readU64,
  ScaleError,
  toHex,
  u32le,
  u64le,
} from '../protocol/bytes.ts';
import { type DigestItemRef, type HeaderRef, readHeader } from '../protocol/header.ts';

export interface SignedPrecommit {
  readonly targetHash: Hex;
  readonly targetNumber: number;
  readonly signature: Uint8Array;
  readonly authority: Hex;
}

export interface Justification {
  readonly round: bigint;
  readonly targetHash: Hex;
  readonly targetNumber: number;
  readonly precommits: readonly SignedPrecommit[];
  readonly ancestries: readonly HeaderRef[];
}

/** An authority set as a verifier holds it: its id and its members' ed25519 keys (equal weights, as on Polkadot). */
export interface AuthoritySet {
  readonly setId: bigint;
  readonly authorities: readonly Hex[];
}

export type JustificationFailure =
  | 'malformed'
  | 'wrongTarget'
  | 'notAuthority'
  | 'duplicateSigner'
  | 'notDescendant'
  | 'unusedAncestry'
  | 'tooFewSigners'
  | 'badSignature';

export type JustificationVerdict =
  | {
      readonly valid: true;
      readonly target: { readonly number: number; readonly hash: Hex };
      readonly round: bigint;
      readonly signers: number;
      readonly threshold: number;
      readonly authorities: number;
    }
  | { readonly valid: false; readonly reason: JustificationFailure; readonly detail: string };

const PRECOMMIT_BYTES = 32 + 4 + 64 + 32;

/** Decodes a SCALE `GrandpaJustification`; trailing bytes are an error. */
export function decodeJustification(input: Uint8Array): Justification {
  const round = readU64(input, 0);
  if (input.length < 44) throw new ScaleError('a justification is at least 44 bytes');
  const targetHash = toHex(input.subarray(8, 40));
  const targetNumber = readU32(input, 40);
  let [count, pos] = readCompactNumber(input, 44);
  if (pos + count * PRECOMMIT_BYTES > input.length)
    throw new ScaleError(`${count} precommits run past the end of ${input.length} bytes`);
  const precommits: SignedPrecommit[] = [];
  for (let i = 0; i < count; i++, pos += PRECOMMIT_BYTES)
    precommits.push({
      targetHash: toHex(input.subarray(pos, pos + 32)),
      targetNumber: readU32(input, pos + 32),
      signature: input.slice(pos + 36, pos + 100),
      authority: toHex(input.subarray(pos + 100, pos + 132)),
    });
  [count, pos] = readCompactNumber(input, pos);
  const ancestries: HeaderRef[] = [];
  for (let i = 0; i < count; i++) {
    const [header, end] = readHeader(input, pos);
    ancestries.push(header);
    pos = end;
  }
  if (pos !== input.length) throw new ScaleError(`${input.length - pos} bytes after the justification`);
  return { round, targetHash, targetNumber, precommits, ancestries };
}

/** What each authority signs: SCALE `(Message::Precommit { target_hash, target_number }, round, set_id)`. */
export function precommitPayload(
  precommit: { readonly targetHash: Hex; readonly targetNumber: number },
  round: bigint,
  setId: bigint,
): Uint8Array {
  return concatBytes([
    Uint8Array.of(1),
    fromHex(precommit.targetHash),
    u32le(precommit.targetNumber),
    u64le(round),
    u64le(setId),
  ]);
}

/** Votes needed of n equal-weight authorities: n − ⌊(n − 1)/3⌋ (finality-grandpa's VoterSet threshold). */
export function grandpaThreshold(authorities: number): number {
  return authorities - Math.floor((authorities - 1) / 3);
}

const fail = (reason: JustificationFailure, detail: string): JustificationVerdict => ({
  valid: false,
  reason,
  detail,
});

/** Each precommit target is the commit target or descends from it through the ancestry headers; all of them used. */
function checkAncestry(j: Justification): JustificationVerdict | null {
  const byHash = new Map(j.ancestries.map((h) => [h.hash, h]));
  const used = new Set<Hex>();
  for (const precommit of j.precommits) {
    let hash = precommit.targetHash;
    while (hash !== j.targetHash) {
      const header = byHash.get(hash);
      if (!header || header.number <= j.targetNumber)
        return fail(
          'notDescendant',
          `precommit of ${precommit.authority} for #${precommit.targetNumber} ${precommit.targetHash} does not descend from the target #${j.targetNumber} ${j.targetHash} through the ancestries`,
        );
      used.add(hash);
      hash = header.parentHash;
    }
  }
  const unused = j.ancestries.find((h) => !used.has(h.hash));
  return unused
    ? fail('unusedAncestry', `ancestry header #${unused.number} ${unused.hash} is on no precommit's path`)
    : null;
}

/** Whether a justification proves its target final under `set` (and is for `expected`, when given). */
export function verifyJustification(
  j: Justification,
  set: AuthoritySet,
  expected?: { readonly hash: Hex; readonly number?: number },
): JustificationVerdict {
  if (expected && (expected.hash !== j.targetHash || (expected.number ?? j.targetNumber) !== j.targetNumber))
    return fail(
      'wrongTarget',
      `the justification is for #${j.targetNumber} ${j.targetHash}, not ${expected.hash}`,
    );
  const members = new Set(set.authorities.map((a) => a.toLowerCase()));
  const signers = new Set<Hex>();
  for (const p of j.precommits) {
    if (!members.has(p.authority))
      return fail('notAuthority', `${p.authority} is not in authority set ${set.setId}`);
    if (signers.has(p.authority)) return fail('duplicateSigner', `${p.authority} signed more than once`);
    signers.add(p.authority);
  }
  const ancestry = checkAncestry(j);
  if (ancestry) return ancestry;
  const threshold = grandpaThreshold(members.size);
  if (signers.size < threshold)
    return fail(
      'tooFewSigners',
      `${signers.size} of ${members.size} authorities signed; ${threshold} are needed`,
    );
  for (const p of j.precommits)
    if (!ed25519Verify(precommitPayload(p, j.round, set.setId), p.signature, fromHex(p.authority)))
      return fail(
        'badSignature',
        `the signature of ${p.authority} does not verify for round ${j.round}, set ${set.setId}`,
      );
  return {
    valid: true,
    target: { number: j.targetNumber, hash: j.targetHash },
    round: j.round,
    signers: signers.size,
    threshold,
    authorities: members.size,
  };
}

/** An authority-set change announced in a header: `ConsensusLog::ScheduledChange` (or `ForcedChange`) under `FRNK`. */
export interface SetChange {
  readonly authorities: readonly Hex[];
  /** Finalized blocks after the announcing one before the new set takes over. */
  readonly delay: number;
  readonly forced: boolean;
}

const FRNK = '0x46524e4b';

/** `ScheduledChange { next_authorities: Vec<(AuthorityId, u64)>, delay: u32 }` at `offset`. */
function readScheduledChange(data: Uint8Array, offset: number, forced: boolean): SetChange {
  const [count, start] = readCompactNumber(data, offset);
  const end = start + count * 40;
  if (end + 4 > data.length)
    throw new ScaleError(`a ScheduledChange of ${count} authorities runs past its log`);
  const authorities: Hex[] = [];
  for (let pos = start; pos < end; pos += 40) authorities.push(toHex(data.subarray(pos, pos + 32)));
  return { authorities, delay: readU32(data, end), forced };
}

/** The GRANDPA set change a header's digest announces, if any. */
export function setChangeOf(digest: readonly DigestItemRef[]): SetChange | null {
  for (const item of digest) {
    if (item.kind !== 4 || item.engine !== FRNK) continue;
    if (item.data[0] === 1) return readScheduledChange(item.data, 1, false);
    // ForcedChange(median_last_finalized: u32, ScheduledChange)
    if (item.data[0] === 2) return readScheduledChange(item.data, 5, true);
  }
  return null;
}

/** A trusted starting point: the set in force after `block` (its id and authorities). */
export interface GrandpaCheckpoint extends AuthoritySet {
  readonly block: { readonly number: number; readonly hash: Hex };
}

/**
 * The checkpoint in a chain spec's `lightSyncState` (as `@substrate/connect-known-chains` ships
 * them): `finalizedBlockHeader` (SCALE) and `grandpaAuthoritySet`, a SCALE `AuthoritySet` that
 * starts `current_authorities: Vec<(AuthorityId, u64)>, set_id: u64` (the pending changes after
 * them are not needed to start). Throws a ScaleError when the spec has none or it does not decode.
 */
export function checkpointFromChainSpec(spec: unknown): GrandpaCheckpoint {
  const state = (spec as { lightSyncState?: Record<string, unknown> } | null)?.lightSyncState;
  const header = state?.finalizedBlockHeader;
  const authoritySet = state?.grandpaAuthoritySet;
  if (typeof header !== 'string' || typeof authoritySet !== 'string')
    throw new ScaleError(
      'the chain spec has no lightSyncState with finalizedBlockHeader and grandpaAuthoritySet',
    );
  const headerBytes = fromHex(header, 'lightSyncState.finalizedBlockHeader');
  const [block, end] = readHeader(headerBytes, 0);
  if (end !== headerBytes.length)
    throw new ScaleError('lightSyncState.finalizedBlockHeader has trailing bytes');
  const set = fromHex(authoritySet, 'lightSyncState.grandpaAuthoritySet');
  const [count, start] = readCompactNumber(set, 0);
  if (count === 0 || start + count * 40 + 8 > set.length)
    throw new ScaleError(`grandpaAuthoritySet: ${count} authorities do not fit in ${set.length} bytes`);
  const authorities: Hex[] = [];
  for (let i = 0, pos = start; i < count; i++, pos += 40)
    authorities.push(toHex(set.subarray(pos, pos + 32)));
  const setId = readU64(set, start + count * 40);
  return { setId, authorities, block: { number: block.number, hash: block.hash } };
}
