/**
 * Crash safety: the real CLI ingests from the devnet and is killed with SIGKILL at random moments,
 * then restarted. Afterwards the store has no gap, no duplicate, and equals the devnet's truth.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startDevnet } from '../../src/devnet/index.ts';
import { MessageStore } from '../../src/store/store.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { devnetTruth, storedMessages } from '../helpers/truth.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves when the child has exited, even if it already had. */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const stderrOf = new WeakMap<ChildProcess, string[]>();

/** The real CLI on its own port (port 0), so nothing else listening can make it fail. */
function startSidecar(url: string, db: string): ChildProcess {
  const args = [
    join(repoRoot, 'bin/xcmp-sidecar.js'),
    '--node',
    url,
    '--db',
    db,
    '--port',
    '0',
    '--log',
    'error',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines: string[] = [];
  stderrOf.set(child, lines);
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  return child;
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
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('SIGKILL at 6 random moments: no gap, no duplicate, equal to the truth', async (t) => {
    const devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1500, initialBlocks: 3 });
    after(() => devnet.close());
    const db = join(mkdtempSync(join(tmpdir(), 'xcmp-crash-')), 'store.sqlite');
    devnet.startProducing(80);
    const kills: number[] = [];
    for (let round = 0; round < 6; round++) {
      const child = startSidecar(devnet.url, db);
      children.push(child);
      // Wait until it is storing blocks again, then kill it at a random instant.
      const before = cursorOf(db);
      const deadline = Date.now() + 30_000;
      while (cursorOf(db) <= before && Date.now() < deadline && child.exitCode === null) await sleep(20);
      assert.equal(
        child.exitCode,
        null,
        `the sidecar exited by itself (code ${child.exitCode}) in round ${round}: ${stderrOf.get(child)?.join('')}`,
      );
      await sleep(Math.floor(Math.random() * 400));
      child.kill('SIGKILL');
      await exited(child);
      kills.push(cursorOf(db));
      // The chain moves on while the sidecar is down, so each restart has a backlog to catch up.
      await sleep(300);
    }
    devnet.stopProducing();
    devnet.newBlocks(3);
    const finalized = devnet.chain.finalized.number;
    const child = startSidecar(devnet.url, db);
    children.push(child);
    const deadline = Date.now() + 60_000;
    while (cursorOf(db) < finalized) {
      assert.ok(Date.now() < deadline, `sidecar reached only #${cursorOf(db)} of #${finalized}`);
      await sleep(100);
    }
    child.kill('SIGTERM');
    await exited(child);
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
        storedMessages(store, devnet.config.paras),
        devnetTruth(devnet, blocks.first, finalized),
      );
      assert.equal(store.counts().unverifiedMessages, 0);
    } finally {
      store.close();
    }
  });
});
