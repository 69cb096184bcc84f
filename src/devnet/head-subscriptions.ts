/** The legacy head and runtime-version subscriptions, as a node answers them: the relay devnet's and its para nodes'. */
import type { SubscriptionHandler } from '../server/transport/jsonrpc.ts';

type HeadEvent = 'best' | 'finalized' | 'block';

/** A devnet chain (relay or para) as these subscriptions see it. */
export interface HeadSource<B extends { readonly header: unknown }> {
  readonly best: B;
  readonly finalized: B;
  readonly encoder: { readonly version: unknown };
  on(event: HeadEvent, listener: (block: B) => void): unknown;
  off(event: HeadEvent, listener: (block: B) => void): unknown;
}

/**
 * `chain_subscribe{New,All,Finalized}Heads` (each starting with the current head), the aliases
 * `chain_subscribeNewHead` and `chain_subscribeFinalisedHeads`, and `state_subscribeRuntimeVersion`.
 */
export function headSubscriptions<B extends { readonly header: unknown }>(
  chain: HeadSource<B>,
): Map<string, SubscriptionHandler> {
  const heads = (
    notification: string,
    unsubscribe: string,
    event: HeadEvent,
    initial: () => B,
  ): SubscriptionHandler => ({
    notification,
    unsubscribe,
    subscribe: (_params, emit) => {
      emit(initial().header);
      const listener = (block: B) => emit(block.header);
      chain.on(event, listener);
      return () => chain.off(event, listener);
    },
  });
  const subscriptions = new Map<string, SubscriptionHandler>([
    [
      'chain_subscribeNewHeads',
      heads('chain_newHead', 'chain_unsubscribeNewHeads', 'best', () => chain.best),
    ],
    [
      'chain_subscribeFinalizedHeads',
      heads('chain_finalizedHead', 'chain_unsubscribeFinalizedHeads', 'finalized', () => chain.finalized),
    ],
    [
      'chain_subscribeAllHeads',
      heads('chain_allHead', 'chain_unsubscribeAllHeads', 'block', () => chain.best),
    ],
    [
      'state_subscribeRuntimeVersion',
      {
        notification: 'state_runtimeVersion',
        unsubscribe: 'state_unsubscribeRuntimeVersion',
        subscribe: (_params, emit) => {
          emit(chain.encoder.version);
          return () => {};
        },
      },
    ],
  ]);
  subscriptions.set('chain_subscribeNewHead', subscriptions.get('chain_subscribeNewHeads')!);
  subscriptions.set('chain_subscribeFinalisedHeads', subscriptions.get('chain_subscribeFinalizedHeads')!);
  return subscriptions;
}
