/**
 * Links to the other members (DESIGN.md §16): each member's own JSON-RPC, one connection per
 * peer, opened when first needed and opened again after it drops (not more often than every
 * RETRY_MS). Every request is signed by this member's key; answers are bounded by the client's
 * limits and a timeout, and checked by the caller, never believed.
 */
import { XcmpClient } from '../client/client.ts';
import type { Hex } from '../protocol/bytes.ts';
import {
  type Mesh,
  type MeshKey,
  type MeshMember,
  type MeshMethod,
  type SignedParams,
  signRequest,
} from './members.ts';

/** A member's answer to `xcmp_meshChunks`: its chunk of each slice it holds. */
export interface ChunkAnswer {
  readonly chunks: readonly {
    readonly block: number;
    readonly index: number;
    readonly chunk: Hex;
    readonly branch: readonly Hex[];
    readonly root?: Hex;
  }[];
}

const RETRY_MS = 2000;
const TIMEOUT_MS = 5000;

interface Link {
  client: XcmpClient | null;
  connecting: Promise<XcmpClient> | null;
  failedAt: number;
  lastError: string | null;
}

export class MeshLinks {
  readonly #mesh: Mesh;
  readonly #key: MeshKey;
  readonly #links = new Map<Hex, Link>();

  constructor(mesh: Mesh, key: MeshKey) {
    this.#mesh = mesh;
    this.#key = key;
    for (const member of mesh.members)
      if (member.url)
        this.#links.set(member.key, { client: null, connecting: null, failedAt: 0, lastError: null });
  }

  get peers(): readonly MeshMember[] {
    return this.#mesh.members.filter((m) => m.url !== null);
  }

  /** Whether each peer's link is up now, and the last error on it. */
  status(): { key: Hex; url: string; index: number; connected: boolean; lastError: string | null }[] {
    return this.peers.map((member) => {
      const link = this.#links.get(member.key)!;
      return {
        key: member.key,
        url: member.url!,
        index: member.index,
        connected: link.client !== null,
        lastError: link.lastError,
      };
    });
  }

  async #client(member: MeshMember): Promise<XcmpClient> {
    const link = this.#links.get(member.key)!;
    if (link.client) return link.client;
    if (Date.now() - link.failedAt < RETRY_MS) throw new Error(link.lastError ?? 'unreachable');
    link.connecting ??= XcmpClient.connect(member.url!, { reconnectMs: 0, timeoutMs: TIMEOUT_MS }).then(
      (client) => {
        client.on('disconnected', () => {
          if (link.client === client) link.client = null;
        });
        link.client = client;
        link.lastError = null;
        return client;
      },
      (error: Error) => {
        link.failedAt = Date.now();
        link.lastError = error.message;
        throw error;
      },
    );
    try {
      return await link.connecting;
    } finally {
      link.connecting = null;
    }
  }

  /** `member`'s chunks of `recipient`'s slices at `blocks`; throws when it cannot be asked. */
  chunks(member: MeshMember, recipient: number, blocks: readonly number[]): Promise<ChunkAnswer> {
    return this.call(member, 'xcmp_meshChunks', { recipient, blocks: [...blocks] }) as Promise<ChunkAnswer>;
  }

  /** Opens the link to `member` (or finds it open); throws when the member cannot be reached now. */
  async reach(member: MeshMember): Promise<void> {
    await this.#client(member);
  }

  /** Calls `method` on `member` unsigned (for what anyone may ask, e.g. GRANDPA set changes). */
  async plainCall<T>(member: MeshMember, method: string, params: unknown[]): Promise<T> {
    const client = await this.#client(member);
    return client.call<T>(method, params);
  }

  /** Calls `method` on `member` with `params`, signed by this member over what `method`'s signature covers. */
  async call<M extends MeshMethod>(
    member: MeshMember,
    method: M,
    params: SignedParams<M> & object,
  ): Promise<unknown> {
    const client = await this.#client(member);
    const auth = signRequest(this.#key, method, params);
    try {
      return await client.call<unknown>(method, [{ ...params, ...auth }]);
    } catch (error) {
      this.#links.get(member.key)!.lastError = (error as Error).message;
      throw error;
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      [...this.#links.values()].map(async (link) => {
        const client = link.client ?? (await link.connecting?.catch(() => null)) ?? null;
        link.client = null;
        await client?.close();
      }),
    );
  }
}
