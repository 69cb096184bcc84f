import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { MessageStore } from '../../src/store/store.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { devnetTruth, storedMessages } from '../helpers/truth.ts';

describe('xcmp-sidecar backfill', () => {
  let devnet: Devnet;
  const db = join(mkdtempSync(join(tmpdir(), 'xcmp-backfill-')), 'store.sqlite');
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 60 });
  });
  after(() => devnet?.close());

  it("on a terminal, the progress bar counts the range's blocks: from 0 % to 100 %", async () => {
    const terminalDb = join(mkdtempSync(join(tmpdir(), 'xcmp-backfill-tty-')), 'store.sqlite');
    const command = ['backfill', '--from', '40', '--to', '50', '--node', devnet.url, '--db', terminalDb]
      .map((arg) => `'${arg}'`)
      .join(' ');
    // util-linux's script(1) gives the command a pseudo-terminal, as an operator's shell does.
    const result = await new Promise<{ status: number | null; output: string }>((resolve, reject) => {
      const child = spawn('script', [
        '-qec',
        `'${process.execPath}' '${join(repoRoot, 'bin/xcmp-sidecar.js')}' ${command}`,
        '/dev/null',
      ]);
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.on('error', reject);
      child.on('close', (status) => resolve({ status, output }));
    });
    assert.equal(result.status, 0, result.output);
    const percentages = [
      ...result.output.matchAll(/backfill \[[^\]]*\] (\d+)% \| #(\d+) of #40\.\.#50/g),
    ].map((m) => [Number(m[1]), Number(m[2])]);
    assert.ok(percentages.length >= 2, result.output);
    assert.deepEqual(percentages[0], [0, 39], 'starts at 0 % before the first block of the range');
    assert.deepEqual(percentages.at(-1), [100, 50]);
  });

  it('stores exactly the range asked for, then continues from the cursor, and refuses a gap', async () => {
    const first = await runCliAsync([
      'backfill',
      '--from',
      '10',
      '--to',
      '30',
      '--node',
      devnet.url,
      '--db',
      db,
    ]);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /stored #10\.\.#30/);
    let store = MessageStore.open(db);
    assert.equal((await store.cursor())?.number, 30);
    assert.deepEqual(await storedMessages(store, devnet.config.paras), devnetTruth(devnet, 10, 30));
    await store.close();

    // Without --from it continues from the cursor, and reports the messages of its own range.
    const next = await runCliAsync(['backfill', '--to', '40', '--node', devnet.url, '--db', db]);
    assert.equal(next.status, 0, next.stderr);
    const rangeMessages = devnetTruth(devnet, 31, 40).length;
    assert.ok(rangeMessages > 0);
    assert.match(next.stdout, new RegExp(`stored #31\\.\\.#40 from the node: ${rangeMessages} messages`));

    // --to past the finalized head says where it stops.
    const past = await runCliAsync(['backfill', '--to', '100000', '--node', devnet.url, '--db', db]);
    assert.equal(past.status, 0, past.stderr);
    assert.match(
      past.stderr,
      new RegExp(`--to #100000 is past the finalized head #${devnet.chain.finalized.number}`),
    );

    const more = await runCliAsync(['backfill', '--from', '31', '--node', devnet.url, '--db', db]);
    assert.equal(more.status, 0, more.stderr);
    store = MessageStore.open(db);
    const finalized = devnet.chain.finalized.number;
    assert.equal((await store.cursor())?.number, finalized);
    assert.deepEqual(await storedMessages(store, devnet.config.paras), devnetTruth(devnet, 10, finalized));
    await store.close();

    const gap = await runCliAsync([
      'backfill',
      '--from',
      String(finalized + 5),
      '--node',
      devnet.url,
      '--db',
      db,
    ]);
    assert.equal(gap.status, 2);
    assert.match(gap.stderr, /would leave a gap/);
  });

  it('refuses bad ranges with exit 2', async () => {
    const result = await runCliAsync([
      'backfill',
      '--from',
      '20',
      '--to',
      '10',
      '--node',
      devnet.url,
      '--db',
      db,
    ]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--to must not be below --from/);
    const notNumber = await runCliAsync(['backfill', '--from', 'x', '--node', devnet.url, '--db', db]);
    assert.equal(notNumber.status, 2);
    assert.match(notNumber.stderr, /--from must be a block number/);
    const empty = join(mkdtempSync(join(tmpdir(), 'xcmp-backfill-empty-')), 'store.sqlite');
    const noFrom = await runCliAsync(['backfill', '--to', '20', '--node', devnet.url, '--db', empty]);
    assert.equal(noFrom.status, 2);
    assert.match(noFrom.stderr, /is empty: give --from, the first block to store/);
  });

  it('exits 1 at once when the node has pruned the blocks asked for, instead of retrying forever', async () => {
    const pruning = await startDevnet({ blockTimeMs: 0, initialBlocks: 100, retainBlocks: 32 });
    try {
      const fresh = join(mkdtempSync(join(tmpdir(), 'xcmp-backfill-pruned-')), 'store.sqlite');
      const startedAt = Date.now();
      const result = await runCliAsync(['backfill', '--from', '5', '--node', pruning.url, '--db', fresh]);
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stderr, /error: the node has no block #4; backfill needs .* \(an archive node\)/);
      assert.ok(Date.now() - startedAt < 20_000, `gave up after ${Date.now() - startedAt} ms`);
      // Off a terminal, logs are pino JSON lines; the last line is the CLI's own error.
      const logLines = result.stderr.trim().split('\n').slice(0, -1);
      const logged = logLines.map((line) => JSON.parse(line) as { level: number; msg: string; err?: string });
      assert.ok(
        logged.some((l) => l.level === 50 && l.err === 'the node has no block #4'),
        'the pruned block is logged at error with its context',
      );
      const store = MessageStore.open(fresh);
      assert.equal(await store.cursor(), null, 'nothing was stored');
      await store.close();
    } finally {
      await pruning.close();
    }
  });
});
