/**
 * config/zombienet: the network file and the .zndsl test parse and agree with each other, and the
 * sidecar scripts the test runs work: started against a devnet standing in for alice (no polkadot
 * binary can run here), they serve verified messages, and the check fails once a candidate is tampered.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse_to_json } from '@zombienet/dsl-parser-wrapper';
import { parse } from 'smol-toml';
import { startDevnet } from '../../src/devnet/index.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/ports.ts';
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

/** What zombienet's own DSL parser (Rust, as wasm) makes of a .zndsl file. */
interface ParsedZndsl {
  readonly description: string | null;
  readonly network: string;
  readonly creds: string;
  readonly assertions: {
    readonly original_line: string;
    readonly parsed: {
      readonly fn: string;
      readonly args: {
        readonly node_name: string;
        readonly para_id?: number;
        readonly file_path?: string;
        readonly custom_args?: string;
      };
    };
  }[];
}

/** The kinds of assertion this test knows how to check; the parser's others are refused. */
const KINDS: Record<string, Assertion['kind']> = {
  IsUp: 'is up',
  ParaIsRegistered: 'registered',
  ParaBlockHeight: 'block height',
  CustomJs: 'js-script',
};

/** Parses with zombienet's parser (a syntax error throws, as `zombienet test` would fail). */
function parseZndsl(text: string): { header: Map<string, string>; assertions: Assertion[] } {
  const parsed = JSON.parse(parse_to_json(text)) as ParsedZndsl;
  const header = new Map([
    ['Description', parsed.description ?? ''],
    ['Network', parsed.network],
    ['Creds', parsed.creds],
  ]);
  const assertions = parsed.assertions.map(({ original_line, parsed: { fn, args } }): Assertion => {
    const kind = KINDS[fn];
    assert.ok(kind, `${original_line}: ${fn} is an assertion this test does not check`);
    return {
      node: args.node_name,
      kind,
      paraId: args.para_id,
      script: args.file_path,
      args: args.file_path === undefined ? undefined : (args.custom_args?.split(',') ?? []),
    };
  });
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

  it("is read by zombienet's own DSL parser, which refuses what zombienet would refuse", () => {
    const text = readFileSync(zndslPath, 'utf8');
    assert.equal(zndsl.assertions.length, text.split('\n').filter((l) => /^[a-z0-9-]+: /.test(l)).length);
    assert.throws(
      () => parseZndsl(text.replace('alice: is up', 'alice is up')),
      /expected colon|Error parsing/,
    );
    assert.throws(
      () =>
        parseZndsl(
          text.replace(
            'return is greater than 0 within 120 seconds',
            'returns more than 0 within 120 seconds',
          ),
        ),
      /Error parsing/,
    );
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
