/**
 * Crash safety: the real CLI ingests from the devnet and is killed with SIGKILL at random moments,
 * then restarted. Afterwards the store has no gap, no duplicate, and equals the devnet's truth.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startDevnet } from '../../src/devnet/index.ts';
import { MessageStore } from '../../src/store/store.ts';
import { type RunningCli, spawnCli } from '../helpers/cli.ts';
import { devnetTruth, storedMessages } from '../helpers/truth.ts';
import { eventually } from '../helpers/wait.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real CLI on its own port (port 0), so nothing else listening can make it fail. */
function startSidecar(url: string, db: string): RunningCli {
  return spawnCli(['--node', url, '--db', db, '--port', '0', '--log', 'error']);
}

function cursorOf(db: string): number {
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const row = conn.prepare('SELECT number FROM cursor').get() as { number: number } | undefined;
      return row?.number ?? -1;
    } finally {
      conn.close();
    }
  } catch {
    return -1;
  }
}

describe('crash safety', () => {
  const children: RunningCli[] = [];
  after(async () => {
    for (const child of children) await child.stop('SIGKILL');
  });

  it('SIGKILL at 6 random moments: no gap, no duplicate, equal to the truth', async (t) => {
    const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1500, initialBlocks: 3 });
    after(() => devnet.close());
    const db = join(mkdtempSync(join(tmpdir(), 'xcmp-crash-')), 'store.sqlite');
    devnet.startProducing(80);
    const kills: number[] = [];
    for (let round = 0; round < 6; round++) {
      const cli = startSidecar(devnet.url, db);
      children.push(cli);
      // Wait until it is storing blocks again, then kill it at a random instant.
      const before = cursorOf(db);
      await eventually(() => cursorOf(db) > before || cli.child.exitCode !== null, {
        timeoutMs: 30_000,
        what: `round ${round} storing`,
      });
      assert.equal(
        cli.child.exitCode,
        null,
        `the sidecar exited by itself (code ${cli.child.exitCode}) in round ${round}: ${cli.stderr()}`,
      );
      await sleep(Math.floor(Math.random() * 400));
      await cli.stop('SIGKILL');
      kills.push(cursorOf(db));
      // The chain moves on while the sidecar is down, so each restart has a backlog to catch up.
      await sleep(300);
    }
    devnet.stopProducing();
    await devnet.newBlocks(3);
    const finalized = devnet.chain.finalized.number;
    const cli = startSidecar(devnet.url, db);
    children.push(cli);
    await eventually(() => cursorOf(db) >= finalized, {
      timeoutMs: 60_000,
      what: `sidecar at #${finalized} (at #${cursorOf(db)})`,
    });
    await cli.stop('SIGTERM');
    t.diagnostic(`killed at cursors ${kills.join(', ')}; finalized #${finalized}`);
    assert.ok(
      kills.every((c) => c > 0),
      `killed while storing: cursors ${kills.join(', ')}`,
    );
    assert.equal(new Set(kills).size, kills.length, `kills landed at different blocks: ${kills.join(', ')}`);

    const check = new Database(db, { readonly: true });
    const blocks = check
      .prepare('SELECT MIN(number) AS first, MAX(number) AS last, COUNT(*) AS n FROM blocks')
      .get() as { first: number; last: number; n: number };
    const duplicates = check
      .prepare(
        'SELECT COUNT(*) AS n FROM (SELECT recipient, sent_at, sender, idx FROM messages GROUP BY 1, 2, 3, 4 HAVING COUNT(*) > 1)',
      )
      .get() as { n: number };
    check.close();
    assert.equal(blocks.n, blocks.last - blocks.first + 1, 'no gap in processed blocks');
    assert.equal(blocks.last, finalized);
    assert.equal(duplicates.n, 0, 'no duplicate message');
    const store = MessageStore.open(db);
    try {
      assert.deepEqual(
        await storedMessages(store, devnet.config.paras),
        devnetTruth(devnet, blocks.first, finalized),
      );
      assert.equal((await store.counts()).unverifiedMessages, 0);
    } finally {
      await store.close();
    }
  });
});
