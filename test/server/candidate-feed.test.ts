/** A candidate subscription that cannot continue (the store fails) is ended with an error, never left silent. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Hex } from '../../src/protocol/bytes.ts';
import type { RawJson, RpcError } from '../../src/server/transport/jsonrpc.ts';
import { CandidateFeed } from '../../src/server/xcmp/candidate-feed.ts';
import { MessageStore } from '../../src/store/store.ts';
import type { BlockWrite } from '../../src/store/types.ts';

const h = (byte: number) => `0x${byte.toString(16).padStart(2, '0').repeat(32)}` as Hex;

const settling = (number: number): BlockWrite => ({
  number,
  hash: h(number),
  parentHash: h(number - 1),
  newCandidates: [],
  candidateUpdates: [{ candidateHash: h(0x77), status: 'included', enactedIn: number, availabilityVotes: 3 }],
  messages: [],
  channels: [],
  watermarks: [],
  failures: [],
});

describe('candidate feed', () => {
  it('ends every subscriber with the block to resume from when the store cannot be read', async () => {
    const store = MessageStore.open(':memory:');
    const failing = Object.assign(Object.create(store) as MessageStore, {
      candidate: async () => {
        throw new Error('connection terminated');
      },
    });
    const feed = new CandidateFeed(failing, null);
    const emitted: RawJson[] = [];
    const ended: RpcError[] = [];
    await feed.subscribe(
      { paraId: null, finality: 'finalized' },
      undefined,
      (json) => emitted.push(json),
      1e6,
      (error) => ended.push(error),
    );
    assert.equal(feed.subscriberCount, 1);
    feed.onFinalized(settling(5));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(emitted.length, 0);
    assert.equal(ended.length, 1);
    assert.equal(ended[0]!.code, -32603);
    assert.match(ended[0]!.message, /candidates of block #5 .*connection terminated.*fromBlock 5/);
    assert.equal(feed.subscriberCount, 0, 'nothing left registered');
    await store.close();
  });
});
