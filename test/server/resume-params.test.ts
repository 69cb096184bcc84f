/**
 * The resume options of best and pending subscriptions are checked before any work (issue 27.2):
 * each bad use gets -32602 naming what is wrong, and the connection goes on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';

const HASH = `0x${'ab'.repeat(32)}`;

describe('xcmp_subscribeInbox: markFinalized and resume', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 3 });
  });
  after(() => stack?.close());

  it('refuses each misuse with -32602 and a reason; a good resume is accepted', async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      const cases: [unknown, RegExp][] = [
        [
          { markFinalized: true },
          /markFinalized and resume are for finality "best", "pending" or "speculative"/,
        ],
        [
          { finality: 'finalized', resume: { known: [], open: [] }, fromBlock: 1 },
          /finality "best", "pending" or "speculative"/,
        ],
        [{ finality: 'best', resume: { known: [], open: [] } }, /resume needs fromBlock/],
        [
          {
            finality: 'best',
            fromBlock: 1,
            resume: { known: Array(257).fill({ number: 1, hash: HASH }), open: [] },
          },
          /resume\.known/,
        ],
        [
          { finality: 'pending', fromBlock: 1, resume: { known: [], open: Array(1025).fill(HASH) } },
          /resume\.open/,
        ],
        [
          { finality: 'pending', fromBlock: 1, resume: { known: [{ number: 1, hash: '0x12' }], open: [] } },
          /resume\.known\.0\.hash/,
        ],
      ];
      for (const [options, why] of cases) {
        const answer = await client.call('xcmp_subscribeInbox', [2000, options]);
        assert.equal(answer.error?.code, -32602, JSON.stringify(options).slice(0, 80));
        assert.match(answer.error!.message, why);
      }
      const good = await client.call('xcmp_subscribeInbox', [
        2000,
        { finality: 'pending', fromBlock: 1, markFinalized: true, resume: { known: [], open: [HASH] } },
      ]);
      assert.equal(typeof good.result, 'string', JSON.stringify(good.error));
    } finally {
      client.close();
    }
  });

  it('journeys without --para: a clear error, and the connection goes on', async () => {
    const client = await rpcSocket(stack.sidecar.server.url);
    try {
      for (const [method, params] of [
        ['xcmp_getJourney', [HASH]],
        ['xcmp_subscribeJourneys', [{}]],
        ['xcmp_subscribeInbox', [2000, { include: ['delivery'] }]],
      ] as const) {
        const answer = await client.call(method, [...params]);
        assert.equal(answer.error?.code, -32010, method);
        assert.match(
          answer.error!.message,
          /Journeys need the receiving paras' nodes: start the sidecar with --para/,
        );
      }
      assert.equal((await client.call('xcmp_status', [])).error, undefined);
    } finally {
      client.close();
    }
  });
});
