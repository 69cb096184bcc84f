/**
 * The xcmp-sidecar JSON-RPC contract: every method's name, params, result and errors, and every
 * subscription with its notification name. The server dispatches from this table; the client, the
 * polkadot-js definitions and the docs are generated from it.
 */
import { z } from 'zod';
import {
  Candidate,
  CandidateSubscriptionOptions,
  CandidateUpdate,
  Channel,
  ChannelHistory,
  ChannelHistoryOptions,
  GrandpaChanges,
  GrandpaChangesOptions,
  Hash,
  Journey,
  JourneyFilter,
  JourneyUpdate,
  Mailbox,
  MailboxUpdate,
  MeshBlocks,
  MeshBlocksRequest,
  MeshChunks,
  MeshChunksRequest,
  MeshPushAnswer,
  MeshPushRequest,
  Message,
  MessageQueryOptions,
  ParaId,
  Status,
  SubscriptionOptions,
} from './schemas.ts';

/** Application error codes (JSON-RPC leaves -32000..-32099 to servers). */
export const AppErrors = {
  notFound: { code: -32004, message: 'Not found' },
  notReady: { code: -32005, message: 'Not ready: no block stored yet' },
  upstreamUnavailable: { code: -32002, message: 'Upstream node unavailable' },
  notConfigured: { code: -32010, message: 'Not configured on this sidecar' },
  notMember: { code: -32011, message: 'Not a mesh member' },
} as const;

export const StandardErrors = {
  parse: { code: -32700, message: 'Parse error' },
  invalidRequest: { code: -32600, message: 'Invalid request' },
  methodNotFound: { code: -32601, message: 'Method not found' },
  invalidParams: { code: -32602, message: 'Invalid params' },
  internal: { code: -32603, message: 'Internal error' },
  tooManySubscriptions: { code: -32006, message: 'Too many subscriptions on the connection' },
  requestTooBig: { code: -32007, message: 'Request is too big' },
  responseTooBig: { code: -32008, message: 'Response is too big' },
  serverBusy: { code: -32009, message: 'Server is busy, try again later' },
  batchTooLarge: { code: -32010, message: 'The batch request was too large' },
} as const;

export interface ParamSpec {
  readonly name: string;
  readonly schema: z.ZodType;
  readonly optional: boolean;
  /** polkadot-js type for the generated definitions. */
  readonly pjsType: string;
}

export interface MethodSpec {
  readonly summary: string;
  readonly params: readonly ParamSpec[];
  readonly result: z.ZodType;
  readonly resultName: string;
  readonly errors: readonly { readonly code: number; readonly message: string }[];
}

export interface SubscriptionSpec extends Omit<MethodSpec, 'result' | 'resultName'> {
  readonly unsubscribe: string;
  readonly notification: string;
  readonly update: z.ZodType;
  readonly updateName: string;
}

const param = (name: string, schema: z.ZodType, pjsType: string, optional = false): ParamSpec => ({
  name,
  schema,
  optional,
  pjsType,
});

export const methods = {
  xcmp_getInbox: {
    summary:
      "Verified messages to a parachain, in the order its runtime processes them ((sentAt, sender, index)), with the channel heads and the recipient's watermark.",
    params: [param('recipient', ParaId, 'u32'), param('options', MessageQueryOptions, 'Json', true)],
    result: Mailbox,
    resultName: 'Mailbox',
    errors: [StandardErrors.invalidParams],
  },
  xcmp_getOutbox: {
    summary: 'Verified messages sent by a parachain, by (sentAt, recipient, index).',
    params: [param('sender', ParaId, 'u32'), param('options', MessageQueryOptions, 'Json', true)],
    result: Mailbox,
    resultName: 'Mailbox',
    errors: [StandardErrors.invalidParams],
  },
  xcmp_getChannel: {
    summary: 'One HRMP channel as the sidecar last verified it.',
    params: [param('sender', ParaId, 'u32'), param('recipient', ParaId, 'u32')],
    result: Channel,
    resultName: 'Channel',
    errors: [StandardErrors.invalidParams, AppErrors.notFound],
  },
  xcmp_getChannelHistory: {
    summary:
      "A channel's messages over a block range, each with the MQC head after it, and the head just before the range: what a peer sidecar needs to backfill and prove history against its own node (federation). Paged by toBlock; bounded by the response limit.",
    params: [
      param('sender', ParaId, 'u32'),
      param('recipient', ParaId, 'u32'),
      param('range', ChannelHistoryOptions, 'Json'),
    ],
    result: ChannelHistory,
    resultName: 'ChannelHistory',
    errors: [StandardErrors.invalidParams, AppErrors.notFound, StandardErrors.responseTooBig],
  },
  xcmp_getChannels: {
    summary: 'HRMP channels, optionally only those of one sender and/or recipient.',
    params: [
      param(
        'filter',
        z.strictObject({ sender: ParaId.optional(), recipient: ParaId.optional() }),
        'Json',
        true,
      ),
    ],
    result: z.array(Channel),
    resultName: 'Channel[]',
    errors: [StandardErrors.invalidParams],
  },
  xcmp_getCandidate: {
    summary: 'A candidate: receipt, status, availability votes and the messages it sent.',
    params: [param('candidateHash', Hash, 'Hash')],
    result: Candidate,
    resultName: 'Candidate',
    errors: [StandardErrors.invalidParams, AppErrors.notFound],
  },
  xcmp_getMessage: {
    summary: 'One message by id ("<sentAt>-<sender>-<recipient>-<index>").',
    params: [
      param('messageId', z.string().regex(/^\d+-\d+-\d+-\d+$/), 'Text'),
      param('options', z.strictObject({ decode: z.boolean().optional() }), 'Json', true),
    ],
    result: Message,
    resultName: 'Message',
    errors: [StandardErrors.invalidParams, AppErrors.notFound],
  },
  xcmp_getGrandpaChanges: {
    summary:
      "The GRANDPA authority-set changes after a block, each with the headers from its announcement to its enactment and the enacting block's justification: what a client that holds only a checkpoint needs to check the finality proofs of later blocks (docs/finality.md).",
    params: [param('options', GrandpaChangesOptions, 'Json')],
    result: GrandpaChanges,
    resultName: 'GrandpaChanges',
    errors: [StandardErrors.invalidParams, AppErrors.notConfigured],
  },
  xcmp_meshChunks: {
    summary:
      "For mesh members only (signed by a member's key): this member's erasure-coded chunks of a recipient's aged slices, with their Merkle branches, for the asker to check against its own erasure roots and reconstruct (docs/mesh.md).",
    params: [param('request', MeshChunksRequest, 'Json')],
    result: MeshChunks,
    resultName: 'MeshChunks',
    errors: [StandardErrors.invalidParams, AppErrors.notConfigured, AppErrors.notMember],
  },
  xcmp_meshPush: {
    summary:
      "For mesh members only (signed): a member's finalized block with its plain slices, channel proofs and finality proof. A member without a relay node (--mesh-only) takes it once proven; one with a node compares it with its own (docs/mesh.md).",
    params: [param('block', MeshPushRequest, 'Json')],
    result: MeshPushAnswer,
    resultName: 'MeshPushAnswer',
    errors: [StandardErrors.invalidParams, AppErrors.notConfigured, AppErrors.notMember],
  },
  xcmp_meshBlocks: {
    summary:
      'For mesh members only (signed): up to 16 stored blocks from fromBlock as xcmp_meshPush carries them, for a member that missed them (from a member with a relay node; blocks kept in full only).',
    params: [param('request', MeshBlocksRequest, 'Json')],
    result: MeshBlocks,
    resultName: 'MeshBlocks',
    errors: [
      StandardErrors.invalidParams,
      AppErrors.notConfigured,
      AppErrors.notMember,
      StandardErrors.responseTooBig,
    ],
  },
  xcmp_getJourney: {
    summary:
      "The journeys of an XCM by id (its topic) or message hash, to a para whose node is attached (--para): stages from enactment to the receiver's verdict, and which are verified (docs/journey.md). Kept in memory, the latest 100,000.",
    params: [param('id', Hash, 'Hash')],
    result: z.array(Journey),
    resultName: 'Vec<Journey>',
    errors: [StandardErrors.invalidParams, AppErrors.notFound, AppErrors.notConfigured],
  },
  xcmp_status: {
    summary: 'Node connection, best/finalized/synced blocks, lag, counts and verification failures.',
    params: [],
    result: Status,
    resultName: 'Status',
    errors: [],
  },
} as const satisfies Record<string, MethodSpec>;

export const subscriptions = {
  xcmp_subscribeInbox: {
    summary:
      'Messages to a parachain as blocks are processed. With fromBlock, every stored message from that block is replayed first, in order, with no gap or duplicate.',
    params: [param('recipient', ParaId, 'u32'), param('options', SubscriptionOptions, 'Json', true)],
    unsubscribe: 'xcmp_unsubscribeInbox',
    notification: 'xcmp_inbox',
    update: MailboxUpdate,
    updateName: 'MailboxUpdate',
    errors: [StandardErrors.invalidParams, StandardErrors.tooManySubscriptions, AppErrors.notConfigured],
  },
  xcmp_subscribeOutbox: {
    summary: 'Messages sent by a parachain, as xcmp_subscribeInbox.',
    params: [param('sender', ParaId, 'u32'), param('options', SubscriptionOptions, 'Json', true)],
    unsubscribe: 'xcmp_unsubscribeOutbox',
    notification: 'xcmp_outbox',
    update: MailboxUpdate,
    updateName: 'MailboxUpdate',
    errors: [StandardErrors.invalidParams, StandardErrors.tooManySubscriptions, AppErrors.notConfigured],
  },
  xcmp_subscribeCandidates: {
    summary:
      'Candidate lifecycle: backed → availability progress → included / timedOut, of finalized blocks or of the best chain; fromBlock replays stored candidates first.',
    params: [param('filter', CandidateSubscriptionOptions, 'Json', true)],
    unsubscribe: 'xcmp_unsubscribeCandidates',
    notification: 'xcmp_candidate',
    update: CandidateUpdate,
    updateName: 'CandidateUpdate',
    errors: [StandardErrors.invalidParams, StandardErrors.tooManySubscriptions],
  },
  xcmp_subscribeJourneys: {
    summary:
      'Journey updates as stages are seen or verified, for XCMs to paras whose node is attached (--para), filtered by sender, recipient or id (docs/journey.md).',
    params: [param('filter', JourneyFilter, 'Json', true)],
    unsubscribe: 'xcmp_unsubscribeJourneys',
    notification: 'xcmp_journey',
    update: JourneyUpdate,
    updateName: 'JourneyUpdate',
    errors: [StandardErrors.invalidParams, StandardErrors.tooManySubscriptions, AppErrors.notConfigured],
  },
} as const satisfies Record<string, SubscriptionSpec>;

export type MethodName = keyof typeof methods;
export type SubscriptionName = keyof typeof subscriptions;

/** Every method name the sidecar itself answers (rpc_methods includes these). */
export function contractMethodNames(): string[] {
  return [
    ...Object.keys(methods),
    ...Object.entries(subscriptions).flatMap(([name, spec]) => [name, spec.unsubscribe]),
    'rpc_methods',
  ].sort();
}

export type { Message };
