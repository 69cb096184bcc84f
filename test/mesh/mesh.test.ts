/**
 * The availability mesh's erasure-coded history (issue 31): six sidecars of one devnet, each a
 * member with its own key, keep 50 blocks in full and the rest as their own chunks. Their aged
 * history is about 1/k of a full store's; with 4 of 6 stopped (k = 2) each survivor still serves
 * every aged message of every recipient, equal to a full sidecar's; a member whose chunks or
 * branches are altered on the way is skipped and counted every time, its data never served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxJson, MessageJson, StatusJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/index.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { silentLogger } from '../../src/log.ts';
import { type MeshKey, meshKeyFromSeed } from '../../src/mesh/members.ts';
import { blake2_256 } from '../../src/protocol/hash.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { type RewritingLayer, startRewritingLayer } from '../helpers/lying-layer.ts';
import { freePort } from '../helpers/ports.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const MEMBERS = 6;
const FULL_RETENTION = 50;
const BLOCKS = 300;

interface Member {
  readonly key: MeshKey;
  readonly port: number;
  sidecar: Sidecar | null;
}

const keyOf = (i: number) => meshKeyFromSeed(blake2_256(new TextEncoder().encode(`mesh test member ${i}`)));

/** Flips a byte of each chunk, then of each branch, then claims another index: one lie per answer in turn. */
function lieAboutChunks(layerLies: string[], state: { lying: boolean }) {
  let turn = 0;
  return (frame: { result?: unknown }) => {
    if (!state.lying) return;
    const answer = frame.result as
      | { chunks?: { chunk: string; branch: string[]; index: number }[] }
      | undefined;
    if (!answer?.chunks?.length) return;
    const lie = ['chunk', 'branch', 'index'][turn++ % 3]!;
    for (const c of answer.chunks) {
      if (lie === 'chunk')
        c.chunk = `${c.chunk.slice(0, 2)}${(Number.parseInt(c.chunk.slice(2, 4), 16) ^ 1).toString(16).padStart(2, '0')}${c.chunk.slice(4)}`;
      else if (lie === 'branch' && c.branch.length > 0) c.branch[0] = `0x${'11'.repeat(32)}`;
      else c.index = (c.index + 1) % MEMBERS;
    }
    layerLies.push(lie);
  };
}

describe('availability mesh: erasure-coded history among six sidecars', { timeout: 240_000 }, () => {
  let devnet: Devnet;
  let full: Sidecar;
  const members: Member[] = [];
  let liar: RewritingLayer;
  const lies: string[] = [];
  const liarState = { lying: true };

  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, retainBlocks: 1000, initialBlocks: 2 });
    for (let i = 0; i < MEMBERS; i++) members.push({ key: keyOf(i), port: await freePort(), sidecar: null });
    // Member 0 reaches member 1 through a layer that alters every chunk answer.
    liar = await startRewritingLayer(`ws://127.0.0.1:${members[1]!.port}`, lieAboutChunks(lies, liarState));
    const start = (options: Parameters<typeof startSidecar>[0]) => startSidecar(options);
    const base = {
      nodeUrl: devnet.url,
      dbPath: ':memory:',
      host: '127.0.0.1',
      logger: silentLogger(),
      startAt: 1,
    };
    full = await start({ ...base, port: 0 });
    for (const [i, member] of members.entries()) {
      const peers = members
        .filter((_, j) => j !== i)
        .map((peer) => ({
          key: peer.key.publicKey,
          url: i === 0 && peer === members[1] ? liar.url : `ws://127.0.0.1:${peer.port}`,
        }));
      member.sidecar = await start({
        ...base,
        port: member.port,
        mesh: { key: member.key, peers, fullRetention: FULL_RETENTION },
      });
    }
    for (let made = 0; made < BLOCKS; made += 50) {
      await devnet.newBlocks(50);
      const head = devnet.chain.finalized.number;
      await storedUpTo(full.store, head, 60_000);
      for (const m of members) await storedUpTo(m.sidecar!.store, head, 60_000);
    }
  });

  after(async () => {
    for (const m of members) await m.sidecar?.close();
    await full?.close();
    await liar?.close();
    await devnet?.close();
  });

  async function call<T>(url: string, method: string, params: unknown[]): Promise<T> {
    const client = await XcmpClient.connect(url, { reconnectMs: 0, timeoutMs: 60_000 });
    try {
      return await client.call<T>(method, params);
    } finally {
      await client.close();
    }
  }

  const inbox = (url: string, recipient: number, toBlock: number) =>
    call<MailboxJson>(url, 'xcmp_getInbox', [recipient, { fromBlock: 1, toBlock, limit: 10_000 }]).then(
      (answer) => answer.messages,
    );

  async function agedEnd(): Promise<number> {
    const statuses = await Promise.all(
      members.filter((m) => m.sidecar).map((m) => call<StatusJson>(m.sidecar!.server.url, 'xcmp_status', [])),
    );
    return Math.min(...statuses.map((s) => s.mesh!.agedUpTo));
  }

  it('ages everything past the full retention; each member keeps about 1/k of it', async () => {
    const head = devnet.chain.finalized.number;
    await eventually(async () => (await agedEnd()) >= head - FULL_RETENTION, {
      what: 'every member aged',
      timeoutMs: 30_000,
    });
    const status = await call<StatusJson>(members[2]!.sidecar!.server.url, 'xcmp_status', []);
    const mesh = status.mesh!;
    assert.equal(mesh.n, MEMBERS);
    assert.equal(mesh.k, 2);
    const { fullBytes, chunkBytes, rootBytes, headBytes, slices } = mesh.sizes;
    const kept = chunkBytes + rootBytes + headBytes;
    console.log(
      `mesh: ${slices} slices aged; in full ${fullBytes} B, this member keeps ${kept} B (chunks ${chunkBytes}, roots and branches ${rootBytes}, heads ${headBytes}): ${(kept / fullBytes).toFixed(3)} of full, chunks ${(chunkBytes / fullBytes).toFixed(3)}`,
    );
    assert.ok(slices > 100, `${slices} slices`);
    assert.ok(chunkBytes <= fullBytes / mesh.k, `chunks ${chunkBytes} of ${fullBytes}`);
    assert.ok(kept < fullBytes * 0.75, `kept ${kept} of ${fullBytes}`);
    // A peer asking for a channel's history is told it is held in full only after the aged blocks.
    const [sender, recipient] = devnet.config.channels[0]!;
    const history = await call<{ fromBlock: number }>(
      members[2]!.sidecar!.server.url,
      'xcmp_getChannelHistory',
      [sender, recipient, { fromBlock: 1 }],
    );
    assert.ok(
      history.fromBlock > 1 && history.fromBlock <= mesh.agedUpTo + 1,
      `history from #${history.fromBlock}, aged to #${mesh.agedUpTo}`,
    );
  });

  it('every member serves every aged message of every recipient as a full sidecar does', async () => {
    const end = await agedEnd();
    for (const recipient of devnet.config.paras) {
      const expected = await inbox(full.server.url, recipient, end);
      assert.ok(expected.length > 0, `messages to ${recipient}`);
      for (const m of members) {
        const served: MessageJson[] = await inbox(m.sidecar!.server.url, recipient, end);
        assert.deepEqual(served, expected, `member ${m.key.publicKey.slice(0, 10)}, recipient ${recipient}`);
      }
    }
  });

  it('a subscription from an aged block is caught up from the mesh by XcmpClient, then goes on live', async () => {
    const member = members[3]!.sidecar!;
    const recipient = devnet.config.paras[1]!;
    const raw = await XcmpClient.connect(member.server.url, { reconnectMs: 0 });
    const delivered: MessageJson[] = [];
    try {
      await assert.rejects(raw.call('xcmp_subscribeInbox', [recipient, { fromBlock: 1 }]), /mesh chunks/);
      await raw.subscribeInbox(recipient, (update) => delivered.push(...update.messages), { fromBlock: 1 });
      const end = (await member.store.cursor())!.number;
      const expected = await inbox(full.server.url, recipient, end);
      await eventually(() => delivered.length >= expected.length, {
        what: `${expected.length} messages caught up`,
      });
      assert.deepEqual(delivered.slice(0, expected.length), expected);
    } finally {
      await raw.close();
    }
  });

  it('a member whose chunks are altered is skipped and counted each time; its data is never served', async () => {
    const end = await agedEnd();
    const before = lies.length;
    const recipient = devnet.config.paras[0]!;
    for (let i = 0; i < 3; i++)
      assert.deepEqual(
        await inbox(members[0]!.sidecar!.server.url, recipient, end),
        await inbox(full.server.url, recipient, end),
      );
    assert.deepEqual([...new Set(lies.slice(before))].sort(), ['branch', 'chunk', 'index']);
    const status = await call<StatusJson>(members[0]!.sidecar!.server.url, 'xcmp_status', []);
    assert.ok(
      status.mesh!.badChunks >= lies.length,
      `${status.mesh!.badChunks} bad chunks counted for ${lies.length} lying answers`,
    );
    const metrics = await (await fetch(`${members[0]!.sidecar!.server.httpUrl}/metrics`)).text();
    assert.match(
      metrics,
      new RegExp(`xcmp_mesh_bad_chunks_total\\{member="${members[1]!.key.publicKey}"\\} [1-9]`),
    );
  });

  it('with 4 of 6 stopped (k = 2), each survivor still serves all of it; with 5 stopped it says what is missing', async () => {
    const end = await agedEnd();
    for (const m of members.slice(2)) {
      await m.sidecar!.close();
      m.sidecar = null;
    }
    liarState.lying = false; // member 0 reaches member 1 through the layer: honest from here
    for (const recipient of devnet.config.paras) {
      const expected = await inbox(full.server.url, recipient, end);
      for (const survivor of members.slice(0, 2))
        assert.deepEqual(
          await inbox(survivor.sidecar!.server.url, recipient, end),
          expected,
          `recipient ${recipient}`,
        );
    }
    await members[1]!.sidecar!.close();
    members[1]!.sidecar = null;
    await assert.rejects(
      inbox(members[0]!.sidecar!.server.url, devnet.config.paras[0]!, end),
      /unavailable: 1 of the 2 chunks/,
    );
  });
});
