/**
 * Trust nothing but a checkpoint: devnet finalizing with GRANDPA (set changes every 50 blocks) →
 * sidecar carrying each header's finality proof → XcmpClient with `verify: { grandpa }` holding
 * only the genesis set. Honest: every message of 200+ blocks once, in order, across 4 set
 * changes. Through a middleman forging headers, justifications and set changes (a fork signed by
 * keys outside the set): every forged update caught, nothing forged delivered, gaps filled.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import type { GrandpaChangesJson, MailboxJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/index.ts';
import type { GrandpaCheckpoint } from '../../src/derive/grandpa.ts';
import { decodeFinalityProof, GrandpaLedger } from '../../src/derive/grandpa-ledger.ts';
import { grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import {
  encodeCompact,
  fromHex,
  type Hex,
  readCompactNumber,
  toHex,
  u32le,
  u64le,
} from '../../src/protocol/bytes.ts';
import { printedUpdates, runCliAsync, spawnCli } from '../helpers/cli.ts';
import { startRewritingLayer } from '../helpers/lying-layer.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { consume, storedInbox, withoutVerdict } from '../helpers/verifying-consumer.ts';
import { eventually } from '../helpers/wait.ts';

const AUTHORITIES = 7;
const SET_EVERY = 50;
/** Keys of no set of this devnet: what a forger signs with. */
const OUTSIDERS = grandpaKeys(999, AUTHORITIES);

/** A header with one parentHash byte flipped: a block of a fork at the same height, with the same state. */
function forkHeader(header: Hex): Hex {
  const bytes = fromHex(header);
  bytes[5]! ^= 0x01;
  return toHex(bytes);
}

/** A FinalityProof for `block`, its justification signed by `keys` in `setId`. */
function forgedFinality(block: { number: number; hash: Hex }, setId: bigint, keys = OUTSIDERS): Hex {
  const justification = signJustification({
    round: BigInt(block.number),
    setId,
    target: block,
    votes: keys.map((key) => ({ key, target: block })),
  });
  return u8aToHex(
    u8aConcat(fromHex(block.hash), encodeCompact(justification.length), justification, encodeCompact(0)),
  );
}

/** A set change to OUTSIDERS announced and enacted by a forged block after `after`, signed by OUTSIDERS. */
function forgedChange(after: number): GrandpaChangesJson['changes'][number] {
  const log = u8aConcat(
    Uint8Array.of(1), // ScheduledChange
    encodeCompact(OUTSIDERS.length),
    ...OUTSIDERS.map((key) => u8aConcat(key.publicKey, u64le(1n))),
    u32le(0), // delay
  );
  const item = u8aConcat(Uint8Array.of(4), fromHex('0x46524e4b'), encodeCompact(log.length), log);
  const number = after + 1;
  const header = u8aConcat(
    new Uint8Array(32).fill(7),
    encodeCompact(number),
    new Uint8Array(64),
    encodeCompact(1),
    item,
  );
  const hash = blake2AsHex(header, 256) as Hex;
  const justification = signJustification({
    round: BigInt(number),
    setId: 0n,
    target: { hash, number },
    votes: OUTSIDERS.map((key) => ({ key, target: { hash, number } })),
  });
  return { block: { number, hash }, headers: [toHex(header)], justification: toHex(justification) };
}

/** Flips a byte of the first precommit's signature in a FinalityProof. */
function flipSignature(finality: Hex): Hex {
  const bytes = fromHex(finality);
  const [, start] = readCompactNumber(bytes, 32); // the justification's length
  const [, precommits] = readCompactNumber(bytes, start + 44); // round, target hash and number, then the count
  bytes[precommits + 36 + 10]! ^= 0x01;
  return toHex(bytes);
}

const LIES = ['fork signed by outsiders', 'honest header, outsiders sign', 'flipped signature'] as const;
type Lie = (typeof LIES)[number];

describe('GRANDPA: a client that trusts only a checkpoint', () => {
  let stack: Stack;
  let checkpoint: GrandpaCheckpoint;
  before(async () => {
    stack = await startStack({
      initialBlocks: 4,
      grandpaAuthorities: AUTHORITIES,
      grandpaSetEvery: SET_EVERY,
    });
    await advance(stack, 1);
    const genesis = stack.devnet.chain.blockAt(0)!;
    checkpoint = {
      setId: 0n,
      authorities: grandpaKeys(0, AUTHORITIES).map((k) => u8aToHex(k.publicKey) as Hex),
      block: { number: 0, hash: genesis.hash },
    };
  });
  after(async () => {
    await stack?.close();
  });

  it('follows 4 set changes over 200+ blocks, honest and through a forging middleman', async () => {
    let next = 0;
    const tampered: { block: number; lie: Lie }[] = [];
    /** Requests for set changes in flight through the middleman: their `after`. */
    const changesAfter = new Map<number | string, number>();
    let lying = false;
    let honestChanges = 0;
    let forgedChanges = 0;
    const layer = await startRewritingLayer(
      stack.sidecar.server.url,
      (frame) => {
        const after = frame.id === undefined ? undefined : changesAfter.get(frame.id);
        if (after !== undefined) {
          changesAfter.delete(frame.id!);
          const answer = frame.result as GrandpaChangesJson | undefined;
          if (!answer) return;
          if (lying) {
            frame.result = { changes: [forgedChange(after)], complete: true };
            forgedChanges++;
          } else honestChanges += answer.changes.length;
          return;
        }
        const update = frame.method === 'xcmp_inbox' ? frame.params?.result : undefined;
        if (!lying || !update?.proof?.finality) return;
        const lie = LIES[next++ % LIES.length]!;
        const proof = update.proof;
        if (lie === 'fork signed by outsiders') {
          const header = forkHeader(proof.header as Hex);
          const block = { number: update.block.number, hash: blake2AsHex(fromHex(header), 256) as Hex };
          update.block = block;
          update.proof = { ...proof, block, header, finality: forgedFinality(block, 0n) };
        } else if (lie === 'honest header, outsiders sign') {
          proof.finality = forgedFinality(update.block as { number: number; hash: Hex }, 0n);
        } else proof.finality = flipSignature(proof.finality as Hex);
        tampered.push({ block: update.block.number, lie });
      },
      (frame) => {
        const options = frame.params?.[0] as { after?: number } | undefined;
        if (
          frame.method === 'xcmp_getGrandpaChanges' &&
          frame.id !== undefined &&
          options?.after !== undefined
        )
          changesAfter.set(frame.id, options.after);
      },
    );
    const direct = await consume(stack.sidecar.server.url, { grandpa: checkpoint }, 2000);
    const through = await consume(layer.url, { grandpa: checkpoint }, 2001);
    const starts = [direct.lastSeen()!, through.lastSeen()!];
    try {
      await advance(stack, 60); // the first change: set 1 from #51
      const honestEnd = (await stack.sidecar.store.cursor())!.number;
      await eventually(() => through.lastSeen()! >= honestEnd, { what: `proven up to #${honestEnd}` });
      lying = true; // over the second change (set 2 from #101): every update and set change forged
      await advance(stack, 60);
      const lyingEnd = (await stack.sidecar.store.cursor())!.number;
      await eventually(() => through.rejected.some((e) => e.block >= lyingEnd), {
        what: `forgeries up to #${lyingEnd} seen by the client`,
      });
      lying = false;
      await advance(stack, 90);
      const end = (await stack.sidecar.store.cursor())!.number;
      assert.ok(end >= 200, `#${end}`);
      await eventually(() => direct.lastSeen()! >= end && through.lastSeen()! >= end, {
        timeoutMs: 60_000,
        what: `both proven up to #${end} (${direct.lastSeen()}, ${through.lastSeen()})`,
      });
      assert.deepEqual(direct.rejected.map(String), [], 'honest: no rejection');
      const missed = tampered.filter((t) => !through.rejected.some((e) => e.block === t.block));
      assert.deepEqual(missed, [], `caught ${tampered.length - missed.length} of ${tampered.length}`);
      assert.ok(tampered.length >= 20, `${tampered.length} forged updates`);
      assert.equal(new Set(tampered.map((t) => t.lie)).size, LIES.length, 'every lie told');
      assert.ok(forgedChanges > 0, 'set changes forged');
      assert.ok(
        through.rejected.some((e) => /set change failed/.test(e.reason)),
        'the forged set change was refused',
      );
      for (const [i, consumer] of [direct, through].entries()) {
        const expected = await storedInbox(stack, consumer.recipient, starts[i]!, consumer.lastSeen()!);
        assert.ok(expected.length >= 100, `${expected.length} messages to ${consumer.recipient}`);
        assert.deepEqual(
          consumer.delivered.map(withoutVerdict),
          expected.map(withoutVerdict),
          `recipient ${consumer.recipient}`,
        );
      }
      assert.ok(honestChanges >= 3, `${honestChanges} set changes taken through the middleman`);
      console.log(
        `grandpa client: #${starts[0]}..#${end}, ${direct.delivered.length + through.delivered.length} messages delivered; ${tampered.length} forged updates and ${forgedChanges} forged set-change answers, ${through.rejected.length} rejections; ${honestChanges} set changes taken through the middleman`,
      );
    } finally {
      await direct.client.close();
      await through.client.close();
      await layer.close();
    }
  });

  it('xcmp_getGrandpaChanges lists each change with its proof; finalityProof is checked and carried', async () => {
    const client = await XcmpClient.connect(stack.sidecar.server.url, { reconnectMs: 0 });
    try {
      const all = await client.call<GrandpaChangesJson>('xcmp_getGrandpaChanges', [{ after: 0 }]);
      assert.deepEqual(
        all.changes.map((c) => c.block.number),
        [50, 100, 150, 200],
      );
      assert.equal(all.complete, true);
      const paged = await client.call<GrandpaChangesJson>('xcmp_getGrandpaChanges', [
        { after: 20, limit: 2 },
      ]);
      assert.deepEqual(
        paged.changes.map((c) => c.block.number),
        [50, 100],
      );
      assert.equal(paged.complete, false);
      const ledger = new GrandpaLedger(checkpoint);
      for (const change of all.changes) ledger.applyChange(change as { headers: Hex[]; justification: Hex });
      assert.equal(ledger.latest.setId, 4n);
      const inbox = await client.call<MailboxJson>('xcmp_getInbox', [
        2000,
        { fromBlock: 120, toBlock: 130, proof: true, finalityProof: true },
      ]);
      const proof = inbox.proof!;
      assert.equal(ledger.proveFinal(130, proof.block.hash as Hex, proof.finality as Hex), proof.block.hash);
      // #130 is in a set that has ended (set 2, to #150): the proof is #150's justification and the headers (130; 150].
      const decoded = decodeFinalityProof(fromHex(proof.finality as Hex));
      assert.equal(decoded.unknownHeaders.length, 20);
      assert.equal(
        decoded.block,
        await stack.sidecar.store.blockHash(150),
        'block: the justified one, as polkadot-sdk has it',
      );
      await assert.rejects(
        client.call('xcmp_getInbox', [2000, { finalityProof: true }]),
        /finalityProof needs proof: true/,
      );
      await assert.rejects(
        client.subscribeInbox(2000, () => {}, { finalityProof: true }),
        /finalityProof needs proof: true/,
      );
      await assert.rejects(
        client.call('xcmp_getGrandpaChanges', [{ after: 0, limit: 65 }]),
        /Invalid params/,
      );
    } finally {
      await client.close();
    }
  });

  it('subscribe --verify-grandpa: a checkpoint file proves every update; a chain name loads its spec; bad input exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcmp-grandpa-'));
    const file = join(dir, 'checkpoint.json');
    writeFileSync(file, JSON.stringify({ ...checkpoint, setId: Number(checkpoint.setId) }));
    const from = (await stack.sidecar.store.cursor())!.number - 30;
    const cli = spawnCli([
      'subscribe',
      '--url',
      stack.sidecar.server.url,
      '--recipient',
      '2000',
      '--from-block',
      String(from),
      '--verify-grandpa',
      file,
    ]);
    const polkadot = spawnCli([
      'subscribe',
      '--url',
      stack.sidecar.server.url,
      '--recipient',
      '2000',
      '--verify-grandpa',
      'polkadot',
    ]);
    try {
      await advance(stack, 3);
      const end = (await stack.sidecar.store.cursor())!.number;
      const lines = () => printedUpdates(cli);
      await eventually(() => lines().some((u) => u.block.number >= end - 1), {
        what: `stdout reaching #${end - 1}`,
      });
      assert.doesNotMatch(cli.stderr(), /rejected/);
      const delivered = lines().flatMap((u) => u.messages);
      const last = delivered.at(-1)!.sentAt;
      assert.deepEqual(
        delivered.map(withoutVerdict),
        (await storedInbox(stack, 2000, from - 1, last)).map(withoutVerdict),
      );
      // Polkadot's checkpoint (#26,629,221) is far above this devnet: nothing it is sent can be proven.
      await eventually(() => /before the sets this client holds/.test(polkadot.stderr()), {
        what: 'a rejection under the Polkadot checkpoint',
      });
      assert.equal(polkadot.stdout(), '');
    } finally {
      await cli.stop();
      await polkadot.stop();
    }
    writeFileSync(
      join(dir, 'bad.json'),
      JSON.stringify({ setId: 0, authorities: ['0x12'], block: { number: 0 } }),
    );
    for (const [args, pattern] of [
      [['--verify-grandpa', join(dir, 'bad.json')], /expected polkadot, kusama, westend/],
      [['--verify-grandpa', join(dir, 'missing.json')], /cannot read --verify-grandpa/],
      [
        ['--verify-grandpa', 'polkadot', '--verify-with', stack.devnet.url],
        /one of --verify-with or --verify-grandpa/,
      ],
      [['--verify-grandpa', 'polkadot', '--finality', 'best'], /needs --finality finalized/],
    ] as const) {
      const result = await runCliAsync([
        'subscribe',
        '--url',
        stack.sidecar.server.url,
        '--recipient',
        '2000',
        ...args,
      ]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, pattern);
    }
  });
});
