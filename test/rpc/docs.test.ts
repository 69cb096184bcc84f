import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { contractMethodNames, methods, subscriptions } from '../../rpc/contract.ts';
import { apiMarkdown, openRpcDocument } from '../../rpc/docs.ts';
import { xcmpRpc } from '../../src/client/definitions.ts';
import { repoRoot } from '../helpers/fixtures.ts';

describe('the API contract', () => {
  it('docs/api.md and docs/openrpc.json are what the contract generates (run `npm run docs`)', () => {
    assert.equal(readFileSync(join(repoRoot, 'docs/api.md'), 'utf8'), apiMarkdown());
    assert.deepEqual(
      JSON.parse(readFileSync(join(repoRoot, 'docs/openrpc.json'), 'utf8')),
      openRpcDocument(),
    );
  });

  it('lists every method of DESIGN.md §5', () => {
    for (const name of [
      'xcmp_getInbox',
      'xcmp_getOutbox',
      'xcmp_getChannel',
      'xcmp_getChannels',
      'xcmp_getCandidate',
      'xcmp_getMessage',
      'xcmp_status',
      'xcmp_subscribeInbox',
      'xcmp_unsubscribeInbox',
      'xcmp_subscribeOutbox',
      'xcmp_unsubscribeOutbox',
      'xcmp_subscribeCandidates',
      'xcmp_unsubscribeCandidates',
      'rpc_methods',
    ]) {
      assert.ok(contractMethodNames().includes(name), name);
    }
  });

  it('generates polkadot-js definitions with Substrate pubsub triples', () => {
    assert.deepEqual(
      Object.keys(xcmpRpc.xcmp).sort(),
      [...Object.keys(methods), ...Object.keys(subscriptions)].map((n) => n.slice(5)).sort(),
    );
    assert.deepEqual((xcmpRpc.xcmp.subscribeInbox as { pubsub: string[] }).pubsub, [
      'inbox',
      'subscribeInbox',
      'unsubscribeInbox',
    ]);
  });
});
