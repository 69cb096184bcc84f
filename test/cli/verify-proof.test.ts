/**
 * `verify-proof` on the real Kusama relay read proof (../shared/fixtures): every listed channel is
 * reproduced exactly; a tampered node, a key outside the proof or a wrong root prove nothing (exit 1);
 * malformed input exits 2.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { blake2AsHex } from '@polkadot/util-crypto';
import { ProofError, proveChannel, provenEntries } from '../../src/derive/proof.ts';
import { HRMP_CHANNELS_PREFIX } from '../../src/derive/storage.ts';
import type { Hex } from '../../src/protocol/bytes.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { fixturesDir, skipWithoutFixtures } from '../helpers/fixtures.ts';

interface ProofFixture {
  readonly stateRoot: Hex;
  readonly proof: Hex[];
  readonly channels: {
    sender: number;
    recipient: number;
    msgCount: number;
    totalSize: number;
    maxCapacity: number;
    mqcHead: Hex | null;
  }[];
}

const file = join(fixturesDir, 'kusama-relay-proof-15531771.json');
const load = (): ProofFixture => JSON.parse(readFileSync(file, 'utf8')) as ProofFixture;
const dir = mkdtempSync(join(tmpdir(), 'xcmp-proof-'));
const writeJson = (name: string, value: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};

describe('verify-proof on the real Kusama relay proof', { skip: skipWithoutFixtures }, () => {
  it('decodes 53 entries, 15 of them HrmpChannels, and reproduces every listed channel exactly', async () => {
    const fixture = load();
    const entries = await provenEntries(fixture.stateRoot, fixture.proof);
    assert.equal(entries.size, 53);
    assert.equal([...entries.keys()].filter((key) => key.startsWith(HRMP_CHANNELS_PREFIX)).length, 15);
    assert.equal(fixture.channels.length, 15);
    for (const expected of fixture.channels) {
      const proven = await proveChannel(
        fixture.stateRoot,
        fixture.proof,
        expected.sender,
        expected.recipient,
      );
      const { sender, recipient, msgCount, totalSize, maxCapacity, mqcHead } = proven;
      assert.deepEqual({ sender, recipient, msgCount, totalSize, maxCapacity, mqcHead }, expected);
    }
  });

  it('prints the channel as JSON and exits 0; accepts the state_getReadProof shape too', async () => {
    const fixture = load();
    const args = [
      'verify-proof',
      '--state-root',
      fixture.stateRoot,
      '--sender',
      '2085',
      '--recipient',
      '1000',
    ];
    for (const proof of [file, writeJson('rpc.json', { at: '0x00', proof: fixture.proof })]) {
      const result = await runCliAsync([...args, '--proof', proof]);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), {
        sender: 2085,
        recipient: 1000,
        maxCapacity: 1000,
        maxTotalSize: 102400,
        maxMessageSize: 102400,
        msgCount: 1,
        totalSize: 83,
        mqcHead: '0x46e863ba942cf49540125d34c8828ac98b665f7e76f2efa00fc2c9a9d76dc0e2',
      });
    }
  });

  it('a tampered root node, a key outside the proof or a wrong root prove nothing: exit 1, one line', async () => {
    const fixture = load();
    const rootIndex = fixture.proof.findIndex((node) => blake2AsHex(node, 256) === fixture.stateRoot);
    assert.ok(rootIndex >= 0, 'the root node is in the proof');
    const tampered = [...fixture.proof];
    const root = tampered[rootIndex]!;
    tampered[rootIndex] = `${root.slice(0, 10)}${root[10] === '0' ? '1' : '0'}${root.slice(11)}` as Hex;
    await assert.rejects(proveChannel(fixture.stateRoot, tampered, 2085, 1000), ProofError);
    const wrongRoot = `0x${'11'.repeat(32)}` as Hex;
    const cases: [string, string[]][] = [
      [
        'tampered node',
        [
          '--state-root',
          fixture.stateRoot,
          '--proof',
          writeJson('tampered.json', tampered),
          '--sender',
          '2085',
          '--recipient',
          '1000',
        ],
      ],
      [
        'key not in the proof',
        ['--state-root', fixture.stateRoot, '--proof', file, '--sender', '4242', '--recipient', '1000'],
      ],
      ['wrong root', ['--state-root', wrongRoot, '--proof', file, '--sender', '2085', '--recipient', '1000']],
    ];
    for (const [what, args] of cases) {
      const result = await runCliAsync(['verify-proof', ...args]);
      assert.equal(result.status, 1, `${what}: ${result.stderr}`);
      assert.equal(result.stdout, '', what);
      assert.equal(result.stderr.trim().split('\n').length, 1, what);
      assert.match(result.stderr, /^error: the proof (proves nothing|does not prove)/, what);
    }
  });
});

describe('verify-proof input checks', () => {
  const root = `0x${'ab'.repeat(32)}`;
  const good = writeJson('good.json', ['0x00']);
  for (const [what, args, message] of [
    [
      'a short state root',
      ['--state-root', '0x1234', '--proof', good, '--sender', '1', '--recipient', '2'],
      /--state-root must be a 32-byte 0x hash/,
    ],
    [
      'no proof',
      ['--state-root', root, '--sender', '1', '--recipient', '2'],
      /required option '--proof <file>'/,
    ],
    [
      'a proof that is not JSON',
      ['--state-root', root, '--proof', writeJson('bad.json', '[0x'), '--sender', '1', '--recipient', '2'],
      /is not JSON/,
    ],
    [
      'a node that is not hex',
      [
        '--state-root',
        root,
        '--proof',
        writeJson('nothex.json', ['0xzz']),
        '--sender',
        '1',
        '--recipient',
        '2',
      ],
      /node 0 is not 0x-prefixed hex/,
    ],
    [
      'a proof of the wrong shape',
      [
        '--state-root',
        root,
        '--proof',
        writeJson('shape.json', { nodes: [] }),
        '--sender',
        '1',
        '--recipient',
        '2',
      ],
      /expected a JSON array/,
    ],
    [
      'a sender that is not a para id',
      ['--state-root', root, '--proof', good, '--sender', '-1', '--recipient', '2'],
      /--sender must be a para id/,
    ],
  ] as const) {
    it(`exits 2 on ${what}, with one line`, async () => {
      const result = await runCliAsync(['verify-proof', ...args]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stderr.trim().split('\n').length, 1);
    });
  }
});
