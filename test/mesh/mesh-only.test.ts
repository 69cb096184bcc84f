/**
 * A sidecar with no relay node (`--mesh-only`, issue 31): two members with nodes push each
 * finalized block's plain slices; the mesh-only member, holding only the devnet's GRANDPA genesis
 * checkpoint, proves each block final and each slice under its header, and serves the same inbox
 * updates as a sidecar with a node — through the node's restart — while a member that feeds it a
 * forged fork (a self-consistent header signed by keys outside the set) is refused every time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import type { ChannelJson, MailboxUpdateJson, MessageJson, StatusJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/index.ts';
import { acceptPushedBlock, type PushedBlock, type PushedMessage } from '../../src/derive/mesh-push.ts';
import { grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import { type MeshKey, meshKeyFromSeed, signRequest } from '../../src/mesh/members.ts';
import { type MeshOnlySidecar, startMeshOnly } from '../../src/mesh-only.ts';
import { encodeCompact, fromHex, type Hex, toHex } from '../../src/protocol/bytes.ts';
import { blake2_256 } from '../../src/protocol/hash.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { browserMissing, launchBrowser } from '../helpers/browser.ts';
import { spawnCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const AUTHORITIES = 7;
const seedOf = (name: string) => blake2_256(new TextEncoder().encode(`mesh-only test ${name}`));
const keyOf = (name: string) => meshKeyFromSeed(seedOf(name));

interface Consumer {
  readonly client: XcmpClient;
  readonly delivered: MessageJson[];
}

async function consume(url: string, recipient: number, fromBlock: number): Promise<Consumer> {
  const client = await XcmpClient.connect(url, { reconnectMs: 200 });
  const delivered: MessageJson[] = [];
  await client.subscribeInbox(recipient, (update: MailboxUpdateJson) => delivered.push(...update.messages), {
    fromBlock,
  });
  return { client, delivered };
}

/** A block after `parent` that no authority of the set signed: a fork made up by a lying member. */
function forgedBlock(parent: { number: number; hash: Hex }) {
  const number = parent.number + 1;
  const header = u8aConcat(
    fromHex(parent.hash),
    encodeCompact(number),
    new Uint8Array(32).fill(9),
    new Uint8Array(32),
    encodeCompact(0),
  );
  const hash = blake2AsHex(header, 256) as Hex;
  const target = { hash, number };
  const justification = signJustification({
    round: BigInt(number),
    setId: 0n,
    target,
    votes: grandpaKeys(999, AUTHORITIES).map((key) => ({ key, target })),
  });
  const finality = u8aToHex(
    u8aConcat(fromHex(hash), encodeCompact(justification.length), justification, encodeCompact(0)),
  );
  return { block: target, header: toHex(header), finality, recipients: [] };
}

describe('mesh-only: a sidecar with no relay node', { timeout: 180_000 }, () => {
  let devnet: Devnet;
  const full: Sidecar[] = [];
  let meshOnly: MeshOnlySidecar;
  const keys = { a: keyOf('a'), b: keyOf('b'), m: keyOf('m'), forger: keyOf('forger') };
  const ports = { a: 0, b: 0, m: 0 };

  before(async () => {
    devnet = await startDevnet({
      blockTimeMs: 0,
      retainBlocks: 1000,
      initialBlocks: 2,
      grandpaAuthorities: AUTHORITIES,
      grandpaSetEvery: 30,
    });
    ports.a = await freePort();
    ports.b = await freePort();
    ports.m = await freePort();
    const url = (port: number) => `ws://127.0.0.1:${port}`;
    const member = (key: MeshKey, port: number) => ({ key: key.publicKey, url: url(port) });
    const forger = { key: keys.forger.publicKey, url: 'ws://127.0.0.1:9' };
    for (const [key, port, others] of [
      [keys.a, ports.a, [member(keys.b, ports.b), member(keys.m, ports.m), forger]],
      [keys.b, ports.b, [member(keys.a, ports.a), member(keys.m, ports.m), forger]],
    ] as const)
      full.push(
        await startSidecar({
          nodeUrl: devnet.url,
          dbPath: ':memory:',
          host: '127.0.0.1',
          port,
          logger: silentLogger(),
          startAt: 1,
          mesh: { key, peers: others, fullRetention: 1000 },
        }),
      );
    await devnet.newBlocks(10);
    for (const s of full) await storedUpTo(s.store, devnet.chain.finalized.number);
    meshOnly = await startMeshOnly({
      dbPath: ':memory:',
      host: '127.0.0.1',
      port: ports.m,
      logger: silentLogger(),
      mesh: {
        key: keys.m,
        peers: [member(keys.a, ports.a), member(keys.b, ports.b), forger],
        fullRetention: 1000,
      },
      checkpoint: {
        setId: 0n,
        authorities: grandpaKeys(0, AUTHORITIES).map((k) => u8aToHex(k.publicKey) as Hex),
        block: { number: 0, hash: devnet.chain.blockAt(0)!.hash },
      },
    });
    await storedUpTo(meshOnly.store, devnet.chain.finalized.number, 30_000);
  });

  after(async () => {
    await meshOnly?.close();
    for (const s of full) await s.close();
    await devnet?.close();
  });

  it("serves the same inbox updates as a sidecar with a node, through the node's restart and 3 set changes", async () => {
    const from = devnet.chain.finalized.number + 1;
    const recipients = devnet.config.paras.slice(0, 2);
    const pairs = await Promise.all(
      recipients.map(
        async (r) =>
          [await consume(full[0]!.server.url, r, from), await consume(meshOnly.server.url, r, from)] as const,
      ),
    );
    try {
      await devnet.newBlocks(40);
      devnet.dropConnections(); // the node restarts: the members reconnect; the mesh-only member only sees the pushes pause
      await devnet.newBlocks(60);
      const end = devnet.chain.finalized.number;
      for (const s of full) await storedUpTo(s.store, end, 60_000);
      await storedUpTo(meshOnly.store, end, 60_000);
      for (const [i, [withNode, withoutNode]] of pairs.entries()) {
        await eventually(
          () => withoutNode.delivered.length === withNode.delivered.length && withNode.delivered.length > 0,
          {
            what: `the same count of messages to ${recipients[i]} (${withNode.delivered.length} / ${withoutNode.delivered.length})`,
            timeoutMs: 30_000,
          },
        );
        const shown = ({ verified: _v, reason: _r, ...m }: MessageJson) => m;
        assert.deepEqual(
          withoutNode.delivered.map(shown),
          withNode.delivered.map(shown),
          `recipient ${recipients[i]}`,
        );
        assert.ok(withNode.delivered.every((m) => m.sentAt >= from));
      }
      const status = await XcmpClient.connect(meshOnly.server.url, { reconnectMs: 0 });
      try {
        const s = await status.call<StatusJson>('xcmp_status', []);
        assert.equal(s.mesh!.meshOnly, true);
        assert.equal(s.synced, end);
        // Its channels as proven: the same heads as the node's, and each channel's last message kept.
        const heads = (channels: ChannelJson[]) =>
          channels.map((c) => `${c.sender}>${c.recipient} ${c.mqcHead}`).sort();
        const withNode = await full[0]!.store.channels();
        const mine = await status.call<ChannelJson[]>('xcmp_getChannels', []);
        assert.deepEqual(
          heads(mine),
          heads(withNode.map((c) => ({ ...c, mqcHead: c.mqcHead }) as unknown as ChannelJson)),
        );
        assert.ok(
          mine.filter((c) => c.lastSentAt !== null).length >= mine.length / 2,
          'last sent blocks kept',
        );
        assert.ok(s.mesh!.feed!.accepted >= 100, `${s.mesh!.feed!.accepted} blocks taken`);
        const health = await (await fetch(`${meshOnly.server.httpUrl}/health`)).json();
        assert.equal((health as { role: string }).role, 'mesh-only');
        await assert.rejects(status.call('chain_getBlockHash', [1]), /no relay node \(--mesh-only\)/);
        if (!browserMissing()) {
          const headless = await launchBrowser();
          try {
            const page = await headless.browser.newPage();
            await page.goto(`${meshOnly.server.httpUrl}/`);
            await page
              .locator('#mesh-summary', {
                hasText: /no relay node \(mesh-only\): [\d,]+ blocks taken from the members/,
              })
              .waitFor();
          } finally {
            await headless.close();
          }
        }
        const pushed = full[0]!.mesh!.status().pushed;
        const toMeshOnly = pushed[keys.m.publicKey]!;
        assert.ok(toMeshOnly.blocks > 0);
        console.log(
          `mesh push to the mesh-only member: ${toMeshOnly.blocks} blocks, ${(toMeshOnly.bytes / toMeshOnly.blocks).toFixed(0)} B per block (JSON)`,
        );
      } finally {
        await status.close();
      }
    } finally {
      for (const [a, b] of pairs) {
        await a.client.close();
        await b.client.close();
      }
    }
  });

  it('refuses a forged fork from a member every time; nothing of it is stored', async () => {
    const client = await XcmpClient.connect(meshOnly.server.url, { reconnectMs: 0 });
    try {
      const before = (await client.call<StatusJson>('xcmp_status', [])).mesh!;
      const cursor = (await meshOnly.store.cursor())!;
      const forged = forgedBlock(cursor);
      const answer = await client.call<{ accepted: boolean; reason?: string }>('xcmp_meshPush', [
        { ...forged, ...signRequest(keys.forger, 'xcmp_meshPush', forged) },
      ]);
      assert.equal(answer.accepted, false);
      assert.match(answer.reason ?? '', /not proven final|not in authority set/);
      const copy = {
        ...forgedBlock({
          number: cursor.number - 1,
          hash: (await meshOnly.store.blockHash(cursor.number - 1))!,
        }),
      };
      const again = await client.call<{ accepted: boolean; reason?: string }>('xcmp_meshPush', [
        { ...copy, ...signRequest(keys.forger, 'xcmp_meshPush', copy) },
      ]);
      assert.match(again.reason ?? '', /differs from the stored/);
      await assert.rejects(
        client.call('xcmp_meshPush', [
          { ...forged, ...signRequest(keyOf('stranger'), 'xcmp_meshPush', forged) },
        ]),
        /Not a mesh member/,
      );
      const after = (await client.call<StatusJson>('xcmp_status', [])).mesh!;
      assert.equal(after.refusedBlocks, before.refusedBlocks + 2);
      assert.equal(
        await meshOnly.store.blockHash(cursor.number + 1).then((h) => h === forged.block.hash),
        false,
      );
      await devnet.newBlocks(3);
      await storedUpTo(meshOnly.store, devnet.chain.finalized.number, 30_000);
      assert.equal(
        await meshOnly.store.blockHash(cursor.number + 1),
        devnet.chain.blockAt(cursor.number + 1)!.hash,
      );
    } finally {
      await client.close();
    }
  });

  it('a pushed block is taken only as proven: altered, dropped or moved messages and missing recipients are refused', async () => {
    const client = await XcmpClient.connect(full[0]!.server.url, { reconnectMs: 0 });
    try {
      // A block with messages, and the one before it (its heads are the base).
      let at = devnet.chain.finalized.number - 1;
      let blocks: PushedBlock[] = [];
      for (; at > 2; at--) {
        const asked = { fromBlock: at - 1, limit: 2 };
        blocks = (
          await client.call<{ blocks: PushedBlock[] }>('xcmp_meshBlocks', [
            { ...asked, ...signRequest(keys.m, 'xcmp_meshBlocks', asked) },
          ])
        ).blocks;
        if (blocks[1]!.recipients.some((r) => r.messages.length >= 2)) break;
      }
      const [previous, block] = blocks as [PushedBlock, PushedBlock];
      const base = (await acceptPushedBlock(previous, previous.block.hash, null)).heads;
      const honest = await acceptPushedBlock(block, block.block.hash, base);
      assert.ok(honest.messages.length >= 2);
      const slice = block.recipients.findIndex((r) => r.messages.length >= 2);
      const withMessages = (change: (messages: PushedMessage[]) => PushedMessage[]): PushedBlock => ({
        ...block,
        recipients: block.recipients.map((r, i) =>
          i === slice ? { ...r, messages: change([...r.messages]) } : r,
        ),
      });
      const cases: [string, PushedBlock, RegExp][] = [
        [
          'a data byte flipped',
          withMessages((m) => [
            { ...m[0]!, data: `${m[0]!.data.slice(0, -2)}${m[0]!.data.endsWith('00') ? '01' : '00'}` as Hex },
            ...m.slice(1),
          ]),
          /head/,
        ],
        ['a message dropped', withMessages((m) => m.slice(1)), /head/],
        ['two swapped', withMessages((m) => [m[1]!, m[0]!, ...m.slice(2)]), /head|order/],
        [
          'a recipient left out',
          { ...block, recipients: block.recipients.filter((_, i) => i !== slice) },
          /missing/,
        ],
        [
          'a proof node dropped',
          {
            ...block,
            recipients: block.recipients.map((r, i) => (i === slice ? { ...r, nodes: r.nodes.slice(1) } : r)),
          },
          /prove|proof/,
        ],
      ];
      for (const [what, pushed, reason] of cases)
        await assert.rejects(acceptPushedBlock(pushed, block.block.hash, base), reason, what);
      await assert.rejects(
        acceptPushedBlock(block, previous.block.hash, base),
        /trusted block hash/,
        'another hash',
      );
    } finally {
      await client.close();
    }
  });

  it('xcmp-sidecar --mesh-only: the real process takes the blocks from the members and serves them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcmp-mesh-only-'));
    // The forger's key is a member's: this process pulls with it (nothing is pushed to it).
    writeFileSync(join(dir, 'key.json'), JSON.stringify({ seed: toHex(seedOf('forger')) }));
    writeFileSync(
      join(dir, 'checkpoint.json'),
      JSON.stringify({
        setId: 0,
        authorities: grandpaKeys(0, AUTHORITIES).map((k) => u8aToHex(k.publicKey)),
        block: { number: 0, hash: devnet.chain.blockAt(0)!.hash },
      }),
    );
    const port = await freePort();
    const cli = spawnCli([
      '--mesh-only',
      '--mesh-key',
      join(dir, 'key.json'),
      '--mesh',
      `${keys.a.publicKey}@ws://127.0.0.1:${ports.a},${keys.b.publicKey}@ws://127.0.0.1:${ports.b}`,
      '--mesh-checkpoint',
      join(dir, 'checkpoint.json'),
      '--port',
      String(port),
      '--db',
      join(dir, 'xcmp.sqlite'),
      '--log',
      'warn',
    ]);
    try {
      await cli.until(/mesh-only sidecar/);
      await devnet.newBlocks(3);
      const head = devnet.chain.finalized.number;
      const client = await XcmpClient.connect(`ws://127.0.0.1:${port}`, { reconnectMs: 0 });
      try {
        await eventually(async () => (await client.call<StatusJson>('xcmp_status', [])).synced === head, {
          what: `the mesh-only process at #${head}`,
          timeoutMs: 30_000,
        });
        const status = await client.call<StatusJson>('xcmp_status', []);
        assert.equal(status.mesh!.meshOnly, true);
        assert.equal(status.node.connected, true, 'linked to a member');
      } finally {
        await client.close();
      }
    } finally {
      await cli.stop();
    }
  });
});
