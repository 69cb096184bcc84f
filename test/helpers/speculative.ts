/**
 * What speculative subscribers were told, per message, checked against the grammar of
 * docs/speculative.md: `speculative (pending (messages retracted)* (messages | dropped) | withdrawn |
 * contradicted)`. A speculative message is keyed by its para block, position and recipient; once its
 * candidate is backed it is followed by candidate hash and position, as pending messages are.
 */
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';

export type SpeculativeEnd = 'withdrawn' | 'contradicted' | 'pending';

/** After `pending`: the updates each state allows and the state they lead to. */
const PENDING_NEXT: Record<string, Record<string, string>> = {
  pending: { messages: 'enacted', dropped: 'dropped' },
  enacted: { retracted: 'pending' },
};

export class SpeculativeJournal {
  /** "paraHash:position:recipient" → what was said of it, in order. */
  readonly said = new Map<string, string[]>();
  /** "candidateHash:position" → the pending lifecycle of a backed message. */
  readonly candidates = new Map<string, string[]>();
  /** Para block hash → how its messages ended (the first time), and the relay head when it was announced. */
  readonly blocks = new Map<string, { end: SpeculativeEnd | null; announcedAt: number; reason?: string }>();
  /** Candidate hash → its para head (from pending updates). */
  readonly paraHeadOf = new Map<string, string>();
  /** Messages (sender:recipient:hash) a contradicted block announced and its candidate does not carry. */
  readonly contradictedData = new Set<string>();
  readonly problems: string[] = [];
  /** Para block hash → the detail of its withdrawal or contradiction. */
  readonly details = new Map<string, string>();
  readonly counts = new Map<string, number>();

  push(update: MailboxUpdateJson): void {
    this.counts.set(update.type, (this.counts.get(update.type) ?? 0) + 1);
    switch (update.type) {
      case 'speculative':
        this.#announced(update);
        return;
      case 'withdrawn':
      case 'contradicted':
        this.#ended(update);
        return;
      case 'pending':
        this.#pending(update);
        return;
      case 'dropped':
        for (const m of update.pending ?? []) this.#note(`${m.candidateHash}:${m.position}`, 'dropped');
        return;
      case 'messages':
      case 'retracted':
        for (const m of update.messages)
          if (m.position !== undefined) this.#note(`${m.candidateHash}:${m.position}`, update.type);
        return;
    }
  }

  #announced(update: MailboxUpdateJson): void {
    const paraBlock = update.paraBlock!;
    if (!this.blocks.has(paraBlock.hash))
      this.blocks.set(paraBlock.hash, { end: null, announcedAt: update.block.number });
    for (const m of update.speculative ?? []) {
      const key = `${paraBlock.hash}:${m.position}:${m.recipient}`;
      if (this.said.has(key)) this.problems.push(`${key}: announced twice`);
      if (m.verified !== false)
        this.problems.push(`${key}: speculative but verified is ${String(m.verified)}`);
      this.said.set(key, ['speculative']);
    }
  }

  #ended(update: MailboxUpdateJson): void {
    const paraBlock = update.paraBlock!;
    const end = update.type as 'withdrawn' | 'contradicted';
    const block = this.blocks.get(paraBlock.hash);
    if (block && block.end === null) {
      block.end = end;
      block.reason = update.reason;
    }
    this.details.set(paraBlock.hash, update.detail ?? '');
    const backed = new Set((update.pending ?? []).map((m) => `${m.recipient}:${m.hash}`));
    for (const m of update.speculative ?? []) {
      const key = `${paraBlock.hash}:${m.position}:${m.recipient}`;
      const list = this.said.get(key);
      // Announced before this subscriber joined: it learns how it ended, as a pending one does.
      if (!list) continue;
      if (list.length !== 1) this.problems.push(`${key}: ${end} after ${list.join(',')} (${update.detail})`);
      list.push(end);
      // Messages the backed candidate carries as announced are not the lie.
      if (end === 'contradicted' && !backed.has(`${m.recipient}:${m.hash}`))
        this.contradictedData.add(`${m.sender}:${m.recipient}:${m.hash}`);
    }
  }

  #pending(update: MailboxUpdateJson): void {
    for (const m of update.pending ?? []) {
      this.#note(`${m.candidateHash}:${m.position}`, 'pending');
      if (!m.paraHead) continue;
      this.paraHeadOf.set(m.candidateHash, m.paraHead);
      const key = `${m.paraHead}:${m.position}:${m.recipient}`;
      const list = this.said.get(key);
      // A contradicted block's backed messages are not the ones its node announced.
      if (!list || list.at(-1) === 'contradicted') continue;
      if (list.length !== 1)
        this.problems.push(`${key}: pending after ${list.join(',')} (${this.details.get(m.paraHead)})`);
      list.push('pending');
      const block = this.blocks.get(m.paraHead);
      if (block && block.end === null) block.end = 'pending';
    }
  }

  #note(key: string, what: string): void {
    const list = this.candidates.get(key) ?? [];
    list.push(what);
    this.candidates.set(key, list);
  }

  /**
   * Checks every message against the grammar; speculative messages announced at or after relay
   * `openFrom`, and candidates still pending, may be unresolved.
   */
  check(openFrom: number): void {
    for (const [key, list] of this.said) {
      const paraHash = key.split(':')[0]!;
      const open = list.length === 1 && this.blocks.get(paraHash)!.announcedAt >= openFrom;
      if (list.length !== 2 && !open) this.problems.push(`${key}: ${list.join(',')} (not resolved once)`);
    }
    for (const [key, list] of this.candidates) {
      if (list[0] !== 'pending') continue;
      let state = 'pending';
      for (const what of list.slice(1)) {
        const next = PENDING_NEXT[state]?.[what];
        if (!next) {
          this.problems.push(`${key}: ${list.join(',')}`);
          break;
        }
        state = next;
      }
    }
  }
}
