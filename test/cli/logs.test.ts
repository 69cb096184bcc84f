import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { logger as polkadotLogger } from '@polkadot/util';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { createLogger, routeConsole } from '../../src/log.ts';
import { fatalMessage, logLines, runCliAsync, spawnCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';

describe('logs: stderr holds only pino JSON off a terminal', { concurrency: true }, () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 2 });
  });
  after(() => devnet?.close());

  it("polkadot-js's console output goes through pino, and the console comes back afterwards", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const restore = routeConsole(createLogger({ destination, pretty: false }));
    const original = console.warn;
    try {
      polkadotLogger('API-WS').warn('disconnected from ws://127.0.0.1:1: 1006:: Abnormal Closure');
      polkadotLogger('REGISTRY').error('Unable to decode');
    } finally {
      restore();
    }
    assert.notEqual(console.warn, original, 'restored to what it was before routing');
    const parsed = lines.map((line) => JSON.parse(line) as { level: number; msg: string; source: string });
    assert.equal(parsed.length, 2);
    assert.deepEqual(
      parsed.map((p) => [p.level, p.source]),
      [
        [40, 'console'],
        [50, 'console'],
      ],
    );
    assert.match(parsed[0]!.msg, /API-WS: disconnected from ws:\/\/127\.0\.0\.1:1/);
  });

  it('an unreachable node: the cause at once, then one fatal line naming it after the retries (exit 1)', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    const result = await runCliAsync(['--node', `ws://127.0.0.1:${port}`, '--db', ':memory:', '--port', '0']);
    const elapsed = Date.now() - startedAt;
    assert.equal(result.status, 1, result.stderr);
    const lines = logLines(result.stderr);
    assert.equal(lines.length, 2, `one warning, one fatal line, no per-second noise: ${result.stderr}`);
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.reason, 'connection refused');
    assert.match(
      fatalMessage(result.stderr),
      new RegExp(
        `^cannot connect to the node at ws://127\\.0\\.0\\.1:${port}: connection refused \\(\\d+ attempts\\)$`,
      ),
    );
    // The retries take about 11.5 s; the bound catches a loop that never gives up, with room for a
    // loaded machine (two test files at once beside the devnet processes of others).
    assert.ok(elapsed < 20_000, `gave up after ${elapsed} ms`);
  });

  it('an unknown host is named as such, not as a refusal, at once', async () => {
    const startedAt = Date.now();
    const result = await runCliAsync([
      '--node',
      'ws://no-such-host.invalid:9944',
      '--db',
      ':memory:',
      '--port',
      '0',
    ]);
    assert.equal(result.status, 1, result.stderr);
    assert.match(fatalMessage(result.stderr), /no-such-host\.invalid:9944: unknown host \(1 attempt\)$/);
    // No retries: well under the 11.5 s they would take, even on a loaded machine.
    assert.ok(Date.now() - startedAt < 8_000, `took ${Date.now() - startedAt} ms`);
  });

  it('connecting, serving and shutting down are logged, each line JSON', async () => {
    const cli = spawnCli(['--node', devnet.url, '--db', ':memory:', '--port', '0']);
    await cli.until(/xcmp-sidecar JSON-RPC: ws:\/\//);
    assert.equal(await cli.stop('SIGTERM'), 0);
    const messages = logLines(cli.stderr()).map((line) => line.msg);
    for (const expected of ['connected to the node', 'shutting down', 'stopped'])
      assert.ok(messages.includes(expected), `"${expected}" is not in ${JSON.stringify(messages)}`);
    assert.ok(messages.indexOf('shutting down') < messages.indexOf('stopped'));
  });
});
