/**
 * One journey per XCM (DESIGN.md §14): the XCMs of a stored horizontal message, and which of them a
 * receiving runtime's verdict is about. Pure.
 */
import type { Hex } from '../protocol/bytes.ts';
import type { TypeCodec } from '../protocol/codec.ts';
import { xcmIdentity } from '../protocol/xcm-ids.ts';
import { splitXcmpMessage, XcmpFormatError } from '../protocol/xcmp.ts';
import type { XcmVerdict } from './para-verdicts.ts';

/** One XCM of a message, as a journey names it. */
export interface XcmOfMessage {
  /** Position of the XCM in the message's page. */
  readonly xcmIndex: number;
  /** The id the receiver's verdict carries (the trailing topic, else `messageHash`). */
  readonly id: Hex;
  readonly messageHash: Hex;
  readonly topic: Hex | null;
  readonly version: string;
}

/** A message's XCMs, or why it has none: signals, blobs and malformed pages are recorded, not dropped. */
export type MessageXcms =
  | { readonly kind: 'xcms'; readonly xcms: readonly XcmOfMessage[] }
  | { readonly kind: 'notXcm'; readonly format: 'signals' | 'concatenatedEncodedBlob' }
  | { readonly kind: 'malformed'; readonly reason: string };

export function xcmsOfMessage(data: Uint8Array, codec: TypeCodec): MessageXcms {
  try {
    const page = splitXcmpMessage(data, codec);
    if (!('programs' in page)) return { kind: 'notXcm', format: page.format };
    return {
      kind: 'xcms',
      xcms: page.programs.map((program, xcmIndex) => {
        const { id, messageHash, topic, version } = xcmIdentity(program);
        return { xcmIndex, id, messageHash, topic, version };
      }),
    };
  } catch (error) {
    if (error instanceof XcmpFormatError) return { kind: 'malformed', reason: error.message };
    throw error;
  }
}

/** What a verdict can be matched against: an XCM delivered to the verdict's chain and not judged yet. */
export interface AwaitingXcm {
  readonly key: string;
  readonly sender: number;
  readonly id: Hex;
  readonly messageHash: Hex;
}

/**
 * Pairs each verdict with the earliest awaiting XCM from its sender that it names: by `id`, or by
 * `messageHash` for a receiver whose barrier does not take the topic as the id. Each XCM is judged
 * once; verdicts naming nothing awaited are returned apart (an XCM the sidecar did not see delivered).
 */
export function matchVerdicts<A extends AwaitingXcm>(
  awaiting: readonly A[],
  verdicts: readonly XcmVerdict[],
): { matched: { xcm: A; verdict: XcmVerdict }[]; unmatched: XcmVerdict[] } {
  const open = [...awaiting];
  const matched: { xcm: A; verdict: XcmVerdict }[] = [];
  const unmatched: XcmVerdict[] = [];
  for (const verdict of verdicts) {
    const at = open.findIndex(
      (x) => x.sender === verdict.sender && (x.id === verdict.id || x.messageHash === verdict.id),
    );
    if (at < 0) {
      unmatched.push(verdict);
      continue;
    }
    matched.push({ xcm: open[at]!, verdict });
    open.splice(at, 1);
  }
  return { matched, unmatched };
}

/** Whether two reports of one event agree on everything a journey shows of it. */
export function sameVerdict(a: XcmVerdict, b: XcmVerdict): boolean {
  return (
    a.eventIndex === b.eventIndex &&
    a.id === b.id &&
    a.sender === b.sender &&
    a.outcome === b.outcome &&
    a.event === b.event &&
    a.weightUsed?.refTime === b.weightUsed?.refTime &&
    a.weightUsed?.proofSize === b.weightUsed?.proofSize &&
    JSON.stringify(a.error) === JSON.stringify(b.error)
  );
}
