import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import substrateMetadata from '@polkadot/types-support/metadata/static-substrate';
import type { DecodeReport } from '../../src/cli/decode-report.ts';
import { runCli } from '../helpers/cli.ts';
import { fixturesDir, fixturesPresent, METADATA_FILE, skipWithoutFixtures } from '../helpers/fixtures.ts';

const block = (name: string) => join(fixturesDir, name, 'block.json');
const events = (name: string) => join(fixturesDir, name, 'events.hex');

/** `decode-block` on a fixture block, with the events of the same block unless another is named. */
const decodeArgs = (blockName: string, eventsOf = blockName): string[] => [
  'decode-block',
  '--metadata',
  METADATA_FILE,
  '--block',
  block(blockName),
  '--events',
  events(eventsOf),
];

function decodeJson(name: string): DecodeReport {
  const result = runCli([...decodeArgs(name), '--json']);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as DecodeReport;
}

describe('xcmp-sidecar decode-block', { skip: skipWithoutFixtures }, () => {
  it('--json on block 19772575 states every fact the chain computed', () => {
    const report = decodeJson('polkadot-19772575');
    assert.deepEqual(report.block, {
      number: 19772575,
      hash: '0xbbb99b1d43d6c1885e09806e4d8fd3beaa30a87046397e8dfc44ced45ed735a9',
      parentHash: '0x8d92867e603304b5e81bc85922f0368a80bbda15933cc4eb7d81a7fee2fb3ff1',
    });
    assert.deepEqual(report.paraInherent, { found: true, bitfields: 297, backedCandidates: 28, disputes: 0 });
    assert.equal(report.candidates.length, 28);
    assert.ok(report.candidates.every((c) => c.commitmentsVerified && c.descriptorVersion === 'v1'));
    assert.equal(report.events!.backed.length, 28);
    assert.equal(report.events!.included.length, 12);
    for (const candidate of report.candidates) {
      const event = report.events!.backed.find((e) => e.paraId === candidate.paraId)!;
      assert.equal(candidate.commitmentsHash, event.commitmentsHash);
    }
    const sender2006 = report.candidates.find((c) => c.paraId === 2006)!;
    assert.equal(
      sender2006.candidateHash,
      '0x89ffdc7a08f74ded04620567412ee72a1b45b8d51a76f3a4c18a96bc327b03a4',
    );
    assert.deepEqual(sender2006.horizontalMessages, [
      {
        recipient: 2034,
        size: 92,
        hash: '0x9c3f3d77db20651c3fa91ebd4de977c19bb605af7d001c8d97d154f921061d5d',
      },
    ]);
    assert.deepEqual(Object.keys(report.slices).sort(), ['2004', '2034']);
    const [toAcala] = report.slices['2034']!;
    assert.equal(toAcala!.sender, 2006);
    assert.equal(toAcala!.size, 92);
    assert.equal(toAcala!.hash, '0x9c3f3d77db20651c3fa91ebd4de977c19bb605af7d001c8d97d154f921061d5d');
    assert.equal(
      toAcala!.candidateHash,
      '0x89ffdc7a08f74ded04620567412ee72a1b45b8d51a76f3a4c18a96bc327b03a4',
    );
    assert.equal(toAcala!.format, 'concatenatedVersionedXcm');
    assert.ok(JSON.stringify(toAcala!.xcm).includes('"V3"'));
    const [to2004] = report.slices['2004']!;
    assert.deepEqual(
      [to2004!.sender, to2004!.size, to2004!.hash, to2004!.candidateHash],
      [
        2104,
        70,
        '0x7668e9c28b9a9b4373e131f296c48767094b2e66c0e9ec02f031b40402f706b8',
        '0x99a05fdfe52bd80cd721790c4f41900f2f559bfc8b83eb74b1ed0f7cbf277c5c',
      ],
    );
    for (const c of report.candidates.filter((c) => c.horizontalMessages.length > 0)) {
      assert.equal(c.hrmpWatermark, 19772574);
    }
  });

  it('--json on block 18468942: 32 verified candidates, 7 included, no horizontal messages', () => {
    const report = decodeJson('polkadot-18468942');
    assert.equal(report.block.hash, '0x1ffece02b91e52c4923827843774f705911905c0a66980f7037bed643b746d1d');
    assert.deepEqual(report.paraInherent, { found: true, bitfields: 297, backedCandidates: 32, disputes: 0 });
    assert.equal(report.candidates.filter((c) => c.commitmentsVerified).length, 32);
    assert.equal(report.events!.backed.length, 32);
    assert.equal(report.events!.included.length, 7);
    assert.deepEqual(report.slices, {});
    assert.deepEqual(
      report.candidates.filter((c) => c.upwardMessages > 0).map((c) => c.paraId),
      [2000, 2012],
    );
  });

  it('prints a readable table by default', () => {
    const result = runCli(decodeArgs('polkadot-19772575'));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /block #19772575 0xbbb99b1d/);
    assert.match(result.stdout, /297 bitfields, 28 backed candidates, 0 disputes/);
    assert.match(result.stdout, /commitments verified: 28\/28/);
    assert.match(result.stdout, /2006 → 2034 {2}92 bytes {2}0x9c3f3d77/);
    assert.doesNotMatch(result.stdout, /not this block's/);
  });

  it("the table shows each message's decoded XCM, instruction by instruction, as --json has it", () => {
    const args = decodeArgs('polkadot-19772575');
    const table = runCli(args).stdout.split('\n');
    const report = JSON.parse(runCli([...args, '--json']).stdout) as DecodeReport;
    const entries = Object.entries(report.slices).flatMap(([recipient, list]) =>
      list.map((entry) => ({ recipient, entry })),
    );
    assert.ok(entries.length > 0 && entries.every(({ entry }) => entry.xcm !== undefined));
    for (const { recipient, entry } of entries) {
      const at = table.findIndex(
        (line) => line.includes(`${entry.sender} → ${recipient}`) && line.includes(entry.hash),
      );
      assert.ok(at >= 0, `${entry.hash} is in the table`);
      const expected = entry.xcm!.flatMap((program) =>
        Object.entries(program as Record<string, (string | object)[]>).flatMap(([version, instructions]) =>
          instructions.map((i) => `${version} ${typeof i === 'string' ? i : Object.keys(i)[0]}`),
        ),
      );
      const shown = table
        .slice(at + 1, at + 1 + expected.length)
        .map((line) => /^ {6}(V\d \w+)/.exec(line)?.[1]);
      assert.deepEqual(shown, expected, `the instructions of ${entry.sender} → ${recipient}`);
    }
  });

  it('events of another block are a verification failure, not a usage error: said so, nothing verified', () => {
    const args = decodeArgs('polkadot-19772575', 'polkadot-18468942');
    const table = runCli(args);
    assert.match(table.stdout, /^events: the events are not this block's/m, 'the table says so');
    const result = runCli([...args, '--json']);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as DecodeReport;
    assert.match(
      report.eventsMismatch ?? '',
      /^the events are not this block's: none of its 28 backed candidates/,
    );
    assert.equal(report.candidates.filter((c) => c.commitmentsVerified).length, 0);
    assert.ok(report.candidates.every((c) => c.verificationError !== null));
    assert.ok(
      Object.values(report.slices)
        .flat()
        .every((entry) => !entry.verified),
    );
  });

  describe('bad input exits 2 with one clear line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcmp-decode-'));
    const notHex = join(dir, 'not-hex.txt');
    writeFileSync(notHex, 'hello');
    const otherMetadata = join(dir, 'other-metadata.hex');
    writeFileSync(otherMetadata, substrateMetadata);
    // The fixture block with its header bent two ways a hand-made file gets it wrong.
    type Header = Record<string, unknown> & { digest: { logs: unknown[] } };
    const bent = (name: string, bend: (header: Header) => void) => {
      const path = join(dir, name);
      if (!fixturesPresent) return path;
      const file = JSON.parse(readFileSync(block('polkadot-19772575'), 'utf8')) as { header: Header };
      bend(file.header);
      writeFileSync(path, JSON.stringify(file));
      return path;
    };
    const logsOnTop = bent('logs-on-top.json', (header) => {
      header.logs = header.digest.logs;
      delete (header as { digest?: unknown }).digest;
    });
    const logsAsObjects = bent('logs-as-objects.json', (header) => {
      header.digest.logs = header.digest.logs.map((log) => ({ preRuntime: ['0x42414245', log] }));
    });
    // A real metadata that has no ParaInherent pallet (a Substrate dev chain) cannot describe a relay block.
    const cases: [string, string[], RegExp][] = [
      [
        'a missing file',
        ['--metadata', join(dir, 'nope.hex'), '--block', block('polkadot-19772575')],
        /cannot read metadata file .*nope\.hex: no such file/,
      ],
      [
        'metadata that is not hex',
        ['--metadata', notHex, '--block', block('polkadot-19772575')],
        /metadata file .* is not 0x-prefixed hex/,
      ],
      [
        'events that are not hex',
        ['--metadata', METADATA_FILE, '--block', block('polkadot-19772575'), '--events', notHex],
        /events file .* is not 0x-prefixed hex/,
      ],
      [
        'a block that is not JSON',
        ['--metadata', METADATA_FILE, '--block', notHex],
        /block file .* is not JSON/,
      ],
      [
        'metadata that does not match the block',
        ['--metadata', otherMetadata, '--block', block('polkadot-19772575')],
        /metadata does not match the block|has no ParaInherent pallet/,
      ],
      [
        'a missing events file',
        ['--metadata', METADATA_FILE, '--block', block('polkadot-19772575'), '--events', `${notHex}.missing`],
        /cannot read events file/,
      ],
      [
        'a header with logs instead of digest.logs',
        ['--metadata', METADATA_FILE, '--block', logsOnTop],
        /header\.digest\.logs is missing or not a list/,
      ],
      [
        'digest logs that are not hex or digest items',
        ['--metadata', METADATA_FILE, '--block', logsAsObjects],
        /block file .*: header digest data is not 0x-prefixed hex/,
      ],
      [
        'a missing required flag',
        ['--block', block('polkadot-19772575')],
        /required option '--metadata <file>'/,
      ],
    ];
    for (const [what, args, message] of cases) {
      it(what, () => {
        const result = runCli(['decode-block', ...args]);
        assert.equal(result.status, 2, `${result.stdout}${result.stderr}`);
        assert.match(result.stderr, message);
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      });
    }
  });
});
