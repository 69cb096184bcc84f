export { type ClientOptions, type Subscription, XcmpClient, XcmpRpcError } from './client.ts';
export { xcmpRpc } from './definitions.ts';
export { type HeaderSource, VerificationError, type VerifyOptions } from './verified.ts';
