/** Following the node's finalized and best heads, re-subscribing when the node ends a subscription. */
import type { NodeClient } from '../chain/node.ts';
import { NodeError } from '../chain/node.ts';
import type { UpstreamSubscription } from '../chain/upstream.ts';
import type { Logger } from '../log.ts';
import type { Hex } from '../protocol/bytes.ts';
import { blockHash, type HeaderJson, headerNumber } from '../protocol/header.ts';

export interface Head {
  readonly number: number;
  readonly hash: Hex;
  readonly parentHash: Hex;
}

export interface HeadCallbacks {
  readonly finalized: (head: Head) => void;
  readonly best: (head: Head) => void;
  /** False once the follower stops: a subscription the node ended is not asked for again. */
  readonly running: () => boolean;
}

/** Subscribes to both heads; resolves once subscribed, with the function that unsubscribes. */
export async function followHeads(
  node: NodeClient,
  logger: Logger,
  retryMs: number,
  callbacks: HeadCallbacks,
): Promise<() => Promise<void>> {
  const onHead = (kind: 'finalized' | 'best') => (result: unknown) => {
    const header = result as HeaderJson | null;
    if (!header || typeof header.number !== 'string') return;
    callbacks[kind]({
      number: headerNumber(header),
      hash: blockHash(header),
      parentHash: header.parentHash.toLowerCase() as Hex,
    });
  };
  const held: UpstreamSubscription[] = [];
  const follow = async (kind: 'finalized' | 'best', method: string, unsubscribe: string) => {
    const onEnd = (error: Error) => {
      // The node would not renew it after a reconnect: ask again until it does (the loop polls meanwhile).
      logger.warn({ err: error.message, method }, 'head subscription ended by the node; subscribing again');
      setTimeout(() => {
        if (callbacks.running()) follow(kind, method, unsubscribe).catch(() => onEnd(error));
      }, retryMs).unref();
    };
    const subscription = await node
      .subscribe({ method, params: [], unsubscribe }, { onEvent: onHead(kind), onEnd })
      .catch((error: Error) => {
        throw new NodeError(`${method} failed at ${node.url}: ${error.message}`);
      });
    held.push(subscription);
  };
  await follow('finalized', 'chain_subscribeFinalizedHeads', 'chain_unsubscribeFinalizedHeads');
  await follow('best', 'chain_subscribeNewHeads', 'chain_unsubscribeNewHeads');
  return async () => {
    await Promise.all(held.splice(0).map((s) => s.unsubscribe()));
  };
}
