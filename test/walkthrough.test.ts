/**
 * The walkthrough a first-time user makes, from a clean clone: the README's set-up commands, what
 * `npm start` prints and serves, the subscribe command it prints (also piped into `head`), the
 * README's decode-block command, `--version` and `--help`. The clone is `git clone` of this
 * repository's HEAD; `npm install` is stood in for by linking this checkout's node_modules (the
 * lockfile is the same) and running what install runs, `npm run prepare`, in the clone. `.ci/run`
 * itself runs the real `npm ci` on a clean clone.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fixturesDir, repoRoot, skipWithoutFixtures } from './helpers/fixtures.ts';
import { eventually } from './helpers/wait.ts';

const run = promisify(execFile);
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

/** The code block of the README under `heading` (the first one when null). */
function readmeBlock(heading: string | null): string {
  const from = heading === null ? 0 : readme.indexOf(`## ${heading}`);
  assert.ok(from >= 0, `README has "## ${heading}"`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from));
  assert.ok(block, `a sh block after ${heading ?? 'the title'}`);
  return block[1]!.trim();
}

describe('walkthrough from a clean clone', { timeout: 180_000 }, () => {
  let clone: string;
  let start: ChildProcess | null = null;
  let startOutput = '';
  let startLog = '';
  before(async () => {
    clone = join(mkdtempSync(join(tmpdir(), 'xcmp-walkthrough-')), 'xcmp-sidecar');
    await run('git', ['clone', '--quiet', repoRoot, clone]);
    symlinkSync(join(repoRoot, 'node_modules'), join(clone, 'node_modules'), 'dir');
    await run('npm', ['run', 'prepare', '--silent'], { cwd: clone, timeout: 120_000 });
  });
  after(() => {
    try {
      if (start?.pid) process.kill(-start.pid, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  });

  it('the README opens with exactly the two set-up commands', () => {
    assert.ok(readme.indexOf('```sh') < readme.indexOf('\n## '), 'before any section');
    assert.deepEqual(readmeBlock(null).split('\n'), ['npm install && npm start', 'npm test']);
  });

  it('--version and --help answer from the built clone', async () => {
    const pkg = JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as { version: string };
    const version = await run('npx', ['xcmp-sidecar', '--version'], { cwd: clone });
    assert.equal(version.stdout.trim(), pkg.version);
    const help = await run('npx', ['xcmp-sidecar', '--help'], { cwd: clone });
    assert.match(help.stdout, /^Usage: xcmp-sidecar /m);
  });

  it('npm start: progress, the first verified messages within 15 s, a dashboard, health and metrics', async () => {
    const startedAt = Date.now();
    // `npm start`, on free ports (9944 and 9955 may be taken on a shared machine); in its own process
    // group, so Ctrl-C (SIGINT to the group) can be sent as a terminal sends it.
    start = spawn('npm', ['start', '--', '--devnet-port', '0', '--port', '0'], {
      cwd: clone,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    start.stdout!.on('data', (chunk: Buffer) => {
      startOutput += chunk.toString();
    });
    start.stderr!.on('data', (chunk: Buffer) => {
      startLog += chunk.toString();
    });
    await eventually(() => /messages stored \(0 unverified\)/.test(startOutput) || start!.exitCode !== null, {
      timeoutMs: 15_000,
      what: 'the first verified messages from npm start',
    });
    assert.match(startOutput, /[1-9]\d* messages stored \(0 unverified\)/, startOutput);
    assert.ok(Date.now() - startedAt <= 15_000);
    assert.match(startOutput, /no messages yet · \d+ candidates pending availability/);
    const http = /HTTP (http:\/\/\S+);/.exec(startOutput)![1]!;
    assert.equal((await fetch(`${http}/`)).status, 200);
    assert.equal((await fetch(`${http}/health`)).status, 200);
    assert.match(await (await fetch(`${http}/metrics`)).text(), /^xcmp_build_info\{version=/m);
  });

  it('the subscribe command npm start prints works as printed, and piped into head', async () => {
    const printed = /^ {2}(npx xcmp-sidecar subscribe .*)$/m.exec(startOutput)?.[1];
    assert.ok(printed, startOutput);
    const piped = await run('sh', ['-c', `${printed} --from-block 1 | head -2`], {
      cwd: clone,
      timeout: 30_000,
    });
    const lines = piped.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      const update = JSON.parse(line) as {
        type: string;
        messages: { recipient: number; verified: boolean }[];
      };
      assert.equal(update.type, 'messages');
      assert.ok(update.messages.every((m) => m.recipient === 2000 && m.verified));
    }
    assert.doesNotMatch(piped.stderr, /EPIPE|Error/, 'head closing the pipe ends it quietly');
  });

  it('the --verify-grandpa command npm start prints proves updates from the checkpoint it wrote', async () => {
    const printed = /^ {2}(npx xcmp-sidecar subscribe .* --verify-grandpa .*)$/m.exec(startOutput)?.[1];
    assert.ok(printed, startOutput);
    const piped = await run('sh', ['-c', `${printed} --from-block 1 | head -2`], {
      cwd: clone,
      timeout: 30_000,
    });
    const updates = piped.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { messages: { recipient: number }[] });
    assert.equal(updates.length, 2);
    assert.ok(updates.every((u) => u.messages.length > 0 && u.messages.every((m) => m.recipient === 2000)));
    assert.doesNotMatch(piped.stderr, /rejected|Error/);
  });

  it('Ctrl-C stops npm start cleanly: shutdown logged, the port released', async () => {
    assert.ok(start?.pid);
    const http = /HTTP (http:\/\/\S+);/.exec(startOutput)![1]!;
    const exited = new Promise<void>((resolve) => start!.once('close', () => resolve()));
    process.kill(-start.pid, 'SIGINT');
    await exited;
    const messages = startLog
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { msg: string }).msg);
    assert.ok(messages.includes('shutting down') && messages.includes('stopped'), startLog);
    await assert.rejects(fetch(`${http}/health`), 'nothing listens any more');
  });

  it("the README's decode-block command prints the candidates and the decoded XCM", {
    skip: skipWithoutFixtures,
  }, async () => {
    const command = readmeBlock('Decode one block')
      .replace(/\\\n\s*/g, '')
      .replace(' [--json]', '')
      .replaceAll('../shared/fixtures', fixturesDir);
    const result = await run('sh', ['-c', command], { cwd: clone, timeout: 30_000 });
    assert.match(result.stdout, /commitments verified: 28\/28/);
    assert.match(result.stdout, /^ {6}V\d ReserveAssetDeposited /m);
  });
});
