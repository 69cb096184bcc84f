import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DecodeReport } from '../../src/cli/decode-report.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { runCli, runCliAsync } from '../helpers/cli.ts';

describe('decode-block --node against the devnet', () => {
  let devnet: Devnet;
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 5 });
  });
  after(async () => {
    await devnet?.close();
  });

  it('verifies every candidate of a devnet block, by number and by hash', async () => {
    for (const at of ['4', devnet.chain.blockAt(4)!.hash]) {
      const result = await runCliAsync(['decode-block', '--node', devnet.url, '--at', at, '--json']);
      assert.equal(result.status, 0, result.stderr);
      const report = JSON.parse(result.stdout) as DecodeReport;
      assert.equal(report.block.number, 4);
      assert.equal(report.block.hash, devnet.chain.blockAt(4)!.hash);
      assert.equal(report.candidates.length, 4);
      assert.ok(report.candidates.every((c) => c.commitmentsVerified && c.descriptorVersion === 'v2'));
      assert.equal(report.events!.included.length, 4);
      assert.equal(Object.values(report.slices).flat().length, 12);
    }
  });

  it('reports a block the node does not have, and an unreachable node, with exit 1 and one line', async () => {
    const missing = await runCliAsync(['decode-block', '--node', devnet.url, '--at', '999']);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /the node has no block #999/);
    const unreachable = await runCliAsync(['decode-block', '--node', 'ws://127.0.0.1:1', '--at', '1']);
    assert.equal(unreachable.status, 1);
    assert.match(unreachable.stderr, /cannot connect to the node at ws:\/\/127\.0\.0\.1:1/);
    assert.equal(unreachable.stderr.trim().split('\n').length, 1);
  });
});

describe('xcmp-sidecar devnet flags', () => {
  for (const [args, message] of [
    [['--paras', '2000'], /--paras needs at least two distinct para ids/],
    [['--port', 'abc'], /--port must be an integer/],
    [['--message-rate', '2'], /--message-rate must be between 0 and 1/],
    [['--runtime', 'kusama'], /Allowed choices are polkadot-v15, static-polkadot/],
    [['--availability-delay', '0'], /--availability-delay must be an integer from 1 to 100/],
    [['--state-pruning', 'x'], /--state-pruning must be an integer from 1/],
  ] as const) {
    it(`refuses ${args.join(' ')} with exit 2`, () => {
      const result = runCli(['devnet', ...args]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }
});

describe('devnet --scale', () => {
  it('builds 100 paras with 400 channels and refuses --paras alongside', async () => {
    const { devnetOptions } = await import('../../src/cli/devnet.ts');
    const options = devnetOptions({
      port: '0',
      host: '127.0.0.1',
      blockTimeMs: '0',
      runtime: 'polkadot-v15',
      scale: true,
    });
    assert.equal(options.paras?.length, 100);
    assert.equal(options.channels?.length, 400);
    assert.equal(options.validators, 300);
    assert.throws(
      () =>
        devnetOptions({
          port: '0',
          host: '127.0.0.1',
          blockTimeMs: '0',
          runtime: 'polkadot-v15',
          scale: true,
          paras: '1,2',
        }),
      /--scale sets its own 100 paras/,
    );
  });
});

describe('devnet channel and message-size flags', () => {
  it('builds the channels and sizes asked for, and names a bad value', async () => {
    const { devnetOptions } = await import('../../src/cli/devnet.ts');
    const base = { port: '0', host: '127.0.0.1', blockTimeMs: '0', runtime: 'polkadot-v15' };
    const options = devnetOptions({
      ...base,
      paras: '2000,2001,2004',
      channels: '2000>2001,2001>2000',
      messageSize: '100-900',
    });
    assert.deepEqual(options.channels, [
      [2000, 2001],
      [2001, 2000],
    ]);
    assert.deepEqual(options.messageSize, { min: 100, max: 900 });
    assert.throws(
      () => devnetOptions({ ...base, channels: '2000-2001' }),
      /--channels takes sender>recipient pairs/,
    );
    assert.throws(
      () => devnetOptions({ ...base, paras: '2000,2001', channels: '2000>3000' }),
      /needs two distinct paras/,
    );
    assert.throws(() => devnetOptions({ ...base, messageSize: '10-5' }), /--message-size takes MIN-MAX/);
    // The default its own help shows is accepted.
    assert.deepEqual(devnetOptions({ ...base, messageSize: '40-600' }).messageSize, { min: 40, max: 600 });
  });
});

describe('devnet --availability-delay and --state-pruning', () => {
  it('reach the devnet config', async () => {
    const { devnetOptions } = await import('../../src/cli/devnet.ts');
    const base = { port: '0', host: '127.0.0.1', blockTimeMs: '0', runtime: 'polkadot-v15' };
    const options = devnetOptions({ ...base, availabilityDelay: '2', statePruning: '64' });
    assert.equal(options.enactmentDelay, 2);
    assert.equal(options.statePruning, 64);
  });
});
