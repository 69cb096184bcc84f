/** The xcmp_* handlers, dispatched from the contract in rpc/: params validated, results shaped by rpc/schemas.ts. */
import {
  AppErrors,
  contractMethodNames,
  type MethodName,
  methods,
  type SubscriptionName,
  subscriptions,
} from '../../../rpc/contract.ts';
import type {
  CandidateSubscriptionOptionsJson,
  ChannelHistoryOptionsJson,
  GrandpaChangesJson,
  GrandpaChangesOptionsJson,
  InboxProofJson,
  MailboxJson,
  MessageQueryOptionsJson,
  StatusJson,
  SubscriptionOptionsJson,
} from '../../../rpc/schemas.ts';
import type { InboxProofAt } from '../../chain/proofs.ts';
import { MeshRefusal, type MeshService } from '../../mesh/service.ts';
import type { JourneyBook } from '../../para/journey-book.ts';
import type { Hex } from '../../protocol/bytes.ts';
import type { TypeCodec } from '../../protocol/codec.ts';
import type { StoreReader } from '../../store/interface.ts';
import type { MessageRecord } from '../../store/types.ts';
import {
  JsonParts,
  type MethodHandler,
  type RpcContext,
  RpcError,
  type RpcHandlers,
  type SubscriptionHandler,
  tooBig,
} from '../transport/jsonrpc.ts';
import { channelHistory } from './history.ts';
import type { SubscriptionHub } from './hub.ts';
import { deliveryUpdates, findJourneys, journeysSubscription, noJourneys } from './journeys.ts';
import { type ProvenInboxFeed, proofJson } from './proven.ts';
import { validateParams } from './validate.ts';
import { candidateJson, channelJson, messageJson } from './wire.ts';

export interface SidecarBackend {
  readonly store: StoreReader;
  readonly hub: SubscriptionHub;
  status(): Promise<StatusJson>;
  /** The VersionedXcm codec of the runtime in force, for `decode: true`. */
  xcm(): TypeCodec | null;
  /** Methods answered beyond the contract (the node's, through the proxy). */
  extraMethods?(): Promise<readonly string[]>;
  /** Journeys of XCMs to attached paras (null without --para). */
  readonly journeys?: JourneyBook | null;
  /** The availability mesh (--mesh-key): aged inbox history is read back through it. */
  readonly mesh?: MeshService | null;
}

const DEFAULT_LIMIT = 1000;

function notFound(what: string): RpcError {
  return new RpcError(AppErrors.notFound.code, `Not found: ${what}`);
}

/**
 * The mailbox's rows, the aged ones first: an inbox range below the mesh's full history is read
 * back from the mesh (docs/mesh.md) slice by slice; an unavailable slice is an error, not a gap.
 */
async function* withAged(
  backend: SidecarBackend,
  kind: 'inbox' | 'outbox',
  paraId: number,
  query: { fromBlock?: number; toBlock: number; includeUnverified?: boolean; limit: number },
): AsyncGenerator<MessageRecord> {
  const mesh = backend.mesh;
  let from = query.fromBlock ?? 0;
  let left = query.limit;
  if (mesh && kind === 'inbox' && from < mesh.fullFrom) {
    const agedEnd = Math.min(query.toBlock, mesh.fullFrom - 1);
    while (from <= agedEnd && left > 0) {
      let answer: { messages: MessageRecord[]; through: number };
      try {
        answer = await mesh.agedInbox(paraId, from, agedEnd);
      } catch (error) {
        throw new RpcError(-32603, `Cannot read aged history from the mesh: ${(error as Error).message}`);
      }
      for (const message of answer.messages.slice(0, left)) yield message;
      left -= answer.messages.length;
      from = answer.through + 1;
    }
    if (left <= 0) return;
    from = Math.max(from, mesh.fullFrom);
  } else if (mesh && kind === 'outbox' && from < mesh.fullFrom && query.toBlock >= from)
    throw new RpcError(
      -32602,
      `Invalid params: outboxes are kept in full from block #${mesh.fullFrom} only (older history is kept per recipient by the mesh: ask the recipients' inboxes)`,
    );
  const fromBlock = query.fromBlock === undefined && from === 0 ? undefined : from;
  yield* backend.store.mailboxRows(kind, paraId, { ...query, fromBlock, limit: left });
}

/**
 * A mailbox answer, serialized message by message against the request's byte budget: a result
 * that would pass the response limit stops being built there (-32008) instead of after the fact.
 */
async function mailbox(
  backend: SidecarBackend,
  kind: 'inbox' | 'outbox',
  paraId: number,
  options: MessageQueryOptionsJson = {},
  maxBytes: number,
  proof?: InboxProofJson,
): Promise<JsonParts> {
  const { store } = backend;
  const [cursor, channels, watermark] = await Promise.all([
    store.cursor(),
    kind === 'inbox' ? store.channels({ recipient: paraId }) : store.channels({ sender: paraId }),
    kind === 'inbox' ? store.watermark(paraId) : null,
  ]);
  const mqcHeads = Object.fromEntries(
    channels.map((c) => [String(kind === 'inbox' ? c.sender : c.recipient), c.mqcHead]),
  );
  const head = JSON.stringify({
    paraId,
    at: cursor,
    watermark,
  } satisfies Omit<MailboxJson, 'messages' | 'mqcHeads'>).slice(0, -1);
  const tail = proof
    ? `${JSON.stringify(mqcHeads)},"proof":${JSON.stringify(proof)}`
    : JSON.stringify(mqcHeads);
  // Nothing past the cursor read above: a block written meanwhile is not half in this answer.
  const query = {
    fromBlock: options.fromBlock,
    toBlock: Math.min(options.toBlock ?? Number.MAX_SAFE_INTEGER, cursor?.number ?? 0),
    includeUnverified: options.includeUnverified,
    limit: options.limit ?? DEFAULT_LIMIT,
  };
  const xcm = options.decode ? backend.xcm() : undefined;
  // Each message UTF-8 once, as a part of the answer: no string of the whole answer is ever made.
  const parts: Buffer[] = [Buffer.from(`${head},"messages":[`)];
  let size = head.length + tail.length + 32;
  for await (const message of withAged(backend, kind, paraId, query)) {
    const json = JSON.stringify(messageJson(message, xcm));
    size += json.length + 1;
    if (size > maxBytes) throw tooBig(maxBytes);
    parts.push(Buffer.from(parts.length === 1 ? json : `,${json}`));
  }
  parts.push(Buffer.from(`],"mqcHeads":${tail}}`));
  return new JsonParts(
    parts,
    parts.reduce((total, part) => total + part.length, 0),
  );
}

/**
 * `xcmp_getInbox` with `proof: true`: messages complete up to one block, and the proof there. When
 * `limit` would cut a block's messages in two, that block is left out and the proof is at the one
 * before, so the answer always extends the client's heads to exactly the proven ones.
 */
async function provenMailbox(
  backend: SidecarBackend,
  recipient: number,
  options: MessageQueryOptionsJson,
  maxBytes: number,
): Promise<JsonParts> {
  const feed = provenFeed(backend.hub, 'inbox', undefined);
  refuseAged(backend, options.fromBlock, 'proof: true');
  const cursor = await backend.store.cursor();
  if (!cursor) throw notFound('a stored block to prove (the store is empty)');
  let upTo = Math.min(options.toBlock ?? cursor.number, cursor.number);
  const limit = options.limit ?? DEFAULT_LIMIT;
  const query = { ...options, toBlock: upTo, limit: limit + 1 };
  let count = 0;
  for await (const message of backend.store.mailboxRows('inbox', recipient, query)) {
    if (count++ === limit) {
      if (message.sentAt <= (options.fromBlock ?? 0))
        throw new RpcError(
          -32602,
          `Invalid params: block #${message.sentAt} has more than ${limit} messages for ${recipient}; raise limit`,
        );
      upTo = message.sentAt - 1;
    }
  }
  let proof: InboxProofAt;
  try {
    const hash = (await backend.store.blockHash(upTo)) ?? undefined;
    proof = await feed.proof(recipient, { number: upTo, hash });
  } catch (error) {
    throw new RpcError(
      -32603,
      `Cannot read the relay proof of block #${upTo} for ${recipient} from the node: ${(error as Error).message}`,
    );
  }
  const finality = options.finalityProof ? await feed.finalityProof(proof.block) : null;
  return mailbox(
    backend,
    'inbox',
    recipient,
    { ...options, toBlock: upTo },
    maxBytes,
    proofJson(proof, finality),
  );
}

/** `xcmp_getGrandpaChanges`: the set changes after a block, walked on the node (chain/finality.ts). */
async function grandpaChanges(
  backend: SidecarBackend,
  options: GrandpaChangesOptionsJson,
): Promise<GrandpaChangesJson> {
  const finality = backend.hub.finality;
  if (!finality)
    throw new RpcError(
      AppErrors.notConfigured.code,
      'GRANDPA set changes need a relay node connection, and this sidecar has none',
    );
  try {
    return await finality.changesAfter(options.after, options.limit ?? 16);
  } catch (error) {
    throw new RpcError(
      -32603,
      `Cannot read the GRANDPA set changes after #${options.after} from the node: ${(error as Error).message}`,
    );
  }
}

type Handler = (args: unknown[], context: RpcContext) => unknown;

/** Replays and proven ranges read the store in full only: a start in the mesh's aged history is refused, saying where full history starts. */
function refuseAged(backend: SidecarBackend, fromBlock: number | undefined, what: string): void {
  const mesh = backend.mesh;
  if (mesh && fromBlock !== undefined && fromBlock < mesh.fullFrom)
    throw new RpcError(
      -32602,
      `Invalid params: ${what} reads full history, kept from block #${mesh.fullFrom}; read older blocks with xcmp_getInbox (no proof), which gives them back from the mesh (docs/mesh.md)`,
    );
}

/**
 * An inbox replay from aged history is answered as a replay too big to send (-32008): the client
 * reads it with xcmp_getInbox, paged (which the mesh serves), then subscribes from a later block,
 * as XcmpClient does by itself.
 */
function refuseAgedReplay(
  backend: SidecarBackend,
  kind: 'inbox' | 'outbox',
  options: SubscriptionOptionsJson | undefined,
): void {
  const mesh = backend.mesh;
  const fromBlock = options?.fromBlock;
  if (!mesh || fromBlock === undefined || fromBlock >= mesh.fullFrom) return;
  if (kind === 'outbox' || options?.proof) refuseAged(backend, fromBlock, 'a subscription replay');
  throw tooBig(
    0,
    `Replay from block ${fromBlock} reaches history kept as mesh chunks (full history starts at #${mesh.fullFrom}): read it with xcmp_getInbox, paged by fromBlock/limit, then subscribe from a later fromBlock`,
  );
}

/** A mesh method: -32010 in no mesh, -32011 when the member's signature or standing is refused; the answer within the response limit. */
async function asMember<T>(
  backend: SidecarBackend,
  context: RpcContext,
  work: (mesh: MeshService) => T | Promise<T>,
): Promise<T> {
  if (!backend.mesh)
    throw new RpcError(AppErrors.notConfigured.code, 'This sidecar is in no mesh (start it with --mesh-key)');
  let answer: T;
  try {
    answer = await work(backend.mesh);
  } catch (error) {
    if (error instanceof MeshRefusal)
      throw new RpcError(AppErrors.notMember.code, `${AppErrors.notMember.message}: ${error.message}`);
    throw error;
  }
  if (JSON.stringify(answer).length > context.maxResultBytes) throw tooBig(context.maxResultBytes);
  return answer;
}

/** The options, once `finalityProof` is known to come with `proof`. */
function withoutStrayFinality(
  options: MessageQueryOptionsJson | undefined,
): MessageQueryOptionsJson | undefined {
  if (options?.finalityProof && !options.proof)
    throw new RpcError(-32602, 'Invalid params: finalityProof needs proof: true');
  return options;
}

/** The contract's methods, implemented; params arrive validated. */
function implementations(backend: SidecarBackend): Record<MethodName, Handler> {
  const { store } = backend;
  return {
    xcmp_getInbox: ([recipient, options], context) =>
      withoutStrayFinality(options as MessageQueryOptionsJson | undefined)?.proof
        ? provenMailbox(
            backend,
            recipient as number,
            options as MessageQueryOptionsJson,
            context.maxResultBytes,
          )
        : mailbox(
            backend,
            'inbox',
            recipient as number,
            options as MessageQueryOptionsJson,
            context.maxResultBytes,
          ),
    xcmp_getOutbox: ([sender, options], context) => {
      if (withoutStrayFinality(options as MessageQueryOptionsJson | undefined)?.proof)
        throw new RpcError(-32602, 'Invalid params: proof is available for inboxes only');
      return mailbox(
        backend,
        'outbox',
        sender as number,
        options as MessageQueryOptionsJson,
        context.maxResultBytes,
      );
    },
    xcmp_getChannel: async ([sender, recipient]) => {
      const channel = await store.channel(sender as number, recipient as number);
      if (!channel) throw notFound(`channel ${sender}→${recipient}`);
      return channelJson(channel);
    },
    xcmp_getChannelHistory: ([sender, recipient, range], context) =>
      channelHistory(
        store,
        sender as number,
        recipient as number,
        range as ChannelHistoryOptionsJson,
        context.maxResultBytes,
      ),
    xcmp_getGrandpaChanges: ([options]) => grandpaChanges(backend, options as GrandpaChangesOptionsJson),
    xcmp_meshChunks: ([request], context) =>
      asMember(backend, context, (mesh) =>
        mesh.chunksFor(request as Parameters<MeshService['chunksFor']>[0]),
      ),
    xcmp_meshPush: ([request], context) =>
      asMember(backend, context, (mesh) => mesh.pushFrom(request as Parameters<MeshService['pushFrom']>[0])),
    xcmp_meshBlocks: ([request], context) =>
      asMember(backend, context, (mesh) =>
        mesh.blocksFor(request as Parameters<MeshService['blocksFor']>[0]),
      ),
    xcmp_getChannels: async ([filter]) =>
      (await store.channels((filter as { sender?: number; recipient?: number }) ?? {})).map(channelJson),
    xcmp_getCandidate: async ([hash]) => {
      const candidate = await store.candidate(hash as Hex);
      if (!candidate) throw notFound(`candidate ${hash}`);
      return candidateJson(candidate, await store.candidateMessages(candidate.candidateHash));
    },
    xcmp_getMessage: async ([id, options]) => {
      const message = await store.message(id as string);
      if (!message) throw notFound(`message ${id}`);
      return messageJson(
        message,
        (options as { decode?: boolean } | undefined)?.decode ? backend.xcm() : undefined,
      );
    },
    xcmp_getJourney: async ([id]) => {
      if (!backend.journeys) throw noJourneys();
      const journeys = await findJourneys(backend.journeys, store, id as Hex);
      if (journeys.length === 0) throw notFound(`a journey of XCM ${id}`);
      return journeys;
    },
    xcmp_status: () => backend.status(),
  };
}

function methodHandlers(backend: SidecarBackend): Map<string, MethodHandler> {
  const implemented = implementations(backend);
  const methodMap = new Map<string, MethodHandler>([
    [
      'rpc_methods',
      async () => ({
        version: 1,
        methods: [...new Set([...contractMethodNames(), ...((await backend.extraMethods?.()) ?? [])])].sort(),
      }),
    ],
  ]);
  for (const [name, spec] of Object.entries(methods)) {
    const implementation = implemented[name as MethodName];
    methodMap.set(name, (params, context) =>
      implementation(validateParams(name, spec.params, params), context),
    );
  }
  return methodMap;
}

/** The proof feed, if this request may use it: inboxes, finalized, and a node to read proofs from. */
function provenFeed(
  hub: SubscriptionHub,
  kind: 'inbox' | 'outbox',
  finality: string | undefined,
): ProvenInboxFeed {
  if (kind !== 'inbox') throw new RpcError(-32602, 'Invalid params: proof is available for inboxes only');
  if (finality !== undefined && finality !== 'finalized')
    throw new RpcError(
      -32602,
      'Invalid params: proof needs finality "finalized" (proofs anchor in finalized headers)',
    );
  if (!hub.proven) throw new RpcError(-32603, 'Proofs need a node connection, and this sidecar has none');
  return hub.proven;
}

/** `markFinalized` and `resume` are for best, pending and speculative subscribers; `resume` says where from. */
function checkResumeOptions(options: SubscriptionOptionsJson | undefined, finality: string): void {
  if (!options?.markFinalized && !options?.resume) return;
  if (finality === 'finalized')
    throw new RpcError(
      -32602,
      'Invalid params: markFinalized and resume are for finality "best", "pending" or "speculative" (finalized subscribers resume with fromBlock alone)',
    );
  if (options.resume && options.fromBlock === undefined)
    throw new RpcError(
      -32602,
      'Invalid params: resume needs fromBlock (the block after the last final one you hold)',
    );
}

function mailboxSubscription(
  backend: SidecarBackend,
  name: SubscriptionName,
  kind: 'inbox' | 'outbox',
): SubscriptionHandler {
  const { hub } = backend;
  const journeys = backend.journeys ?? null;
  const spec = subscriptions[name];
  return {
    notification: spec.notification,
    unsubscribe: spec.unsubscribe,
    subscribe: async (params, emit, context, end) => {
      const [paraId, options] = validateParams(name, spec.params, params) as [
        number,
        SubscriptionOptionsJson | undefined,
      ];
      const delivery = options?.include?.includes('delivery') ?? false;
      if (delivery && !journeys) throw noJourneys();
      if (delivery && options?.proof)
        throw new RpcError(-32602, 'Invalid params: include ["delivery"] is not for proof subscriptions');
      if (options?.finalityProof && !options.proof)
        throw new RpcError(-32602, 'Invalid params: finalityProof needs proof: true');
      refuseAgedReplay(backend, kind, options);
      if (options?.proof) {
        const proven = provenFeed(hub, kind, options.finality);
        const view = {
          recipient: paraId,
          decode: options.decode ?? false,
          includeUnverified: options.includeUnverified ?? false,
          finalityProof: options.finalityProof ?? false,
        };
        return proven.subscribe(view, options.fromBlock, emit, end, context.maxResultBytes);
      }
      const finality = options?.finality ?? 'finalized';
      checkResumeOptions(options, finality);
      const unsubscribe = await hub.subscribeMailbox(
        {
          kind,
          paraId,
          finality,
          decode: options?.decode ?? false,
          includeUnverified: options?.includeUnverified ?? false,
        },
        options?.fromBlock,
        emit,
        context.maxResultBytes,
        { markFinalized: options?.markFinalized, resume: options?.resume },
      );
      if (!delivery || !journeys) return unsubscribe;
      const stop = deliveryUpdates(journeys, { kind, paraId, finality }, emit);
      return () => {
        stop();
        unsubscribe();
      };
    },
  };
}

function candidatesSubscription(hub: SubscriptionHub): SubscriptionHandler {
  const spec = subscriptions.xcmp_subscribeCandidates;
  return {
    notification: spec.notification,
    unsubscribe: spec.unsubscribe,
    subscribe: (params, emit, context, end) => {
      const [filter] = validateParams('xcmp_subscribeCandidates', spec.params, params) as [
        CandidateSubscriptionOptionsJson | undefined,
      ];
      return hub.candidates.subscribe(
        { paraId: filter?.paraId ?? null, finality: filter?.finality ?? 'finalized' },
        filter?.fromBlock,
        emit,
        context.maxResultBytes,
        (error) => end(error),
      );
    },
  };
}

export function apiHandlers(backend: SidecarBackend): RpcHandlers {
  const { hub } = backend;
  const subscriptionMap = new Map<string, SubscriptionHandler>([
    ['xcmp_subscribeInbox', mailboxSubscription(backend, 'xcmp_subscribeInbox', 'inbox')],
    ['xcmp_subscribeOutbox', mailboxSubscription(backend, 'xcmp_subscribeOutbox', 'outbox')],
    ['xcmp_subscribeCandidates', candidatesSubscription(hub)],
    ['xcmp_subscribeJourneys', journeysSubscription(backend.journeys ?? null, backend.store)],
  ]);
  return { methods: methodHandlers(backend), subscriptions: subscriptionMap };
}
