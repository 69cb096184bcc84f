/**
 * Verified, not believed (issue 29): receiving para nodes reached through a middleman that lies —
 * about `MessageQueue.Processed.success` and `LastHrmpMqcHeads` in plain storage answers (para
 * 2001), or in its read proofs (para 2004) — never get a receiving stage marked verified: the lies
 * end as `deliveryMismatch` or `unverifiable` stages, counted and logged; honest paras' stages are
 * all verified.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import type { Journey } from '../../src/para/journey-book.ts';
import type { Sidecar } from '../../src/sidecar.ts';
import { skipWithoutFixtures } from '../helpers/fixtures.ts';
import { type ParaMiddleman, paraMiddleman } from '../helpers/para-middleman.ts';
import { sidecarOn } from '../helpers/sidecar.ts';
import { eventually, storedUpTo } from '../helpers/wait.ts';

const RECEIVING = ['delivered', 'executed', 'failed', 'overweight'];

describe('journeys through a lying para node', { skip: skipWithoutFixtures }, () => {
  let devnet: Devnet;
  let sidecar: Sidecar;
  let plainLiar: ParaMiddleman;
  let proofLiar: ParaMiddleman;
  const journeys = new Map<string, Journey>();

  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 3, finalityLag: 2, paraNodes: true });
    plainLiar = await paraMiddleman(devnet.paraUrls.get(2001)!);
    plainLiar.lying = false;
    plainLiar.lyingAboutVerdicts = true;
    plainLiar.lyingAboutHeads = true;
    proofLiar = await paraMiddleman(devnet.paraUrls.get(2004)!);
    proofLiar.lying = false;
    proofLiar.lyingInProofs = true;
    const honest = [1000, 2000].map((para) => devnet.paraUrls.get(para)!);
    sidecar = await sidecarOn(devnet.url, { paraNodes: [plainLiar.url, proofLiar.url, ...honest] });
    await eventually(() => sidecar.paras!.status().every((p) => p.state === 'following'), {
      what: 'followed',
    });
    sidecar.journeys!.on('update', ({ journey }) => journeys.set(journey.key, journey));
    for (let i = 0; i < 30; i++) {
      await devnet.newBlocks(1);
      await storedUpTo(sidecar.store, devnet.chain.finalized.number);
    }
    // Settle: every para block included in a finalized relay block is proven (or not) by now.
    await devnet.newBlocks(6);
    await storedUpTo(sidecar.store, devnet.chain.finalized.number);
  });
  after(async () => {
    await sidecar?.close();
    await plainLiar?.close();
    await proofLiar?.close();
    await devnet?.close();
  });

  /** Receiving stages of journeys to `para` in blocks its node finalized, with whether each was verified. */
  function stagesTo(para: number) {
    const chain = devnet.chain.collators!.chains.get(para)!;
    const final = (hash: string) => {
      const block = chain.block(hash);
      return (
        block !== undefined &&
        block.number <= chain.finalized.number - 1 &&
        chain.blockAt(block.number)?.hash === hash
      );
    };
    return [...journeys.values()]
      .filter((j) => j.recipient === para)
      .flatMap((j) => j.stages.map((stage) => ({ journey: j, stage })))
      .filter(({ stage }) => RECEIVING.includes(stage.stage) && final(stage.paraBlock!.hash));
  }

  it('honest paras: every receiving stage in a final block is verified', async () => {
    for (const para of [1000, 2000]) {
      await eventually(() => stagesTo(para).every(({ stage }) => stage.verified), {
        what: `para ${para}'s stages verified`,
      });
      assert.ok(stagesTo(para).length >= 50, `${stagesTo(para).length} stages to ${para}`);
    }
  });

  /** Waits until every receiving stage to `para` in a final block has been judged (verified or unverifiable). */
  const judged = (para: number) =>
    eventually(
      () =>
        stagesTo(para).every(
          ({ journey, stage }) =>
            stage.verified ||
            journey.stages.some(
              (s) =>
                s.stage === 'unverifiable' &&
                s.of === stage.stage &&
                s.paraBlock?.hash === stage.paraBlock!.hash,
            ),
        ),
      { what: `para ${para}'s stages judged` },
    );

  it('lies in plain answers: no stage verified, each verdict unverifiable, deliveries mismatched or unverifiable', async () => {
    await judged(2001);
    const stages = stagesTo(2001);
    assert.ok(
      plainLiar.verdicts.altered >= 10 && plainLiar.heads.altered >= 10,
      JSON.stringify([plainLiar.verdicts, plainLiar.heads]),
    );
    assert.deepEqual(
      stages.filter(({ stage }) => stage.verified),
      [],
    );
    const told = (j: Journey, of: string, hash: string, as: string) =>
      j.stages.some(
        (s) => s.stage === as && s.paraBlock?.hash === hash && (as === 'deliveryMismatch' || s.of === of),
      );
    const processed = stages.filter(({ stage }) => stage.event === 'Processed');
    assert.ok(processed.length >= 10, `${processed.length} Processed verdicts`);
    for (const { journey, stage } of processed)
      assert.ok(
        told(journey, stage.stage, stage.paraBlock!.hash, 'unverifiable'),
        `${journey.key}: ${journey.stages.map((s) => s.stage)}`,
      );
    // A delivery is a mismatch where the altered head is one of a sender it consumed from; either way it is not taken.
    const deliveries = stages.filter(({ stage }) => stage.stage === 'delivered');
    for (const { journey, stage } of deliveries)
      assert.ok(
        told(journey, 'delivered', stage.paraBlock!.hash, 'deliveryMismatch') ||
          told(journey, 'delivered', stage.paraBlock!.hash, 'unverifiable'),
        journey.key,
      );
    const mismatched = deliveries.filter(({ journey, stage }) =>
      told(journey, 'delivered', stage.paraBlock!.hash, 'deliveryMismatch'),
    );
    assert.ok(mismatched.length >= 5, `${mismatched.length} of ${deliveries.length} deliveries mismatched`);
    const counts = sidecar.paras!.status().find((p) => p.paraId === 2001)!;
    assert.ok(
      counts.journeys.unverifiable >= 10 && counts.journeys.deliveryMismatches >= 1,
      JSON.stringify(counts.journeys),
    );
  });

  it('lies in read proofs: no stage verified, each unverifiable', async () => {
    await judged(2004);
    const stages = stagesTo(2004);
    assert.ok(proofLiar.proofs.altered >= 5, `${proofLiar.proofs.altered} proofs altered`);
    assert.ok(stages.length >= 50, `${stages.length} stages`);
    assert.deepEqual(
      stages.filter(({ stage }) => stage.verified),
      [],
    );
    for (const { journey, stage } of stages)
      assert.ok(
        journey.stages.some(
          (s) =>
            s.stage === 'unverifiable' && s.of === stage.stage && s.paraBlock?.hash === stage.paraBlock!.hash,
        ),
        `${journey.key} ${stage.stage}`,
      );
  });
});
