/**
 * Para nodes as sources (issue 28): a node reached through a middleman that rewrites
 * `HrmpOutboundMessages` answers gets every altered block `contradicted` and none of the made-up
 * messages delivered or stored; bad `--para` values (unreachable, not a parachain, two nodes of one
 * para, not a ws URL, named twice) get a clear error and disturb nothing else.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { mainWith } from '../helpers/cli.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { type ParaMiddleman, paraMiddleman } from '../helpers/para-middleman.ts';
import { freePort } from '../helpers/ports.ts';
import { type TcpRelay, tcpRelay } from '../helpers/relay.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { sidecarOn } from '../helpers/sidecar.ts';
import { SpeculativeJournal } from '../helpers/speculative.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

/** Every update of `method` on the socket, in order. */
function collect(socket: RpcSocket, method: string): MailboxUpdateJson[] {
  const updates: MailboxUpdateJson[] = [];
  socket.socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { method?: string; params?: { result: MailboxUpdateJson } };
    if (frame.method === method) updates.push(frame.params!.result);
  });
  return updates;
}

/** Makes blocks one at a time, each once the sidecar read every para block so far; then 6 to settle. */
async function run(
  devnet: Devnet,
  sidecar: Sidecar,
  blocks: number,
  each: (block: number) => Promise<void> = async () => {},
): Promise<void> {
  for (let i = 0; i < blocks + 6; i++) {
    await each(i);
    await devnet.newBlocks(1);
    const chains = devnet.chain.collators!.chains;
    await eventually(
      () =>
        sidecar
          .paras!.status()
          .every((p) => p.state !== 'following' || p.best === chains.get(p.paraId!)!.best.number),
      { what: 'para nodes read' },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await storedUpTo(sidecar.store, devnet.chain.finalized.number);
}

describe('a para node behind a middleman that rewrites its outgoing messages', {
  skip: skipWithoutFixtures,
}, () => {
  let devnet: Devnet;
  let sidecar: Sidecar;
  let middleman: ParaMiddleman;
  let socket: RpcSocket;
  const journal = new SpeculativeJournal();
  let updates: MailboxUpdateJson[] = [];
  const liar = 2000;
  /** An XcmpClient whose connection is cut every 5 blocks, and what it delivered. */
  let relay: TcpRelay;
  let client: XcmpClient;
  const resumed: MailboxUpdateJson[] = [];
  /** The relay best head at each cut. */
  const cutAt: number[] = [];

  before(async () => {
    devnet = await startDevnet({
      blockTimeMs: 0,
      retainBlocks: 1000,
      initialBlocks: 3,
      finalityLag: 3,
      paraNodes: true,
    });
    middleman = await paraMiddleman(devnet.paraUrls.get(liar)!);
    middleman.lyingAboutHeads = true;
    const honest = [...devnet.paraUrls].filter(([para]) => para !== liar).map(([, url]) => url);
    sidecar = await sidecarOn(devnet.url, { paraNodes: [middleman.url, ...honest] });
    await eventually(() => sidecar.paras!.status().every((p) => p.state === 'following'), {
      what: 'followed',
    });
    socket = await rpcSocket(sidecar.server.url);
    updates = collect(socket, 'xcmp_inbox');
    for (const para of devnet.config.paras)
      await socket.call('xcmp_subscribeInbox', [para, { finality: 'speculative' }]);
    relay = await tcpRelay(Number(new URL(sidecar.server.url).port));
    client = await XcmpClient.connect(relay.url, { reconnectMs: 50 });
    await client.subscribeInbox(2001, (update) => resumed.push(update), { finality: 'speculative' });
    await run(devnet, sidecar, 30, async (block) => {
      if (block % 5 !== 4) return;
      cutAt.push(devnet.chain.best.number);
      await relay.cut();
      await devnet.newBlocks(1);
      await relay.restore();
    });
    for (const update of updates) journal.push(update);
  });
  after(async () => {
    socket?.close();
    await client?.close();
    await relay?.close();
    await sidecar?.close();
    await middleman?.close();
    await devnet?.close();
  });

  it('every altered block ends contradicted, and the made-up messages never arrive as messages', async () => {
    const openFrom = devnet.chain.best.number - 6;
    journal.check(openFrom);
    assert.deepEqual(journal.problems, []);
    // The newest may not be backed yet: open, not otherwise resolved.
    const seen = middleman.altered.filter((a) => {
      const block = journal.blocks.get(a.block);
      return block && (block.end !== null || block.announcedAt < openFrom);
    });
    assert.ok(seen.length >= 10, `${seen.length} altered blocks announced`);
    const notContradicted = seen.filter((a) => journal.blocks.get(a.block)!.end !== 'contradicted');
    assert.deepEqual(notContradicted, []);
    const madeUp = new Set(middleman.altered.map((a) => a.alteredHash));
    const delivered = updates.flatMap((u) => (u.type === 'messages' ? u.messages : []));
    assert.ok(delivered.length > 50, `${delivered.length} messages delivered`);
    assert.deepEqual(
      delivered.filter((m) => madeUp.has(m.hash)),
      [],
    );
    for (const para of devnet.config.paras)
      for (const m of await sidecar.store.inbox(para)) assert.ok(!madeUp.has(m.hash), `stored ${m.hash}`);
    console.log(
      `# ${seen.length} altered para blocks, all contradicted; ${delivered.length} messages delivered, none made up`,
    );
  });

  it('only the lying node is blamed: honest paras have no contradicted block', async () => {
    const contradictedSenders = new Set(
      updates
        .filter((u) => u.type === 'contradicted')
        .flatMap((u) => (u.speculative ?? []).map((m) => m.sender)),
    );
    assert.deepEqual([...contradictedSenders], [liar]);
    const status = await sidecar.status();
    for (const node of status.paraNodes)
      if (node.paraId === liar) assert.ok(node.contradictions >= 10, `${node.contradictions} contradictions`);
      else assert.equal(node.contradictions, 0, `para ${node.paraId}`);
  });

  it('a node lying about the MQC heads its blocks consumed is a delivery mismatch; honest nodes check out', async () => {
    assert.ok(middleman.heads.altered >= 10, `${middleman.heads.altered} LastHrmpMqcHeads answers altered`);
    const status = await sidecar.status();
    const report = status.paraNodes.map((n) => [n.paraId, n.deliveryChecks, n.deliveryMismatches]);
    for (const node of status.paraNodes) {
      assert.ok(node.deliveryChecks >= 5, `para ${node.paraId}: ${JSON.stringify(report)}`);
      // The lie (the last sender's head) shows wherever that sender sent something in the range checked.
      if (node.paraId === liar) assert.ok(node.deliveryMismatches >= 5, JSON.stringify(report));
      else assert.equal(node.deliveryMismatches, 0, JSON.stringify(report));
    }
    assert.match(
      await sidecar.metrics.registry.metrics(),
      new RegExp(`^xcmp_delivery_mismatches_total\\{para="${liar}"\\} [1-9]`, 'm'),
    );
    console.log(`# delivery checks (para, checked, mismatches): ${JSON.stringify(report)}`);
  });

  it('an XcmpClient cut off every 5 blocks tells each para block once and ends it at most once', () => {
    assert.ok(cutAt.length >= 5, `${cutAt.length} cuts`);
    const told = new Map<string, string[]>();
    for (const update of resumed) {
      if (!update.paraBlock) continue;
      const list = told.get(update.paraBlock.hash) ?? [];
      list.push(update.type);
      told.set(update.paraBlock.hash, list);
    }
    /** Para block → the relay head when it was announced, as a direct subscriber was told. */
    const direct = new Map(
      updates
        .filter((u) => u.type === 'speculative' && u.speculative!.some((m) => m.recipient === 2001))
        .map((u): [string, number] => [u.paraBlock!.hash, u.block.number]),
    );
    const twice = [...told].filter(
      ([, list]) => list.length > 2 || list.filter((t) => t === 'speculative').length > 1,
    );
    assert.deepEqual(twice, []);
    // A block announced before the direct subscriber subscribed reaches it only as it ends (contradicted, withdrawn).
    const directAny = new Set(
      updates
        .filter((u) => u.paraBlock && u.speculative!.some((m) => m.recipient === 2001))
        .map((u) => u.paraBlock!.hash),
    );
    const unknown = [...told.keys()].filter((hash) => !directAny.has(hash));
    assert.deepEqual(unknown, [], 'only what a direct subscriber was told');
    // Blocks announced and resolved while it was away are not told (docs/speculative.md); the rest are.
    const nearCut = (relay: number) => cutAt.some((cut) => relay >= cut - 1 && relay <= cut + 2);
    const due = [...direct].filter(([, relay]) => !nearCut(relay) && relay < devnet.chain.best.number - 2);
    const missed = due.filter(([hash]) => told.get(hash)?.[0] !== 'speculative');
    assert.deepEqual(missed, []);
    const toldSpeculative = [...told.values()].filter((list) => list[0] === 'speculative').length;
    console.log(
      `# ${cutAt.length} cuts: ${toldSpeculative} of ${direct.size} para blocks told to the resumed client, none twice; all ${due.length} announced away from a cut`,
    );
  });
});

describe('bad --para values', { skip: skipWithoutFixtures }, () => {
  let devnet: Devnet;
  let sidecar: Sidecar;
  let honestDuplicate: ParaMiddleman;
  let unreachable: string;
  let finalizedUpdates: MailboxUpdateJson[] = [];
  let speculativeUpdates: MailboxUpdateJson[] = [];
  /** Para 2001's outbox, speculative. */
  let outboxUpdates: MailboxUpdateJson[] = [];
  /** The relay best head once every subscription was made. */
  let subscribedAt = 0;
  let sockets: RpcSocket[] = [];

  before(async () => {
    devnet = await startDevnet({
      blockTimeMs: 0,
      retainBlocks: 1000,
      initialBlocks: 3,
      finalityLag: 2,
      paraNodes: true,
    });
    // The same para's node under another URL (an honest middleman): a second node of one para.
    honestDuplicate = await paraMiddleman(devnet.paraUrls.get(2000)!);
    honestDuplicate.lying = false;
    unreachable = `ws://127.0.0.1:${await freePort()}`;
    sidecar = await sidecarOn(devnet.url, {
      paraNodes: [
        unreachable,
        devnet.url,
        devnet.paraUrls.get(2000)!,
        honestDuplicate.url,
        devnet.paraUrls.get(2001)!,
      ],
    });
    await eventually(
      () =>
        sidecar.paras!.status().filter((p) => p.state === 'refused' || p.state === 'following').length === 4,
      { what: 'every reachable node identified' },
    );
    const [finalized, speculative] = [
      await rpcSocket(sidecar.server.url),
      await rpcSocket(sidecar.server.url),
    ];
    sockets = [finalized, speculative];
    finalizedUpdates = collect(finalized, 'xcmp_inbox');
    speculativeUpdates = collect(speculative, 'xcmp_inbox');
    outboxUpdates = collect(speculative, 'xcmp_outbox');
    for (const para of devnet.config.paras) {
      await finalized.call('xcmp_subscribeInbox', [para]);
      await speculative.call('xcmp_subscribeInbox', [para, { finality: 'speculative' }]);
    }
    await speculative.call('xcmp_subscribeOutbox', [2001, { finality: 'speculative' }]);
    subscribedAt = devnet.chain.best.number;
    await run(devnet, sidecar, 12);
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await sidecar?.close();
    await honestDuplicate?.close();
    await devnet?.close();
  });

  it('each bad node says why in xcmp_status; the good ones are followed', async () => {
    const status = await sidecar.status();
    const byUrl = new Map(status.paraNodes.map((p) => [p.url, p]));
    const down = byUrl.get(unreachable)!;
    assert.equal(down.state, 'connecting');
    assert.equal(down.connected, false);
    assert.match(down.lastError ?? '', /ECONNREFUSED|connect/i);
    const relay = byUrl.get(devnet.url)!;
    assert.equal(relay.state, 'refused');
    assert.match(relay.lastError ?? '', /not a parachain/);
    const twins = [byUrl.get(devnet.paraUrls.get(2000)!)!, byUrl.get(honestDuplicate.url)!];
    assert.deepEqual(twins.map((t) => t.state).sort(), ['following', 'refused']);
    assert.match(
      twins.find((t) => t.state === 'refused')!.lastError ?? '',
      /para 2000 is already followed through ws:/,
    );
    assert.equal(byUrl.get(devnet.paraUrls.get(2001)!)!.state, 'following');
    assert.match(await sidecar.metrics.registry.metrics(), /^xcmp_para_nodes_following 2$/m);
  });

  it('nothing else is disturbed: finalized subscribers get verified messages; speculative ones hear the good nodes', async () => {
    const messages = finalizedUpdates.flatMap((u) => (u.type === 'messages' ? u.messages : []));
    assert.ok(messages.length > 20, `${messages.length} finalized messages`);
    assert.ok(messages.every((m) => m.verified === true));
    const tiers = new Set(['speculative', 'withdrawn', 'contradicted', 'pending', 'dropped']);
    assert.deepEqual(
      finalizedUpdates.filter((u) => tiers.has(u.type)),
      [],
    );
    const senders = new Set(
      speculativeUpdates
        .filter((u) => u.type === 'speculative')
        .flatMap((u) => u.speculative!.map((m) => m.sender)),
    );
    assert.deepEqual([...senders].sort(), [2000, 2001]);
    const stored = await sidecar.store.inbox(2001);
    assert.ok(stored.length > 0);
    // An outbox subscriber hears its own para's blocks, every message of them, and no other para's.
    assert.ok(outboxUpdates.flatMap((u) => u.speculative ?? []).every((m) => m.sender === 2001));
    // Compared on blocks announced once every subscription was there (the node may still have been
    // read while the subscriptions were made one by one).
    const live = (u: MailboxUpdateJson) => u.type === 'speculative' && u.block.number > subscribedAt;
    const sent = outboxUpdates.filter(live).flatMap((u) => u.speculative!);
    assert.ok(sent.length > 10, `${sent.length} speculative messages in 2001's outbox`);
    const inInboxes = speculativeUpdates
      .filter(live)
      .flatMap((u) => u.speculative!)
      .filter((m) => m.sender === 2001);
    assert.deepEqual(
      new Set(sent.map((m) => `${m.recipient}:${m.hash}:${m.position}`)),
      new Set(inInboxes.map((m) => `${m.recipient}:${m.hash}:${m.position}`)),
    );
  });

  it('the CLI refuses --para values that are not ws URLs, or name one node twice (exit 2)', async () => {
    for (const [argv, message] of [
      [
        ['--para', 'http://127.0.0.1:9988'],
        /--para takes ws:\/\/ or wss:\/\/ URLs, got "http:\/\/127.0.0.1:9988"/,
      ],
      [['--para', 'ws://127.0.0.1:9988,ws://127.0.0.1:9988'], /--para names ws:\/\/127.0.0.1:9988 twice/],
      [
        ['--para', 'ws://127.0.0.1:9988', '--para', 'ws://127.0.0.1:9988'],
        /--para names ws:\/\/127.0.0.1:9988 twice/,
      ],
    ] as const) {
      const result = await mainWith([...argv, '--devnet-port', '0']);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
    // The same through XCMP_PARA and a config file's "para" list.
    const fromEnv = await mainWith(['--devnet-port', '0'], { XCMP_PARA: 'ws://127.0.0.1:9988,http://x' });
    assert.equal(fromEnv.code, 2, fromEnv.stderr);
    assert.match(fromEnv.stderr, /--para takes ws:\/\/ or wss:\/\/ URLs, got "http:\/\/x"/);
    const dir = mkdtempSync(join(tmpdir(), 'xcmp-para-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ para: ['ws://127.0.0.1:9988', 'ws://127.0.0.1:9988'] }));
    const fromFile = await mainWith(['--config', file, '--devnet-port', '0']);
    assert.equal(fromFile.code, 2, fromFile.stderr);
    assert.match(fromFile.stderr, /para.*ws:\/\/127\.0\.0\.1:9988 twice/);
    const writer = await mainWith([
      '--para',
      'ws://127.0.0.1:9988',
      '--role',
      'writer',
      '--db',
      'postgres://u:p@127.0.0.1:1/db',
      '--node',
      'ws://127.0.0.1:1',
    ]);
    assert.equal(writer.code, 2, writer.stderr);
    assert.match(writer.stderr, /--para works with --role all or api/);
  });
});
