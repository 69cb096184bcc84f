export type {
  CandidateJson,
  CandidateUpdateJson,
  ChannelJson,
  MailboxJson,
  MailboxUpdateJson,
  MessageJson,
  MessageQueryOptionsJson,
  StatusJson,
  SubscriptionOptionsJson,
} from '../../rpc/schemas.ts';
export type { GrandpaCheckpoint } from '../derive/grandpa.ts';
export { type ClientOptions, type Subscription, XcmpClient, XcmpRpcError } from './client.ts';
export { xcmpRpc } from './definitions.ts';
export { type CheckpointSource, KNOWN_CHAINS, type KnownChain } from './grandpa.ts';
export { type HeaderSource, VerificationError, type VerifyOptions } from './verified.ts';
