export { type ClientOptions, type Subscription, XcmpClient, XcmpRpcError } from './client.ts';
export { xcmpRpc } from './definitions.ts';
