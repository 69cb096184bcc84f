import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Command } from 'commander';
import { applyConfigFile } from '../../src/cli/config-file.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcmp-config-'));
function configFile(content: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

async function resolved(argv: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const program = buildProgram();
    let options: Record<string, unknown> = {};
    program.action((_flags: unknown, command: Command) => {
      const config = command.getOptionValue('config') as string | undefined;
      if (config) applyConfigFile(command, config);
      options = command.opts();
    });
    await program.parseAsync(argv, { from: 'user' });
    return options;
  } finally {
    process.env = saved;
  }
}

describe('configuration: flags, then XCMP_* env, then --config file, then defaults', () => {
  it('takes each source in that order', async () => {
    const path = configFile({ port: 7001, host: '0.0.0.0', 'rpc-max-connections': 7, log: 'debug' });
    const options = await resolved(['--config', path, '--host', '127.0.0.2'], {
      XCMP_PORT: '7002',
      XCMP_RPC_MAX_CONNECTIONS: '8',
    });
    assert.equal(options.host, '127.0.0.2', 'flag beats config');
    assert.equal(options.port, '7002', 'env beats config');
    assert.equal(options.rpcMaxConnections, '8', 'env beats config');
    assert.equal(options.log, 'debug', 'config beats default');
    assert.equal(options.rpcMaxBatchRequestLen, '1000', 'default');
  });

  it('ships example config files that parse and name only real flags', async () => {
    for (const file of ['config/sidecar.example.json', 'config/devnet-quick.json']) {
      const options = await resolved(['--config', join(repoRoot, file)]);
      assert.ok(options.port !== undefined, file);
    }
  });

  for (const [what, content, message] of [
    ['an unknown field', { bogus: 1 }, /unknown field "bogus"/],
    [
      'a bad value',
      { port: 'x1' },
      /config file .*: field "port" must be an integer from 0 to 65535, got "x1"/,
    ],
    [
      'a bad value spelled as the flag',
      { 'rpc-methods': 'some' },
      /config file .*: field "rpc-methods" must be one of/,
    ],
    ['not JSON', '{port:', /is not JSON/],
    [
      'a nested value',
      { port: { value: 1 } },
      /field "port" must be a string, number, boolean or list of strings/,
    ],
  ] as const) {
    it(`refuses a config file with ${what}, exit 2, naming the field`, () => {
      const result = runCli(['--config', configFile(content)]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  it("refuses --db '' instead of storing into a throwaway database", () => {
    const result = runCli(['--devnet-port', '0', '--port', '0', '--db', '']);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--db must be a file path \(or :memory: for a throwaway store\)/);
  });

  it("accepts the node's --rpc-port as --port, and it wins over --port", async () => {
    const { runOptions } = await import('../../src/cli/run.ts');
    const options = await resolved(['--rpc-port', '9977']);
    assert.equal(runOptions(options as unknown as Parameters<typeof runOptions>[0]).port, 9977);
    const both = await resolved(['--port', '9978', '--rpc-port', '9979']);
    assert.equal(runOptions(both as unknown as Parameters<typeof runOptions>[0]).port, 9979);
    const bad = runCli(['--rpc-port', 'x']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--rpc-port must be an integer/);
  });

  it('refuses a bad XCMP_* value, naming the flag', () => {
    const result = runCli(['--devnet-port', '0'], { XCMP_PORT: 'abc' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--port must be an integer/);
  });
});
