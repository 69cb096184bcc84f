/**
 * What a client that trusts only a GRANDPA checkpoint holds (DESIGN.md §15): the authority sets
 * from the checkpoint on, each taken in only with a proof, and the check that a block is final.
 * - A finality proof for block B is SCALE `FinalityProof { block: F's hash, justification: Vec<u8>,
 *   unknown_headers: Vec<Header> }` (polkadot-sdk `client/consensus/grandpa/src/finality_proof.rs`):
 *   the justification of a block F ≥ B (the last block of B's set if that set has ended, else the
 *   node's latest) and the headers (B; F] in ascending order, linking F back to B.
 * - A set change is proven by the headers from the one that announces it (`ScheduledChange`) to
 *   the one that enacts it (announced + delay), and the justification of the enacting block by the
 *   set in force: it ends that set, and the next set (id + 1) finalizes the blocks after it.
 * A skipped change cannot be smuggled past: the justifications after it are signed by a set the
 * ledger does not hold yet, and fail until the change is shown. Pure.
 */
import { fromHex, type Hex, readCompactNumber, ScaleError, toHex } from '../protocol/bytes.ts';
import { type HeaderRef, readHeader } from '../protocol/header.ts';
import {
  type AuthoritySet,
  decodeJustification,
  type GrandpaCheckpoint,
  type Justification,
  type JustificationFailure,
  setChangeOf,
  verifyJustification,
} from './grandpa.ts';

export interface FinalityProof {
  readonly block: Hex;
  readonly justification: Justification;
  readonly unknownHeaders: readonly HeaderRef[];
  /** The SCALE bytes of the justification and of each unknown header, as they came. */
  readonly raw: { readonly justification: Uint8Array; readonly headers: readonly Uint8Array[] };
}

export function decodeFinalityProof(input: Uint8Array): FinalityProof {
  if (input.length < 33) throw new ScaleError('a finality proof is at least 33 bytes');
  const block = toHex(input.subarray(0, 32));
  const [size, start] = readCompactNumber(input, 32);
  if (start + size > input.length) throw new ScaleError('the justification runs past the finality proof');
  const rawJustification = input.subarray(start, start + size);
  const justification = decodeJustification(rawJustification);
  let [count, pos] = readCompactNumber(input, start + size);
  const unknownHeaders: HeaderRef[] = [];
  const headers: Uint8Array[] = [];
  for (; count > 0; count--) {
    const [header, end] = readHeader(input, pos);
    unknownHeaders.push(header);
    headers.push(input.subarray(pos, end));
    pos = end;
  }
  if (pos !== input.length) throw new ScaleError(`${input.length - pos} bytes after the finality proof`);
  return { block, justification, unknownHeaders, raw: { justification: rawJustification, headers } };
}

/** The proof of one set change: SCALE headers from the announcing block to the enacting one, and the enacting block's justification. */
export interface SetChangeProofHex {
  readonly headers: readonly Hex[];
  readonly justification: Hex;
}

export type FinalityFailure =
  | JustificationFailure
  | 'beforeCheckpoint'
  | 'noProof'
  | 'brokenChain'
  | 'notAChange'
  | 'forcedChange';

export class FinalityError extends Error {
  override readonly name = 'FinalityError';
  constructor(
    readonly reason: FinalityFailure,
    message: string,
    /** Signed by a set the ledger may not know yet: fetch the set changes and try again. */
    readonly maybeNewSet = false,
  ) {
    super(message);
  }
}

/** A set as the ledger holds it: the first block it finalizes. */
interface HeldSet extends AuthoritySet {
  readonly from: number;
}

/** Sets kept: older blocks than the oldest one kept can no longer be proven final. */
const SETS_KEPT = 256;

const SET_FAILURES: ReadonlySet<FinalityFailure> = new Set(['notAuthority', 'tooFewSigners', 'badSignature']);

/** Consecutive headers, each the parent of the next; the first's parent is `parent` when given. */
function checkChain(headers: readonly HeaderRef[], parent?: { number: number; hash: Hex }): void {
  let previous = parent;
  for (const header of headers) {
    if (previous && (header.parentHash !== previous.hash || header.number !== previous.number + 1))
      throw new FinalityError(
        'brokenChain',
        `header #${header.number} ${header.hash} is not the child of #${previous.number} ${previous.hash}`,
      );
    previous = header;
  }
}

export class GrandpaLedger {
  readonly checkpoint: GrandpaCheckpoint;
  readonly #sets: HeldSet[];

  constructor(checkpoint: GrandpaCheckpoint) {
    this.checkpoint = checkpoint;
    this.#sets = [
      { setId: checkpoint.setId, authorities: checkpoint.authorities, from: checkpoint.block.number + 1 },
    ];
  }

  /** The newest set held, and the block after which it finalizes (where to ask for changes from). */
  get latest(): AuthoritySet & { readonly after: number } {
    const set = this.#sets.at(-1)!;
    return { setId: set.setId, authorities: set.authorities, after: set.from - 1 };
  }

  /** The set held for block `number` (the newest one starting at or before it). */
  #setAt(number: number): HeldSet | null {
    for (let i = this.#sets.length - 1; i >= 0; i--) if (this.#sets[i]!.from <= number) return this.#sets[i]!;
    return null;
  }

  /**
   * Checks that block `number` with hash `claimedHash` is final, by its finality proof (SCALE hex);
   * returns the hash. The checkpoint block needs no proof. Throws a FinalityError.
   */
  proveFinal(number: number, claimedHash: Hex, finalityProof: Hex | undefined): Hex {
    const { block } = this.checkpoint;
    if (number === block.number && claimedHash === block.hash) return claimedHash;
    const set = this.#setAt(number);
    if (!set) throw new FinalityError('beforeCheckpoint', `#${number} is before the sets this client holds`);
    if (!finalityProof) throw new FinalityError('noProof', `no finality proof for #${number}`);
    let proof: FinalityProof;
    try {
      proof = decodeFinalityProof(fromHex(finalityProof, 'finality proof'));
    } catch (error) {
      throw new FinalityError('malformed', `the finality proof of #${number}: ${(error as Error).message}`);
    }
    checkChain(proof.unknownHeaders, { number, hash: claimedHash });
    const target = proof.unknownHeaders.at(-1) ?? { number, hash: claimedHash };
    if (proof.block !== target.hash)
      throw new FinalityError(
        'wrongTarget',
        `the finality proof names ${proof.block} as justified, not #${target.number} ${target.hash} (#${number} and the headers after it)`,
      );
    const signer = this.#setAt(target.number)!;
    const verdict = verifyJustification(proof.justification, signer, target);
    if (!verdict.valid)
      throw new FinalityError(
        verdict.reason,
        `#${number}: ${verdict.detail}`,
        SET_FAILURES.has(verdict.reason) && signer === this.#sets.at(-1),
      );
    return claimedHash;
  }

  /** Takes in the next set change, proven by its headers and the enacting block's justification. */
  applyChange(change: SetChangeProofHex): void {
    const latest = this.#sets.at(-1)!;
    let headers: HeaderRef[];
    let justification: Justification;
    try {
      headers = change.headers.map((hex) => {
        const bytes = fromHex(hex, 'header');
        const [header, end] = readHeader(bytes, 0);
        if (end !== bytes.length) throw new ScaleError('trailing bytes after a header');
        return header;
      });
      justification = decodeJustification(fromHex(change.justification, 'justification'));
    } catch (error) {
      throw new FinalityError('malformed', `a set change: ${(error as Error).message}`);
    }
    const announcing = headers[0];
    const enacting = headers.at(-1);
    if (!announcing || !enacting) throw new FinalityError('notAChange', 'a set change with no headers');
    checkChain(headers);
    const announced = setChangeOf(announcing.digest);
    if (!announced)
      throw new FinalityError(
        'notAChange',
        `#${announcing.number} ${announcing.hash} announces no set change`,
      );
    if (announced.forced)
      throw new FinalityError(
        'forcedChange',
        `#${announcing.number} forces a set change: not followed (docs/finality.md)`,
      );
    if (announcing.number < latest.from || announcing.number + announced.delay !== enacting.number)
      throw new FinalityError(
        'notAChange',
        `the change announced at #${announcing.number} (delay ${announced.delay}) is not enacted at #${enacting.number} after set ${latest.setId} began at #${latest.from}`,
      );
    const verdict = verifyJustification(justification, latest, enacting);
    if (!verdict.valid)
      throw new FinalityError(verdict.reason, `the change enacted at #${enacting.number}: ${verdict.detail}`);
    this.#sets.push({
      setId: latest.setId + 1n,
      authorities: announced.authorities,
      from: enacting.number + 1,
    });
    if (this.#sets.length > SETS_KEPT) this.#sets.shift();
  }
}
