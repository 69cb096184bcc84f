/**
 * polkadot-js RPC definitions generated from the contract, so `ApiPromise.create({ rpc: xcmpRpc })`
 * gives `api.rpc.xcmp.getInbox(...)`, `api.rpc.xcmp.subscribeInbox(...)` and the rest.
 */
import type { DefinitionRpc, DefinitionRpcSub } from '@polkadot/types/types';
import { methods, subscriptions } from '../../rpc/contract.ts';

const shortName = (name: string) => name.replace(/^xcmp_/, '');

function params(specs: readonly { name: string; pjsType: string; optional: boolean }[]) {
  return specs.map((p) => ({ name: p.name, type: p.pjsType, ...(p.optional ? { isOptional: true } : {}) }));
}

export const xcmpRpc: { xcmp: Record<string, DefinitionRpc | DefinitionRpcSub> } = {
  xcmp: {
    ...Object.fromEntries(
      Object.entries(methods).map(([name, spec]) => [
        shortName(name),
        { description: spec.summary, params: params(spec.params), type: 'Json' },
      ]),
    ),
    ...Object.fromEntries(
      Object.entries(subscriptions).map(([name, spec]) => [
        shortName(name),
        {
          description: spec.summary,
          params: params(spec.params),
          pubsub: [shortName(spec.notification), shortName(name), shortName(spec.unsubscribe)],
          type: 'Json',
        },
      ]),
    ),
  },
};
