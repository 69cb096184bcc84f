/**
 * The ledger a checkpoint-only client holds (derive/grandpa-ledger.ts): finality proofs with and
 * without unknown headers, set changes taken in only with their proof, and each way a proof or a
 * change can be wrong refused with its own reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { resolveCheckpoint } from '../../src/client/grandpa.ts';
import { FinalityError, type FinalityFailure, GrandpaLedger } from '../../src/derive/grandpa-ledger.ts';
import { DevnetGrandpa, grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import { encodeCompact, fromHex, type Hex, readCompactNumber, toHex } from '../../src/protocol/bytes.ts';

const AUTHORITIES = 4;
/** A change announced (delay 0) in every 5th block: set 1 finalizes #6 to #10. */
const grandpa = new DevnetGrandpa(AUTHORITIES, 5);

interface Block {
  readonly number: number;
  readonly hash: Hex;
  readonly bytes: Uint8Array;
}

function makeHeader(parent: Hex, number: number, logs: readonly Hex[] = []): Block {
  const bytes = u8aConcat(
    fromHex(parent),
    encodeCompact(number),
    new Uint8Array(32).fill(1),
    new Uint8Array(32).fill(2),
    encodeCompact(logs.length),
    ...logs.map((log) => fromHex(log)),
  );
  return { number, hash: blake2AsHex(bytes, 256) as Hex, bytes };
}

const chain: Block[] = [makeHeader(`0x${'00'.repeat(32)}` as Hex, 0)];
for (let n = 1; n <= 12; n++) {
  const log = grandpa.changeLog(n);
  chain.push(makeHeader(chain[n - 1]!.hash, n, log ? [log] : []));
}
const block = (n: number) => chain[n]!;

function finalityProof(of: number, justified: number, setId = grandpa.setIdAt(justified)): Hex {
  const justification = grandpa.justify(block(justified));
  const signed =
    setId === grandpa.setIdAt(justified)
      ? justification
      : signJustification({
          round: 1n,
          setId: BigInt(setId),
          target: block(justified),
          votes: grandpaKeys(setId, AUTHORITIES).map((key) => ({ key, target: block(justified) })),
        });
  const unknown = chain.slice(of + 1, justified + 1).map((b) => b.bytes);
  return u8aToHex(
    u8aConcat(
      fromHex(block(justified).hash),
      encodeCompact(signed.length),
      signed,
      encodeCompact(unknown.length),
      ...unknown,
    ),
  ) as Hex;
}

const change = (announcing: number, enacting = announcing) => ({
  headers: chain.slice(announcing, enacting + 1).map((b) => toHex(b.bytes)),
  justification: toHex(grandpa.justify(block(enacting))),
});

function ledger(): GrandpaLedger {
  return new GrandpaLedger({
    setId: 0n,
    authorities: grandpaKeys(0, AUTHORITIES).map((k) => u8aToHex(k.publicKey) as Hex),
    block: { number: 0, hash: block(0).hash },
  });
}

function failure(run: () => unknown): FinalityFailure | 'passed' {
  try {
    run();
    return 'passed';
  } catch (error) {
    assert.ok(error instanceof FinalityError, String(error));
    return error.reason;
  }
}

describe('GrandpaLedger', () => {
  it('proves blocks final by their own justification, or a later one with the headers between', () => {
    const l = ledger();
    assert.equal(l.proveFinal(3, block(3).hash, finalityProof(3, 3)), block(3).hash);
    assert.equal(l.proveFinal(2, block(2).hash, finalityProof(2, 5)), block(2).hash);
    assert.equal(l.proveFinal(0, block(0).hash, undefined), block(0).hash, 'the checkpoint itself');
  });

  it('refuses what does not prove the block: each with its reason', () => {
    const l = ledger();
    const proof = finalityProof(2, 5);
    const cut = fromHex(proof);
    assert.equal(
      failure(() => l.proveFinal(3, block(3).hash, undefined)),
      'noProof',
    );
    assert.equal(
      failure(() => l.proveFinal(3, block(4).hash, finalityProof(3, 3))),
      'wrongTarget',
    );
    assert.equal(
      failure(() => l.proveFinal(3, block(3).hash, '0x0102')),
      'malformed',
    );
    assert.equal(
      failure(() => l.proveFinal(0, block(1).hash, finalityProof(1, 1))),
      'beforeCheckpoint',
    );
    assert.equal(
      failure(() => l.proveFinal(3, block(3).hash, finalityProof(3, 3, 7))),
      'notAuthority',
    );
    const namesB = toHex(u8aConcat(fromHex(block(2).hash), cut.subarray(32)));
    assert.equal(
      failure(() => l.proveFinal(2, block(2).hash, namesB)),
      'wrongTarget',
      'block: not the justified one',
    );
    // Headers (2; 5] with #3 left out: #4 is not #2's child.
    const gap = u8aToHex(
      u8aConcat(
        cut.subarray(
          0,
          cut.length - block(3).bytes.length - block(4).bytes.length - block(5).bytes.length - 1,
        ),
        encodeCompact(2),
        block(4).bytes,
        block(5).bytes,
      ),
    ) as Hex;
    assert.equal(
      failure(() => l.proveFinal(2, block(2).hash, gap)),
      'brokenChain',
    );
  });

  it('a block of the next set asks for the change; the change, proven, lets it through', () => {
    const l = ledger();
    const proof = finalityProof(7, 7);
    try {
      l.proveFinal(7, block(7).hash, proof);
      assert.fail('proven under the wrong set');
    } catch (error) {
      assert.ok(error instanceof FinalityError && error.reason === 'notAuthority' && error.maybeNewSet);
    }
    l.applyChange(change(5));
    assert.deepEqual(l.latest.after, 5);
    assert.equal(l.latest.setId, 1n);
    assert.equal(l.proveFinal(7, block(7).hash, proof), block(7).hash);
    assert.equal(
      l.proveFinal(4, block(4).hash, finalityProof(4, 4)),
      block(4).hash,
      'older blocks: the set they had',
    );
    l.applyChange(change(10));
    assert.equal(l.proveFinal(12, block(12).hash, finalityProof(12, 12)), block(12).hash);
  });

  it('refuses a change that is not proven: each with its reason', () => {
    const l = ledger();
    assert.equal(
      failure(() => l.applyChange(change(4))),
      'notAChange',
      'no change announced there',
    );
    assert.equal(
      failure(() => l.applyChange(change(5, 6))),
      'notAChange',
      'enacted later than its delay says',
    );
    const byNewSet = { ...change(5), justification: toHex(grandpa.justify(block(7))) };
    assert.equal(
      failure(() => l.applyChange(byNewSet)),
      'wrongTarget',
    );
    const signedByOthers = {
      ...change(5),
      justification: toHex(
        signJustification({
          round: 5n,
          setId: 0n,
          target: block(5),
          votes: grandpaKeys(9, AUTHORITIES).map((key) => ({ key, target: block(5) })),
        }),
      ),
    };
    assert.equal(
      failure(() => l.applyChange(signedByOthers)),
      'notAuthority',
    );
    const forcedLog = fromHex(grandpa.changeLog(5)!);
    // Consensus item: kind 4, engine, compact length, then ConsensusLog::ForcedChange(median, ScheduledChange).
    const [, bodyAt] = readCompactNumber(forcedLog, 5);
    const [kind, engine, body] = [
      forcedLog.subarray(0, 1),
      forcedLog.subarray(1, 5),
      forcedLog.subarray(bodyAt),
    ];
    const forcedBody = u8aConcat(Uint8Array.of(2), new Uint8Array(4), body.subarray(1));
    const forced = makeHeader(block(4).hash, 5, [
      u8aToHex(u8aConcat(kind, engine, encodeCompact(forcedBody.length), forcedBody)) as Hex,
    ]);
    const forcedChange = {
      headers: [toHex(forced.bytes)],
      justification: toHex(grandpa.justify({ hash: forced.hash, number: 5 })),
    };
    assert.equal(
      failure(() => l.applyChange(forcedChange)),
      'forcedChange',
    );
    assert.equal(l.latest.setId, 0n, 'nothing taken in');
    l.applyChange(change(5));
    assert.equal(
      failure(() => l.applyChange(change(5))),
      'notAChange',
      'the same change twice',
    );
  });

  it('a client checkpoint comes by value, by chain name, or from a chain spec (text or parsed)', async () => {
    const { chainSpec } = (await import('@substrate/connect-known-chains/westend2')) as { chainSpec: string };
    const byName = await resolveCheckpoint('westend');
    assert.equal(byName.setId, 9431n);
    assert.equal(byName.authorities.length, 19);
    assert.deepEqual(await resolveCheckpoint({ chainSpec }), byName);
    assert.deepEqual(await resolveCheckpoint({ chainSpec: JSON.parse(chainSpec) as object }), byName);
    assert.equal(await resolveCheckpoint(byName), byName);
    assert.equal((await resolveCheckpoint('kusama')).setId, 11472n);
    await assert.rejects(resolveCheckpoint('rococo' as 'westend'), /unknown chain "rococo"/);
  });
});
