/**
 * Backfill from a peer while the node's pruning window moves (issue 27.1): a devnet with 300 ms
 * blocks that keeps only 64 blocks of state, sidecar A following it, then
 * `backfill --from <A's first + 1> --to <A's head - 5> --peer A` on an empty store B. The node
 * discards the oldest state it still has about every 300 ms, so the backfill must start with a
 * margin, move on past what the node drops while it runs, and prove every channel against heads
 * its node still had. A middleman that alters a message's bytes is still refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChannelHistoryJson } from '../../rpc/schemas.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { MessageStore } from '../../src/store/store.ts';
import type { MessageRecord } from '../../src/store/types.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { startRewritingLayer } from '../helpers/lying-layer.ts';
import { eventually } from '../helpers/wait.ts';

const PRUNING = 64;
const BLOCK_MS = 300;
/** How long A follows before the backfill: about 90 blocks, well past the node's window. */
const FOLLOW_MS = 28_000;

const key = (m: MessageRecord) => `${m.sentAt}/${m.sender}/${m.index}/${toHex(m.data)}`;

describe('backfill --peer while the pruned node’s window moves (300 ms blocks, 64 kept)', () => {
  let devnet: Devnet;
  let a: Sidecar;
  let from: number;
  let to: number;
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-moving-window-'));

  before(async () => {
    devnet = await startDevnet({ blockTimeMs: BLOCK_MS, statePruning: PRUNING, retainBlocks: 1000 });
    a = await startSidecar({
      nodeUrl: devnet.url,
      dbPath: join(dir, 'a.sqlite'),
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
    });
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    from = (await a.store.firstBlock())! + 1;
    to = (await a.store.cursor())!.number - 5;
    assert.ok(
      devnet.chain.best.number - PRUNING > from + 20,
      `the node pruned well past #${from} (best #${devnet.chain.best.number})`,
    );
  });
  after(async () => {
    await a?.close();
    await devnet?.close();
  });

  const backfill = (db: string, peer: string) =>
    runCliAsync(
      ['backfill', '--from', `${from}`, '--to', `${to}`, '--node', devnet.url, '--db', db, '--peer', peer],
      {},
      120_000,
    );

  it('ends with B’s inbox equal to A’s for every recipient over the whole range', async (t) => {
    const db = join(dir, 'b.sqlite');
    const result = await backfill(db, a.server.url);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const b = MessageStore.open(db);
    try {
      let compared = 0;
      for (const para of devnet.config.paras) {
        const query = { fromBlock: from, toBlock: to, includeUnverified: true };
        const ours = await b.inbox(para, query);
        const theirs = await a.store.inbox(para, query);
        assert.deepEqual(ours.map(key), theirs.map(key), `inbox of ${para}`);
        assert.ok(ours.every((m) => m.verified));
        compared += ours.length;
      }
      assert.ok(compared > 100, `${compared} messages compared`);
      const fromPeer = (
        await Promise.all(devnet.config.paras.map((p) => b.inbox(p, { fromBlock: from, toBlock: to })))
      )
        .flat()
        .filter((m) => m.peer).length;
      t.diagnostic(
        `#${from}..#${to}: ${compared} messages equal to A's, ${fromPeer} of them from the peer; ${result.stdout.trim().split('\n').join(' | ')}`,
      );
      assert.ok(
        (await b.inbox(devnet.config.paras[0]!, { fromBlock: from, toBlock: from + 5 })).every((m) => m.peer),
        'the oldest part came from the peer',
      );
    } finally {
      await b.close();
    }
  });

  it('refuses a middleman that alters one byte of a peer’s message: nothing of that channel is stored', async () => {
    let altered = 0;
    const liar = await startRewritingLayer(a.server.url, (frame) => {
      const page = frame.result as ChannelHistoryJson | undefined;
      const first = page?.messages?.[0];
      if (!first || page.sender !== 2000 || page.recipient !== 2001) return;
      first.data = `${first.data.slice(0, -2)}${first.data.endsWith('00') ? '01' : '00'}`;
      altered += 1;
    });
    try {
      const db = join(dir, 'liar.sqlite');
      const result = await backfill(db, liar.url);
      assert.equal(result.status, 1, result.stdout);
      assert.match(result.stderr, /no peer could prove channel 2000>2001 from #\d+/);
      assert.ok(altered > 0, 'the middleman altered a page');
      const b = MessageStore.open(db);
      try {
        const fromPeer = (
          await b.inbox(2001, { fromBlock: from, toBlock: to, includeUnverified: true })
        ).filter((m) => m.sender === 2000 && m.peer);
        assert.deepEqual(fromPeer, []);
      } finally {
        await b.close();
      }
    } finally {
      await liar.close();
    }
  });

  it('A itself stayed in step with the node throughout', async () => {
    await eventually(async () => ((await a.store.cursor())?.number ?? 0) >= to + 5, { timeoutMs: 5_000 });
  });
});
