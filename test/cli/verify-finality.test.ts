/**
 * `xcmp-sidecar verify-finality` (issue 30): a justification signed by the threshold of its set
 * prints the verdict and exits 0; a forged one exits 1 with its reason; bad input exits 2 with one
 * line. Runs the real CLI.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { blake2AsU8a } from '@polkadot/util-crypto';
import { grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import { runCliAsync } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'xcmp-finality-'));
const write = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const keys = grandpaKeys(7, 10);
const header = u8aConcat(
  new Uint8Array(32).fill(9),
  Uint8Array.of(42 << 2),
  new Uint8Array(32).fill(1),
  new Uint8Array(32).fill(2),
  Uint8Array.of(0),
);
const target = { hash: u8aToHex(blake2AsU8a(header, 256)) as Hex, number: 42 };
const justification = (signers: number, setId = 5n) =>
  u8aToHex(
    signJustification({
      round: 77n,
      setId,
      target,
      votes: keys.slice(0, signers).map((key) => ({ key, target })),
    }),
  );
const authorities = write('authorities.json', JSON.stringify(keys.map((k) => u8aToHex(k.publicKey))));
// As GrandpaApi_grandpa_authorities gives them: [key, weight] pairs.
const weighted = write('weighted.json', JSON.stringify(keys.map((k) => [u8aToHex(k.publicKey), 1])));

describe('verify-finality', () => {
  it('a justification signed by 7 of 10 is valid: exit 0 and the verdict (also from a file, and for its header)', async () => {
    const file = write('justification.hex', justification(7));
    for (const args of [
      ['--justification', justification(7), '--set-id', '5', '--authorities', authorities],
      ['--justification', file, '--set-id', '5', '--authorities', weighted, '--header', u8aToHex(header)],
    ]) {
      const result = await runCliAsync(['verify-finality', ...args]);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        valid: true,
        target,
        round: '77',
        signers: 7,
        threshold: 7,
        authorities: 10,
      });
    }
  });

  it('forged or too weak: exit 1 with the reason', async () => {
    for (const [args, reason] of [
      [['--justification', justification(6)], 'tooFewSigners'],
      [['--justification', justification(7, 6n)], 'badSignature'],
      [
        [
          '--justification',
          justification(7),
          '--header',
          u8aToHex(header.map((b, i) => (i === 0 ? b ^ 1 : b))),
        ],
        'wrongTarget',
      ],
    ] as const) {
      const result = await runCliAsync([
        'verify-finality',
        '--set-id',
        '5',
        '--authorities',
        authorities,
        ...args,
      ]);
      assert.equal(result.status, 1, result.stderr);
      assert.equal(JSON.parse(result.stdout).reason, reason);
      assert.match(result.stderr, new RegExp(`not final under set 5: ${reason}`));
    }
  });

  it("takes the set from a chain spec's lightSyncState (the real Polkadot one): its set id unless --set-id is given", async () => {
    const { chainSpec } = (await import('@substrate/connect-known-chains/polkadot')) as { chainSpec: string };
    const spec = write('polkadot.json', chainSpec);
    const result = await runCliAsync([
      'verify-finality',
      '--justification',
      justification(7),
      '--authorities',
      spec,
    ]);
    assert.equal(result.status, 1, result.stderr);
    assert.equal(
      JSON.parse(result.stdout).reason,
      'notAuthority',
      'the devnet keys are not Polkadot authorities',
    );
    assert.match(result.stderr, /not final under set 2755: notAuthority/);
    const noState = write('no-state.json', JSON.stringify({ name: 'Polkadot', id: 'polkadot' }));
    const bad = await runCliAsync([
      'verify-finality',
      '--justification',
      justification(7),
      '--authorities',
      noState,
    ]);
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /neither a list of keys nor a chain spec with a lightSyncState/);
  });

  it('bad input: exit 2 with one line', async () => {
    const good = ['--justification', justification(7), '--set-id', '5', '--authorities', authorities];
    for (const [args, message] of [
      [good.slice(2), /required option '--justification'/],
      [[...good.slice(0, 2), '--set-id', '-1', '--authorities', authorities], /--set-id must be a u64/],
      [
        [...good.slice(0, 4), '--authorities', write('bad.json', '[1,2]')],
        /entry 0 is not a 32-byte hex key/,
      ],
      [[...good.slice(0, 4), '--authorities', write('not.json', 'nope')], /is not JSON/],
      [['--justification', '0x0102', ...good.slice(2)], /is not a GRANDPA justification/],
      [['--justification', 'zz', ...good.slice(2)], /must be 0x-prefixed hex or a file holding it/],
      [[...good, '--header', '0x00'], /--header is not a SCALE header/],
    ] as const) {
      const result = await runCliAsync(['verify-finality', ...args]);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });
});
