/**
 * A best or pending mailbox subscription as its consumer sees it across reconnects (docs/resume.md):
 * what it was told and holds (best blocks whose messages it was sent, candidates announced to it and
 * not settled for good), what is final, and from that the params to resume with, so that after a
 * reconnect it receives exactly what a subscriber that never left received and it did not: nothing
 * twice, a `retracted` for each block that left the chain meanwhile, every pending message resolved
 * once. Updates the server repeats or that cannot apply are not passed on.
 */
import type { MailboxUpdateJson, PendingMessageJson, SubscriptionOptionsJson } from '../../rpc/schemas.ts';

/** The server takes at most this many of each (rpc/schemas.ts). */
const MAX_KNOWN = 256;
const MAX_OPEN = 1024;
/** Para blocks remembered as told (speculative) or ended, so a replay after a reconnect is not told twice. */
const MAX_PARA_BLOCKS = 4096;

interface HeldBlock {
  readonly hash: string;
  readonly update: MailboxUpdateJson;
}

interface HeldCandidate {
  readonly messages: PendingMessageJson[];
  /** The block whose messages enacted it, while that block is not final; null while pending. */
  enactedAt: number | null;
}

export class BestStream {
  /** The last block known final: everything up to it that was due is delivered. */
  #final: number | null;
  readonly #known = new Map<number, HeldBlock>();
  readonly #candidates = new Map<string, HeldCandidate>();
  /** Para block hash → how far it was told: announced, or ended (withdrawn or contradicted). */
  readonly #paraBlocks = new Map<string, 'announced' | 'ended'>();

  constructor(fromBlock?: number) {
    this.#final = fromBlock === undefined ? null : fromBlock - 1;
  }

  get finalBlock(): number | null {
    return this.#final;
  }

  /** Subscribe params: the caller's options, with markers, and once anything is held what to resume from. */
  params(options: SubscriptionOptionsJson): SubscriptionOptionsJson {
    const held = this.#known.size > 0 || this.#candidates.size > 0;
    const base = { ...options, markFinalized: true };
    if (!held && this.#final === null) return base;
    const lowestKnown = Math.min(...this.#known.keys());
    const fromBlock = this.#final !== null ? this.#final + 1 : lowestKnown;
    if (!held) return { ...base, fromBlock };
    const known = [...this.#known].map(([number, block]) => ({ number, hash: block.hash })).slice(-MAX_KNOWN);
    const open = [...this.#candidates.keys()].slice(-MAX_OPEN);
    return { ...base, fromBlock, resume: { known, open } };
  }

  /** One update from the server: what of it to deliver (none, it, or a retraction first). */
  take(update: MailboxUpdateJson): MailboxUpdateJson[] {
    switch (update.type) {
      case 'finalized':
        this.#finalize(update.block.number);
        return [];
      case 'messages':
        return this.#messages(update);
      case 'retracted':
        return this.#retracted(update);
      case 'pending':
        return this.#pending(update);
      case 'dropped':
        return this.#dropped(update);
      case 'speculative':
      case 'withdrawn':
      case 'contradicted':
        return this.#speculative(update);
      default:
        return [update];
    }
  }

  #messages(update: MailboxUpdateJson): MailboxUpdateJson[] {
    const { number, hash } = update.block;
    const held = this.#known.get(number);
    const final = update.finality === 'finalized';
    if (held?.hash === hash) {
      if (final) this.#finalize(number);
      return [];
    }
    const out = held ? [this.#retract(number, held)] : [];
    if (final) {
      // A stored block of a replay: final already.
      for (const m of update.messages) if (m.candidateHash) this.#candidates.delete(m.candidateHash);
      this.#finalize(number);
    } else {
      this.#known.set(number, { hash, update });
      for (const m of update.messages) {
        const candidate = this.#candidates.get(m.candidateHash);
        if (candidate) candidate.enactedAt = number;
      }
    }
    out.push(update);
    return out;
  }

  /**
   * The server replays open speculative blocks to a resumed subscription: one already told is not
   * told again, and a block is ended once. (A block that ended while the client was away is not
   * told: it was open, and the server no longer holds it; see docs/speculative.md.)
   */
  #speculative(update: MailboxUpdateJson): MailboxUpdateJson[] {
    const hash = update.paraBlock?.hash;
    if (hash === undefined) return [update];
    const told = this.#paraBlocks.get(hash);
    if (told === 'ended' || (told === 'announced' && update.type === 'speculative')) return [];
    this.#paraBlocks.set(hash, update.type === 'speculative' ? 'announced' : 'ended');
    if (this.#paraBlocks.size > MAX_PARA_BLOCKS)
      this.#paraBlocks.delete(this.#paraBlocks.keys().next().value!);
    return [update];
  }

  #retracted(update: MailboxUpdateJson): MailboxUpdateJson[] {
    const held = this.#known.get(update.block.number);
    if (!held || held.hash !== update.block.hash) return [];
    return [this.#retract(update.block.number, held)];
  }

  /** Forgets a held block as on the chain (its candidates are pending again) and says so. */
  #retract(number: number, held: HeldBlock): MailboxUpdateJson {
    this.#known.delete(number);
    for (const candidate of this.#candidates.values())
      if (candidate.enactedAt === number) candidate.enactedAt = null;
    const { finality, block, messages } = held.update;
    return { type: 'retracted', finality, block, messages };
  }

  #pending(update: MailboxUpdateJson): MailboxUpdateJson[] {
    const fresh = (update.pending ?? []).filter((m) => !this.#candidates.has(m.candidateHash));
    for (const m of fresh) {
      const candidate = this.#candidates.get(m.candidateHash);
      if (candidate) candidate.messages.push(m);
      else this.#candidates.set(m.candidateHash, { messages: [m], enactedAt: null });
    }
    return fresh.length > 0 ? [{ ...update, pending: fresh }] : [];
  }

  #dropped(update: MailboxUpdateJson): MailboxUpdateJson[] {
    const hash = update.candidateHash ?? update.pending?.[0]?.candidateHash;
    const held = hash === undefined ? undefined : this.#candidates.get(hash);
    if (!hash || !held) return [];
    this.#candidates.delete(hash);
    return [{ ...update, pending: update.pending?.length ? update.pending : held.messages }];
  }

  /** Blocks up to `number` are final: what they hold is settled for good. */
  #finalize(number: number): void {
    this.#final = Math.max(this.#final ?? 0, number);
    for (const held of this.#known.keys()) if (held <= number) this.#known.delete(held);
    for (const [hash, candidate] of this.#candidates)
      if (candidate.enactedAt !== null && candidate.enactedAt <= number) this.#candidates.delete(hash);
  }
}
