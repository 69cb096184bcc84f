/**
 * config/zombienet: the network file and the .zndsl test parse and agree with each other, and the
 * sidecar scripts the test runs work: started against a devnet standing in for alice (no polkadot
 * binary can run here), they serve verified messages, and the check fails once a candidate is tampered.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'smol-toml';
import { startDevnet } from '../../src/devnet/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { eventually } from '../helpers/wait.ts';

const dir = join(repoRoot, 'config/zombienet');
const zndslPath = join(dir, 'xcmp-sidecar.zndsl');

interface NetworkNode {
  readonly name: string;
  readonly validator?: boolean;
  readonly rpc_port?: number;
  readonly command?: string;
}
interface Network {
  readonly relaychain: {
    readonly chain: string;
    readonly default_command: string;
    readonly nodes: NetworkNode[];
  };
  readonly parachains: {
    readonly id: number;
    readonly chain: string;
    readonly cumulus_based: boolean;
    readonly collators: NetworkNode[];
  }[];
  readonly hrmp_channels: {
    readonly sender: number;
    readonly recipient: number;
    readonly max_capacity: number;
  }[];
}

interface Assertion {
  readonly node: string;
  readonly kind: 'is up' | 'registered' | 'block height' | 'js-script';
  readonly script?: string;
  readonly args?: string[];
  readonly paraId?: number;
}

/** The subset of zombienet's DSL this test uses; any other line is an error. */
function parseZndsl(text: string): { header: Map<string, string>; assertions: Assertion[] } {
  const header = new Map<string, string>();
  const assertions: Assertion[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `xcmp-sidecar.zndsl:${index + 1}`;
    const field = /^(Description|Network|Creds): (.+)$/.exec(line);
    if (field) {
      header.set(field[1]!, field[2]!);
      continue;
    }
    const assertion = /^([a-z0-9-]+): (.+)$/.exec(line);
    assert.ok(assertion, `${where}: not an assertion: ${line}`);
    const [, node, rest] = assertion as unknown as [string, string, string];
    const registered = /^parachain (\d+) is registered within \d+ seconds$/.exec(rest);
    const height = /^parachain (\d+) block height is at least \d+ within \d+ seconds$/.exec(rest);
    const script =
      /^js-script (\.\/[\w.-]+)(?: with "([^"]*)")?(?: return is greater than \d+)? within \d+ seconds$/.exec(
        rest,
      );
    if (rest === 'is up') assertions.push({ node, kind: 'is up' });
    else if (registered) assertions.push({ node, kind: 'registered', paraId: Number(registered[1]) });
    else if (height) assertions.push({ node, kind: 'block height', paraId: Number(height[1]) });
    else if (script)
      assertions.push({ node, kind: 'js-script', script: script[1]!, args: script[2]?.split(',') ?? [] });
    else assert.fail(`${where}: unknown assertion: ${rest}`);
  }
  return { header, assertions };
}

const zndsl = parseZndsl(readFileSync(zndslPath, 'utf8'));
const networkPath = resolve(dir, zndsl.header.get('Network') ?? '');
const network = parse(readFileSync(networkPath, 'utf8')) as unknown as Network;
const requireScript = createRequire(join(dir, 'index.cjs'));

describe('config/zombienet', () => {
  it('describes a rococo-local relay with two cumulus parachains and HRMP channels both ways', () => {
    assert.equal(network.relaychain.chain, 'rococo-local');
    assert.equal(network.relaychain.default_command, 'polkadot');
    assert.ok(network.relaychain.nodes.filter((n) => n.validator).length >= 2, 'two validators');
    assert.equal(network.parachains.length, 2);
    for (const para of network.parachains) {
      assert.equal(para.cumulus_based, true, `para ${para.id} is cumulus-based`);
      assert.equal(para.chain, `penpal-rococo-${para.id}`, `para ${para.id}'s chain spec carries its id`);
      assert.equal(para.collators[0]?.command, 'polkadot-parachain');
    }
    const [a, b] = network.parachains.map((p) => p.id) as [number, number];
    const channels = network.hrmp_channels.map((c) => `${c.sender}>${c.recipient}`).sort();
    assert.deepEqual(channels, [`${a}>${b}`, `${b}>${a}`].sort());
    for (const channel of network.hrmp_channels) assert.ok(channel.max_capacity > 0);
  });

  it('has a .zndsl test whose nodes, paras, scripts and ports all exist in the network', () => {
    assert.match(zndsl.header.get('Description') ?? '', /xcmp-sidecar/);
    assert.equal(zndsl.header.get('Creds'), 'config');
    assert.ok(existsSync(networkPath), `${networkPath} exists`);
    const nodes = new Set([
      ...network.relaychain.nodes.map((n) => n.name),
      ...network.parachains.flatMap((p) => p.collators.map((c) => c.name)),
    ]);
    const paraIds = network.parachains.map((p) => p.id);
    for (const assertion of zndsl.assertions) {
      assert.ok(nodes.has(assertion.node), `${assertion.node} is a node of the network`);
      if (assertion.paraId !== undefined) assert.ok(paraIds.includes(assertion.paraId));
      if (assertion.script) {
        const script = requireScript(assertion.script) as { run?: unknown };
        assert.equal(typeof script.run, 'function', `${assertion.script} exports run()`);
      }
    }
    for (const id of paraIds) {
      assert.ok(zndsl.assertions.some((a) => a.kind === 'registered' && a.paraId === id));
    }
    const scripts = (name: string) => zndsl.assertions.filter((a) => a.script === name);
    const [start] = scripts('./start-sidecar.cjs');
    const [check] = scripts('./check-sidecar.cjs');
    assert.ok(start && check, 'the test starts the sidecar and checks it');
    assert.equal(start.node, 'alice');
    assert.equal(
      network.relaychain.nodes.find((n) => n.name === start.node)?.rpc_port,
      9944,
      'the sidecar follows the RPC port the docs name',
    );
    assert.equal(check.args?.[0], start.args?.[0], 'the check asks the port the sidecar was started on');
    assert.deepEqual(
      check.args?.slice(2).map(Number).sort(),
      [...paraIds].sort(),
      'both recipients are checked',
    );
    const senders = scripts('./send-hrmp.cjs');
    assert.deepEqual(
      senders
        .map(
          (s) =>
            `${network.parachains.find((p) => p.collators.some((c) => c.name === s.node))?.id}>${s.args?.[0]}`,
        )
        .sort(),
      network.hrmp_channels.map((c) => `${c.sender}>${c.recipient}`).sort(),
      'traffic is sent on every channel, by the sender',
    );
    const order = zndsl.assertions.map((a) => a.script);
    assert.ok(
      order.indexOf('./start-sidecar.cjs') < order.indexOf('./send-hrmp.cjs'),
      'the sidecar starts first',
    );
  });

  describe('its sidecar scripts, against a devnet in place of alice', () => {
    const startScript = requireScript('./start-sidecar.cjs') as {
      run(node: string, info: unknown, args: string[]): Promise<number>;
      stop(): Promise<void>;
    };
    const checkScript = requireScript('./check-sidecar.cjs') as {
      run(node: string, info: unknown, args: string[]): Promise<number>;
    };
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('start the real CLI on the relay RPC port, pass on honest blocks and fail on a tampered one', async () => {
      const paraIds = network.parachains.map((p) => p.id);
      const devnet = await startDevnet({
        paras: paraIds,
        blockTimeMs: 0,
        initialBlocks: 3,
        retainBlocks: 1000,
      });
      cleanups.push(() => devnet.close());
      const port = await freePort();
      const networkInfo = {
        tmpDir: mkdtempSync(join(tmpdir(), 'xcmp-zombienet-')),
        nodesByName: { alice: { name: 'alice', wsUri: devnet.url } },
      };
      cleanups.push(() => startScript.stop());
      const args = [String(port), '3', ...paraIds.map(String)];

      assert.equal(await startScript.run('alice', networkInfo, [String(port)]), 1);
      assert.ok(existsSync(join(networkInfo.tmpDir, 'xcmp-sidecar.sqlite')), 'the store is in the tmpDir');
      await devnet.newBlocks(8);
      const verified = await checkScript.run('alice', networkInfo, args);
      assert.ok(verified >= 3 * paraIds.length, `${verified} verified messages`);

      await devnet.newBlocks(1, { tamperCommitments: new Set([paraIds[0]!]) });
      await devnet.newBlocks(3);
      await syncedTo(port, devnet.chain.finalized.number);
      await assert.rejects(checkScript.run('alice', networkInfo, args), /verification failed/);
    });
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

async function syncedTo(port: number, block: number): Promise<void> {
  let synced: number | null = null;
  await eventually(
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'xcmp_status', params: [] }),
      });
      synced = ((await response.json()) as { result: { synced: number | null } }).result.synced;
      return (synced ?? 0) >= block;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: `the sidecar at #${block} (at #${synced})` },
  );
}
