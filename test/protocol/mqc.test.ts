import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fromHex, toHex } from '../../src/protocol/bytes.ts';
import { extendMqcHead, extendMqcHeadWith, ZERO_HEAD } from '../../src/protocol/mqc.ts';
import { skipWithoutFixtures, vectorsDir } from '../helpers/fixtures.ts';

interface Vectors {
  chains: {
    name: string;
    initialHead: string;
    messages: { sentAt: number; data: string; headAfter: string }[];
  }[];
}

describe('message queue chain', { skip: skipWithoutFixtures }, () => {
  const vectors = skipWithoutFixtures
    ? { chains: [] }
    : (JSON.parse(readFileSync(join(vectorsDir, 'mqc.json'), 'utf8')) as Vectors);

  it('has vectors to check, including the chains computed by a Kusama runtime', () => {
    assert.ok(vectors.chains.length >= 3);
    assert.ok(vectors.chains.some((chain) => chain.name.startsWith('kusama-runtime')));
  });

  for (const chain of vectors.chains) {
    it(`reproduces every head of chain "${chain.name}" (${chain.messages.length} messages)`, () => {
      let head = fromHex(chain.initialHead);
      chain.messages.forEach((message, i) => {
        head = extendMqcHead(head, message.sentAt, fromHex(message.data));
        assert.equal(toHex(head), message.headAfter, `${chain.name} step ${i} (sentAt ${message.sentAt})`);
      });
      const folded = extendMqcHeadWith(
        fromHex(chain.initialHead),
        chain.messages.map((m) => ({ sentAt: m.sentAt, data: fromHex(m.data) })),
      );
      assert.equal(toHex(folded), chain.messages.at(-1)?.headAfter ?? chain.initialHead);
    });
  }

  it('hashes the compact length prefix: empty data differs from no message', () => {
    assert.notEqual(toHex(extendMqcHead(ZERO_HEAD, 1, new Uint8Array())), toHex(ZERO_HEAD));
    // Same bytes at another sentAt give another head.
    assert.notEqual(
      toHex(extendMqcHead(ZERO_HEAD, 1, Uint8Array.of(1))),
      toHex(extendMqcHead(ZERO_HEAD, 2, Uint8Array.of(1))),
    );
  });
});
