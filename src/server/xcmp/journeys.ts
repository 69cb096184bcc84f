/**
 * `xcmp_getJourney` and `xcmp_subscribeJourneys` (docs/journey.md): journeys held in memory (the
 * latest), and those kept in the store (`--role all`), each journey once.
 */
import { AppErrors, subscriptions } from '../../../rpc/contract.ts';
import type { JourneyFilterJson } from '../../../rpc/schemas.ts';
import {
  type Journey,
  type JourneyBook,
  type JourneyUpdate,
  matchesJourney,
} from '../../para/journey-book.ts';
import type { Hex } from '../../protocol/bytes.ts';
import type { StoreReader } from '../../store/interface.ts';
import { RpcError, type SubscriptionHandler } from '../transport/jsonrpc.ts';
import { validateParams } from './validate.ts';

/** Journeys replayed per stored page, and at most per subscription. */
const PAGE = 500;
const MAX_REPLAY = 100_000;

export function noJourneys(): RpcError {
  return new RpcError(
    AppErrors.notConfigured.code,
    "Journeys need the receiving paras' nodes: start the sidecar with --para (docs/journey.md)",
  );
}

/** The journeys of an XCM id or message hash: those in memory, then stored ones not in memory. */
export async function findJourneys(book: JourneyBook, store: StoreReader, id: Hex): Promise<Journey[]> {
  const held = book.find(id);
  const keys = new Set(held.map((j) => j.key));
  const stored = (await store.journeys(id)).filter((row) => !keys.has(row.key));
  return [...held, ...stored.map((row) => JSON.parse(row.body) as Journey)];
}

/** A journey as an update carries it: a copy, since later stages change the one held. */
function snapshot(update: JourneyUpdate): JourneyUpdate {
  const journey = { ...update.journey, stages: update.journey.stages.map((stage) => ({ ...stage })) };
  return { stage: update.stage, journey };
}

/** Stored journeys sent at `fromBlock` or later that are not in memory, then those in memory, as `replay` updates. */
async function replay(
  book: JourneyBook,
  store: StoreReader,
  filter: JourneyFilterJson & { id?: Hex; fromBlock: number },
  emit: (update: JourneyUpdate) => void,
): Promise<void> {
  const held = book.sentFrom(filter.fromBlock).filter((j) => matchesJourney(j, filter));
  const keys = new Set(held.map((j) => j.key));
  let count = 0;
  for (let from = filter.fromBlock, afterKey = ''; ; ) {
    const page = await store.journeysFrom({ ...filter, fromBlock: from, afterKey, limit: PAGE });
    for (const row of page) {
      if (++count > MAX_REPLAY)
        throw new RpcError(
          -32602,
          `Invalid params: more than ${MAX_REPLAY} journeys to replay: ask from a later block`,
        );
      if (!keys.has(row.key)) emit({ stage: 'replay', journey: JSON.parse(row.body) as Journey });
    }
    if (page.length < PAGE) break;
    from = page.at(-1)!.sentAt;
    afterKey = page.at(-1)!.key;
  }
  for (const journey of held) emit(snapshot({ stage: 'replay', journey }));
}

/** Stages of the sending side, not told to mailbox subscribers (they have the messages themselves). */
const SENDING_STAGES: ReadonlySet<string> = new Set([
  'sent',
  'speculative',
  'backed',
  'enacted',
  'finalized',
  'replay',
]);

/**
 * `include: ["delivery"]` on a mailbox subscription: a "delivery" update each time a journey of an
 * XCM of the mailbox (to the para: inbox; from it: outbox) gets a receiving stage or is verified.
 */
export function deliveryUpdates(
  book: JourneyBook,
  mailbox: { readonly kind: 'inbox' | 'outbox'; readonly paraId: number; readonly finality: string },
  emit: (update: unknown) => void,
): () => void {
  const listener = (update: JourneyUpdate) => {
    const { journey } = update;
    const para = mailbox.kind === 'inbox' ? journey.recipient : journey.sender;
    if (para !== mailbox.paraId || SENDING_STAGES.has(update.stage)) return;
    const { journey: copy } = snapshot(update);
    const paraBlock = copy.stages.findLast((s) => s.paraBlock)?.paraBlock;
    emit({
      type: 'delivery',
      finality: mailbox.finality,
      block: { number: journey.sentAt, hash: journey.blockHash },
      messages: [],
      ...(paraBlock ? { paraBlock } : {}),
      stage: update.stage,
      journey: copy,
    });
  };
  book.on('update', listener);
  return () => {
    book.off('update', listener);
  };
}

export function journeysSubscription(book: JourneyBook | null, store: StoreReader): SubscriptionHandler {
  const spec = subscriptions.xcmp_subscribeJourneys;
  return {
    notification: spec.notification,
    unsubscribe: spec.unsubscribe,
    subscribe: (params, emit, _context, end) => {
      const [options = {}] = validateParams('xcmp_subscribeJourneys', spec.params, params) as [
        (JourneyFilterJson & { id?: Hex }) | undefined,
      ];
      if (!book) throw noJourneys();
      let buffered: JourneyUpdate[] | null = options.fromBlock === undefined ? null : [];
      const listener = (update: JourneyUpdate) => {
        if (!matchesJourney(update.journey, options)) return;
        if (buffered) buffered.push(snapshot(update));
        else emit(snapshot(update));
      };
      book.on('update', listener);
      if (options.fromBlock !== undefined)
        replay(book, store, { ...options, fromBlock: options.fromBlock }, emit)
          .then(() => {
            for (const update of buffered ?? []) emit(update);
            buffered = null;
          })
          .catch((error: Error) => {
            book.off('update', listener);
            end(
              error instanceof RpcError
                ? error
                : new RpcError(-32603, `journey replay failed: ${error.message}`),
            );
          });
      return () => {
        book.off('update', listener);
      };
    },
  };
}
