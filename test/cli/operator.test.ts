import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { fatalMessage, runCli, runCliAsync, spawnCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const guide = readFileSync(join(repoRoot, 'docs/operator-guide.md'), 'utf8');

describe('operator surface', () => {
  for (const command of [[], ['decode-block'], ['devnet'], ['backfill'], ['subscribe']]) {
    it(`every flag in \`xcmp-sidecar ${command.join(' ')} --help\` is in the operator guide`, () => {
      const result = runCli([...command, '--help']);
      assert.equal(result.status, 0, result.stderr);
      const flags = [...result.stdout.matchAll(/--[a-z][a-z0-9-]+/g)]
        .map((m) => m[0])
        .filter((f) => f !== '--help');
      assert.ok(flags.length > 0);
      for (const flag of new Set(flags))
        assert.ok(guide.includes(`\`${flag}`), `${flag} is not documented in docs/operator-guide.md`);
    });
  }

  describe('against a devnet', () => {
    let devnet: Devnet;
    before(async () => {
      devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 3 });
    });
    after(() => devnet?.close());

    it('stops within 5 s of SIGTERM with exit code 0, subscribers closed with 1001, the store intact', async () => {
      const db = join(mkdtempSync(join(tmpdir(), 'xcmp-stop-')), 'store.sqlite');
      const cli = spawnCli(['--node', devnet.url, '--db', db, '--port', '0', '--log', 'warn']);
      const [, url] = await cli.until(/xcmp-sidecar JSON-RPC: (ws:\/\/\S+)/);
      await devnet.newBlocks(5);
      const subscriber = new WebSocket(url!);
      await new Promise((resolve) => subscriber.once('open', resolve));
      subscriber.send(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'xcmp_subscribeInbox', params: [2000] }),
      );
      await new Promise((resolve) => subscriber.once('message', resolve));
      const closed = new Promise<number>((resolve) => subscriber.once('close', resolve));
      const stoppedAt = Date.now();
      const code = await cli.stop('SIGTERM');
      assert.equal(code, 0);
      assert.ok(Date.now() - stoppedAt < 5000, `took ${Date.now() - stoppedAt} ms`);
      assert.equal(await closed, 1001, 'subscribers are told the server is going away');
      const reopened = await runCliAsync(['backfill', '--from', '1', '--node', devnet.url, '--db', db]);
      assert.equal(reopened.status, 0, reopened.stderr);
    });

    it('--prometheus-port serves GET /metrics alone on its own port; a busy one is refused naming the flag', async () => {
      const withMetricsPort = (port: string) => [
        '--node',
        devnet.url,
        '--db',
        ':memory:',
        '--port',
        '0',
        '--prometheus-port',
        port,
      ];
      const cli = spawnCli(withMetricsPort('0'));
      try {
        const [, metricsUrl] = await cli.until(/prometheus metrics: (http:\/\/\S+)/);
        const answer = await fetch(metricsUrl!);
        assert.equal(answer.status, 200);
        assert.match(answer.headers.get('content-type') ?? '', /text\/plain/);
        const text = await answer.text();
        assert.match(text, /^xcmp_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1$/m);
        assert.match(text, /^xcmp_block_height\{status="finalized"\} \d+$/m);
        const base = metricsUrl!.replace(/\/metrics$/, '');
        for (const other of ['/', '/health', '/metrics/x'])
          assert.equal((await fetch(`${base}${other}`)).status, 404, `${other} is not served there`);
        const post = await fetch(metricsUrl!, { method: 'POST', body: '{}' });
        assert.equal(post.status, 404, 'no JSON-RPC on the metrics port');
        const port = new URL(base).port;
        const busy = await runCliAsync(withMetricsPort(port));
        assert.equal(busy.status, 1);
        assert.match(
          fatalMessage(busy.stderr),
          new RegExp(
            `cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use \\(.*choose --prometheus-port\\)`,
          ),
        );
      } finally {
        await cli.stop();
      }
    });

    it('a devnet port in use (devnet --port, or --devnet-port without --node) exits 1 with one line naming the flag', async () => {
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = String((taken.address() as AddressInfo).port);
      try {
        for (const [args, flag, reason] of [
          [
            ['devnet', '--port', port],
            'choose --port',
            (stderr: string) => stderr.trim().replace(/^error: /, ''),
          ],
          [
            ['--devnet-port', port, '--port', '0', '--db', ':memory:'],
            'choose --devnet-port, or give --node',
            fatalMessage,
          ],
        ] as const) {
          const busy = await runCliAsync(args);
          assert.equal(busy.status, 1, busy.stderr);
          assert.equal(busy.stderr.trim().split('\n').length, 1, busy.stderr);
          assert.equal(
            reason(busy.stderr),
            `cannot listen on 127.0.0.1:${port}: the port is in use (a node or another devnet? ${flag})`,
          );
        }
      } finally {
        taken.close();
      }
    });

    it('exits 1 with one line naming the port in use, or the database it cannot use', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'xcmp-fail-'));
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as AddressInfo).port;
      try {
        const db = join(dir, 'store.sqlite');
        const busy = await runCliAsync(['--node', devnet.url, '--db', db, '--port', String(port)]);
        assert.equal(busy.status, 1);
        assert.match(
          fatalMessage(busy.stderr),
          new RegExp(`^cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`),
        );
      } finally {
        taken.close();
      }
      const notSqlite = join(dir, 'notes.sqlite');
      writeFileSync(notSqlite, 'these are notes, not a database\n'.repeat(300));
      const refused = await runCliAsync(['--node', devnet.url, '--db', notSqlite, '--port', '0']);
      assert.equal(refused.status, 1);
      assert.match(
        fatalMessage(refused.stderr),
        /^the database .*notes\.sqlite is corrupt or not a SQLite file/,
      );
      assert.equal(readFileSync(notSqlite, 'utf8'), 'these are notes, not a database\n'.repeat(300));
    });
  });

  it('npm start (no --node, default 6 s blocks) shows progress, then verified messages within 15 s, and its printed subscribe command works', async (t) => {
    const startedAt = Date.now();
    const cli = spawnCli([
      '--devnet-port',
      '0',
      '--port',
      '0',
      '--db',
      join(mkdtempSync(join(tmpdir(), 'xcmp-start-')), 's.sqlite'),
      '--log',
      'warn',
    ]);
    try {
      await cli.until(/#\d+ finalized .* [1-9]\d* messages stored \(0 unverified\)/, 15_000);
      const elapsed = Date.now() - startedAt;
      assert.ok(elapsed <= 15_000, `first verified messages after ${elapsed} ms`);
      const out = cli.stdout();
      const before = out.slice(0, out.search(/messages stored/));
      assert.match(
        before,
        /^#\d+ finalized \(finalized #\d+, best #\d+\) · no messages yet · \d+ candidates pending availability/m,
      );
      assert.match(
        before,
        /^#\d+ imported .* · [1-9]\d* messages enacted at best #\d+, stored when it is finalized \(in \d+ blocks?, ~\d+ s\)$/m,
        'the expected time of the first messages is said',
      );
      assert.match(out, /devnet \(a simulated Polkadot relay chain, not a node\): ws:\/\//);
      assert.match(out, /#\d+ finalized .* [1-9]\d* messages stored \(0 unverified\)/);
      t.diagnostic(`first verified messages shown after ${Date.now() - startedAt} ms`);
      const dashboard = /dashboard: (http:\/\/\S+\/)/.exec(out)?.[1];
      assert.ok(dashboard, 'the dashboard address is printed');
      const page = await fetch(dashboard);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>xcmp-sidecar<\/title>/);
      const command = /npx xcmp-sidecar (subscribe .*)/.exec(out)![1]!.split(' ');
      const subscriber = spawnCli([...command, '--from-block', '1']);
      const [, line] = await subscriber.until(/^(\{.*\})\n/m, 20_000);
      await subscriber.stop();
      const update = JSON.parse(line!) as {
        type: string;
        messages: { recipient: number; verified: boolean }[];
      };
      assert.equal(update.type, 'messages');
      assert.ok(
        update.messages.length > 0 && update.messages.every((m) => m.recipient === 2000 && m.verified),
      );
    } finally {
      await cli.stop();
    }
  });
});
