/**
 * Enumerated settings fail closed: an unknown value of --rpc-methods, --serve-inbound or --log, from a
 * flag, XCMP_* or the config file, exits 2 naming the flag (the file's field when it came from the
 * file); `auto` means what it means for the node.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type RunFlags, resolveRpcMethods, runOptions } from '../../src/cli/run.ts';
import { mainWith, runCliAsync } from '../helpers/cli.ts';
import { rpcSocket } from '../helpers/rpc-socket.ts';
import { startStack } from '../helpers/sidecar.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcmp-choices-'));

function configFile(content: object): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('enumerated settings fail closed', () => {
  // Each enumerated flag, its environment variable and config field, its choices, and values it refuses.
  const enumerated = [
    {
      flag: '--rpc-methods',
      env: 'XCMP_RPC_METHODS',
      field: 'rpcMethods',
      choices: 'safe, unsafe, auto',
      bad: [' safe', '', 'bogus', 'safe,unsafe', 'unsafe ', 'saf'],
    },
    {
      flag: '--serve-inbound',
      env: 'XCMP_SERVE_INBOUND',
      field: 'serveInbound',
      choices: 'store, node, shadow',
      bad: [' store', '', 'bogus', 'stor', 'shadow!'],
    },
    {
      flag: '--role',
      env: 'XCMP_ROLE',
      field: 'role',
      choices: 'all, writer, api',
      bad: ['', 'bogus', 'writers', ' api'],
    },
  ] as const;
  for (const { flag, env: envName, field, choices, bad } of enumerated)
    for (const value of bad) {
      it(`${flag} ${JSON.stringify(value)} exits 2 naming the flag (flag, env and config file)`, async () => {
        for (const [argv, env, named] of [
          [[flag, value], {}, flag],
          [[], { [envName]: value }, flag],
          [['--config', configFile({ [field]: value })], {}, `field "${field}"`],
        ] as const) {
          const result = await mainWith([...argv, '--devnet-port', '0'], env);
          assert.equal(result.code, 2, `${JSON.stringify(argv)} ${JSON.stringify(env)}: ${result.stderr}`);
          assert.ok(
            result.stderr.includes(`${named} must be one of ${choices}, got ${JSON.stringify(value)}`),
            result.stderr,
          );
        }
      });
    }

  it('--role writer and api need a PostgreSQL --db and --node, and take no --peer', async () => {
    const pgUrl = 'postgres://u:p@127.0.0.1:1/db';
    for (const [argv, message] of [
      [['--role', 'writer', '--node', 'ws://127.0.0.1:1'], /--role writer needs a PostgreSQL --db/],
      [
        ['--role', 'api', '--node', 'ws://127.0.0.1:1', '--db', 'data/x.sqlite'],
        /--role api needs a PostgreSQL --db/,
      ],
      [['--role', 'api', '--db', pgUrl], /--role api needs --node/],
      [
        ['--role', 'writer', '--db', pgUrl, '--node', 'ws://127.0.0.1:1', '--peer', 'ws://127.0.0.1:2'],
        /--peer works with --role all only/,
      ],
    ] as const) {
      const result = await mainWith([...argv, '--devnet-port', '0']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
  });

  it('--mesh-key, --mesh and --mesh-full-retention are checked together and fail closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcmp-mesh-flags-'));
    const keyFile = join(dir, 'key.json');
    const made = await runCliAsync(['mesh-key', '--out', keyFile]);
    assert.equal(made.status, 0, made.stderr);
    const { publicKey } = JSON.parse(made.stdout) as { publicKey: string };
    assert.match(publicKey, /^0x[0-9a-f]{64}$/);
    assert.match(readFileSync(keyFile, 'utf8'), new RegExp(publicKey));
    const again = await runCliAsync(['mesh-key', '--out', keyFile]);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /never overwritten/);
    writeFileSync(join(dir, 'bad.json'), '{"seed": "0x12"}');
    const peer = `0x${'ab'.repeat(32)}@ws://127.0.0.1:1`;
    for (const [argv, message] of [
      [['--mesh', peer], /--mesh needs --mesh-key/],
      [['--mesh-key', keyFile], /needs the other members/],
      [['--mesh-key', keyFile, '--mesh', 'ws://127.0.0.1:1'], /--mesh takes KEY@ws:/],
      [['--mesh-key', join(dir, 'bad.json'), '--mesh', peer], /32-byte hex seed/],
      [['--mesh-key', join(dir, 'none.json'), '--mesh', peer], /cannot read --mesh-key/],
      [['--mesh-key', keyFile, '--mesh', peer, '--mesh-full-retention', '0'], /--mesh-full-retention/],
      [['--mesh-key', keyFile, '--mesh', `${publicKey}@ws://127.0.0.1:1`], /listed twice/],
      [['--mesh-key', keyFile, '--mesh', peer, '--db', 'postgres://u:p@127.0.0.1:1/db'], /not PostgreSQL/],
      [['--mesh-checkpoint', 'polkadot'], /--mesh-checkpoint is for --mesh-only/],
      [
        ['--mesh-only', '--node', 'ws://127.0.0.1:1', '--mesh-key', keyFile, '--mesh', peer],
        /takes no --node/,
      ],
      [['--mesh-only', '--mesh-checkpoint', 'polkadot'], /needs --mesh-key and --mesh/],
      [['--mesh-only', '--mesh-key', keyFile, '--mesh', peer], /needs --mesh-checkpoint/],
      [
        ['--mesh-only', '--mesh-key', keyFile, '--mesh', peer, '--mesh-checkpoint', join(dir, 'bad.json')],
        /--mesh-checkpoint .*expected polkadot/,
      ],
    ] as const) {
      const result = await mainWith([...argv, '--devnet-port', '0', '--port', '0']);
      assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it('the real process exits 2 for XCMP_RPC_METHODS=bogus, before it starts anything', async () => {
    const result = await runCliAsync(['--devnet-port', '0', '--port', '0'], { XCMP_RPC_METHODS: 'bogus' });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /--rpc-methods must be one of safe, unsafe, auto, got "bogus"/);
    assert.doesNotMatch(result.stdout, /JSON-RPC/, 'nothing was served');
  });

  it('matches values without regard to case, as the node does, and auto as the node means it', () => {
    const flags = (over: Partial<RunFlags>) =>
      runOptions({
        port: '0',
        host: '127.0.0.1',
        prometheusHost: '127.0.0.1',
        retentionBlocks: '10',
        log: 'info',
        devnetPort: '0',
        blockTimeMs: '100',
        rpcMaxConnections: '10',
        rpcMaxSubscriptionsPerConnection: '10',
        rpcMaxRequestSize: '1',
        rpcMaxResponseSize: '1',
        rpcMaxBatchRequestLen: '10',
        rpcMessageBufferCapacityPerConnection: '10',
        rpcMessageBufferSizePerConnection: '1',
        rpcCors: 'all',
        rpcMethods: 'safe',
        serveInbound: 'store',
        role: 'all',
        speculativeWindow: '4',
        stuckAfter: '10',
        meshFullRetention: '1000',
        ...over,
      });
    assert.equal(flags({ rpcMethods: 'Safe' }).rpcMethods, 'safe');
    assert.equal(flags({ rpcMethods: 'UNSAFE' }).rpcMethods, 'unsafe');
    assert.equal(flags({ rpcMethods: 'auto', host: '127.0.0.1' }).rpcMethods, 'unsafe');
    assert.equal(flags({ rpcMethods: 'auto', host: '0.0.0.0' }).rpcMethods, 'safe');
    assert.equal(flags({ rpcMethods: 'Auto', host: '10.1.2.3' }).rpcMethods, 'safe');
    assert.equal(flags({ serveInbound: 'Shadow' }).serveInbound, 'shadow');
    for (const host of ['localhost', '::1', '127.0.0.2'])
      assert.equal(resolveRpcMethods('auto', host), 'unsafe');
    for (const host of ['0.0.0.0', '::', '192.168.1.4', 'node.example'])
      assert.equal(resolveRpcMethods('auto', host), 'safe');
    // Numbers as the node reads its flags: decimal digits only.
    assert.equal(flags({ port: '9955' }).port, 9955);
    for (const port of ['1e3', '0x10', ' 80', '80 ', '+80', '-1', '8.0', ''])
      assert.throws(
        () => flags({ port }),
        (error: Error) =>
          error.message === `--port must be an integer from 0 to 65535, got ${JSON.stringify(port)}`,
        `--port ${JSON.stringify(port)}`,
      );
  });
});

describe('safe mode denies by default', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('refuses methods not known to be safe, even ones the node has, and makes no block for dev_newBlock', async () => {
    const stack = await startStack({ initialBlocks: 3 }, { rpcMethods: 'safe' });
    cleanups.push(() => stack.close());
    const client = await rpcSocket(stack.sidecar.server.url);
    cleanups.push(() => client.close());
    const before = stack.devnet.chain.best.number;
    const nodeMethods = (await client.call('rpc_methods')).result as { methods: string[] };
    for (const method of [
      'dev_newBlock',
      'dev_fork',
      'dev_dropConnections',
      'author_rotateKeys',
      'made_up_method',
    ]) {
      const answer = await client.call(method, [1]);
      assert.equal(answer.error?.code, -32601, method);
      if (method !== 'made_up_method')
        assert.equal(
          answer.error?.message,
          'RPC call is unsafe to be called externally',
          `${method}: ${JSON.stringify(answer)}`,
        );
    }
    assert.equal(stack.devnet.chain.best.number, before, 'no block was made');
    assert.ok(!nodeMethods.methods.some((m) => m.startsWith('dev_')), 'unsafe methods are not advertised');
    assert.ok(nodeMethods.methods.includes('chain_getBlock') && nodeMethods.methods.includes('state_call'));
  });
});
