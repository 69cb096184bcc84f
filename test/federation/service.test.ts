/**
 * The service with --peer: sidecar B is down while its pruned node moves on past what it keeps;
 * on restart B bridges the pruned range from a peer, proven from its own last heads to the heads
 * its node reports after the range, shows it in xcmp_status and /metrics, and goes on ingesting.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChannelHistoryJson, MailboxUpdateJson, StatusJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import type { MessageRecord } from '../../src/store/types.ts';
import { assertInboundEqualsNode } from '../helpers/inbound.ts';
import { startRewritingLayer } from '../helpers/lying-layer.ts';
import { tcpRelay } from '../helpers/relay.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const PRUNING = 64;
const key = (m: MessageRecord) => `${m.sentAt}/${m.sender}/${m.index}/${toHex(m.data)}`;

describe('service --peer: bridging what the node pruned while the sidecar was down', () => {
  let a: Stack;
  let pruned: Devnet;
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-federation-service-'));

  const both = async (count: number) => {
    for (let i = 0; i < count; i += 10) {
      await a.devnet.newBlocks(10);
      await pruned.newBlocks(10);
    }
    await storedUpTo(a.sidecar.store, a.devnet.chain.finalized.number, 60_000);
  };
  const sidecarB = (dbPath: string, peers: string[], startAt = 1, nodeUrl = pruned.url) =>
    startSidecar({
      nodeUrl,
      dbPath,
      host: '127.0.0.1',
      port: 0,
      logger: process.env.DBG ? createLogger({ level: 'info' }) : silentLogger(),
      startAt,
      peers,
    });

  before(async () => {
    a = await startStack({ initialBlocks: 0 });
    pruned = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, statePruning: PRUNING });
  });
  after(async () => {
    await pruned?.close();
    await a?.close();
  });

  /** B runs for a while, stops, the chain moves 200 blocks on, B restarts with `peers`. */
  async function downtime(
    name: string,
    peers: () => string[],
  ): Promise<{ b: Sidecar; gap: { from: number; to: number } }> {
    const db = join(dir, `${name}.sqlite`);
    await both(20);
    const startAt = Math.max(1, pruned.chain.finalized.number - 10);
    const first = await sidecarB(db, [], startAt);
    await storedUpTo(first.store, pruned.chain.finalized.number);
    const stoppedAt = (await first.store.cursor())!.number;
    await first.close();
    await both(200);
    const b = await sidecarB(db, peers());
    const servable = pruned.chain.best.number - PRUNING + 2;
    await storedUpTo(b.store, pruned.chain.finalized.number);
    const gaps = await b.store.gaps();
    assert.equal(gaps.length, 1);
    // Ingest goes on a margin past the first block the node serves (a quarter of what it keeps).
    const margin = Math.floor((pruned.chain.finalized.number - servable) / 4);
    assert.deepEqual(gaps[0], { from: stoppedAt + 1, to: servable - 1 + margin });
    return { b, gap: gaps[0]! };
  }

  it('an honest peer: every channel proven across the gap, the store equals the peer’s, status and metrics say so', async () => {
    const { b, gap } = await downtime('honest', () => [a.sidecar.server.url]);
    try {
      const end = (await b.store.cursor())!.number;
      const start = (await b.store.firstBlock())!;
      for (const c of await b.store.channels()) {
        const ours = await b.store.channelMessages(c.sender, c.recipient, start - 1, end);
        const theirs = await a.sidecar.store.channelMessages(c.sender, c.recipient, start - 1, end);
        assert.deepEqual(ours.map(key), theirs.map(key), `${c.sender}>${c.recipient}`);
        const bridged = ours.filter((m) => m.sentAt >= gap.from && m.sentAt <= gap.to);
        assert.ok(bridged.length > 0 && bridged.every((m) => m.peer === a.sidecar.server.url));
      }
      const status = (await b.status()).federation!;
      assert.deepEqual(status.unproven, []);
      assert.deepEqual(status.peers, [
        { url: a.sidecar.server.url, accepted: 12, rejected: 0, lastRejection: null },
      ]);
      assert.deepEqual(status.gaps, [gap]);
      const metrics = await b.metrics.registry.metrics();
      assert.match(metrics, /xcmp_peer_answers_total\{result="accepted",kind=""\} 12/);
      await assertInboundEqualsNode(b.server.url, pruned.url, pruned.config.paras, (await b.store.cursor())!);
    } finally {
      await b.close();
    }
  });

  it('a lying peer: nothing from it is stored, xcmp_status names every unproven channel, ingest goes on', async () => {
    const liar = await startRewritingLayer(a.sidecar.server.url, (frame) => {
      const page = frame.result as ChannelHistoryJson | undefined;
      if (page && Array.isArray(page.messages) && page.messages.length > 0) page.messages.shift();
    });
    const { b, gap } = await downtime('liar', () => [liar.url]);
    try {
      const inGap = (
        await Promise.all(
          pruned.config.paras.map((p) =>
            b.store.inbox(p, { fromBlock: gap.from, toBlock: gap.to, includeUnverified: true }),
          ),
        )
      ).flat();
      assert.deepEqual(inGap, []);
      const client = await rpcSocket(b.server.url);
      try {
        const status = (await client.call('xcmp_status')).result as StatusJson;
        assert.equal(status.federation!.unproven.length, 12);
        assert.equal(status.federation!.peers[0]!.rejected, 12);
        assert.match(status.federation!.peers[0]!.lastRejection!, /\d+>\d+: /);
        assert.equal(status.synced, pruned.chain.finalized.number);
      } finally {
        client.close();
      }
      const history = (await b.store.channelHistory(2000, 2001))!;
      assert.equal(history.completeFrom, gap.to + 1, 'the channel says its history restarts after the gap');
    } finally {
      await b.close();
      await liar.close();
    }
  });

  it('an outage longer than the pruning window while running: bridged at once, live and proven subscribers get every message once', async () => {
    await both(20);
    const relay = await tcpRelay(pruned.port);
    const startAt = Math.max(1, pruned.chain.finalized.number - 10);
    const b = await sidecarB(join(dir, 'outage.sqlite'), [a.sidecar.server.url], startAt, relay.url);
    const client = await XcmpClient.connect(b.server.url);
    const verifying = await XcmpClient.connect(b.server.url, { verify: { headers: pruned.url } });
    const plain: MailboxUpdateJson[] = [];
    const proven: MailboxUpdateJson[] = [];
    const failures: Error[] = [];
    verifying.on('verificationError', (error) => failures.push(error));
    try {
      await storedUpTo(b.store, pruned.chain.finalized.number);
      const subscribedAt = (await b.store.cursor())!.number;
      await client.subscribeInbox(2001, (u) => plain.push(u));
      await verifying.subscribeInbox(2001, (u) => proven.push(u));
      await both(10);
      await storedUpTo(b.store, pruned.chain.finalized.number);
      const before = (await b.store.cursor())!.number;
      await relay.cut();
      await both(200);
      await relay.restore();
      await storedUpTo(b.store, pruned.chain.finalized.number, 60_000);
      const [gap] = await b.store.gaps();
      assert.ok(
        gap && gap.from === before + 1 && gap.to >= pruned.chain.best.number - PRUNING,
        JSON.stringify(gap),
      );
      const end = (await b.store.cursor())!.number;
      const expected = (await a.sidecar.store.inbox(2001, { fromBlock: subscribedAt + 1, toBlock: end })).map(
        key,
      );
      assert.ok(
        expected.filter((k) => Number(k.split('/')[0]) >= gap.from && Number(k.split('/')[0]) <= gap.to)
          .length > 0,
      );
      const seen = (updates: MailboxUpdateJson[]) =>
        updates.flatMap((u) =>
          u.messages
            .filter((m) => m.sentAt <= end)
            .map((m) => `${m.sentAt}/${m.sender}/${m.index}/${m.data}`),
        );
      await eventually(
        () => seen(plain).length >= expected.length && seen(proven).length >= expected.length,
        {
          what: 'every message delivered',
          timeoutMs: 15_000,
        },
      );
      assert.deepEqual(seen(plain), expected, 'the live subscriber: no gap, no repeat');
      assert.deepEqual(seen(proven), expected, 'the proving subscriber: every message proven');
      assert.deepEqual(failures, []);
      const status = (await b.status()).federation!;
      assert.deepEqual(status.gaps, [gap]);
      assert.deepEqual(status.unproven, []);
    } finally {
      await client.close();
      await verifying.close();
      await b.close();
      await relay.close();
    }
  });
});
