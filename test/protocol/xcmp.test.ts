import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relayLayout } from '../../src/derive/layout.ts';
import { observeBlock } from '../../src/derive/observe.ts';
import { concatBytes, encodeBytes, toHex } from '../../src/protocol/bytes.ts';
import { splitXcmpMessage, XcmpFormatError } from '../../src/protocol/xcmp.ts';
import { loadFixtureBlock, loadFixtureMetadata, skipWithoutFixtures } from '../helpers/fixtures.ts';

describe('XCMP message format', { skip: skipWithoutFixtures }, () => {
  const setup = () => {
    const metadata = loadFixtureMetadata();
    const block = loadFixtureBlock('polkadot-19772575');
    const observation = observeBlock(metadata, block);
    // The real 2006 → 2034 message: format 0x00 followed by one XCM v3 program.
    const message = observation.slices.get(2034)![0]!.data;
    return { xcm: relayLayout(metadata).versionedXcm!, program: message.subarray(1) };
  };

  it('0x00 splits concatenated VersionedXcm programs and decodes each through the metadata', () => {
    const { xcm, program } = setup();
    const split = splitXcmpMessage(concatBytes([Uint8Array.of(0), program, program]), xcm);
    assert.equal(split.format, 'concatenatedVersionedXcm');
    assert.ok('programs' in split);
    assert.equal(split.programs.length, 2);
    assert.equal(split.programs[0]!.encoded, toHex(program));
    const v3 = (split.programs[0]!.xcm as { V3: { [k: string]: unknown }[] }).V3;
    assert.ok(Array.isArray(v3));
    assert.deepEqual(Object.keys(v3[0]!), ['ReserveAssetDeposited']);
  });

  it('0x03 splits length-prefixed (double-encoded) programs', () => {
    const { xcm, program } = setup();
    const split = splitXcmpMessage(
      concatBytes([Uint8Array.of(3), encodeBytes(program), encodeBytes(program)]),
      xcm,
    );
    assert.equal(split.format, 'concatenatedOpaqueVersionedXcm');
    assert.ok('programs' in split);
    assert.equal(split.programs.length, 2);
    assert.equal(split.programs[1]!.encoded, toHex(program));
  });

  it('0x01 and 0x02 are reported as blobs and signals without decoding', () => {
    const { xcm } = setup();
    assert.deepEqual(splitXcmpMessage(Uint8Array.of(1, 0xaa, 0xbb), xcm), {
      format: 'concatenatedEncodedBlob',
      payload: '0xaabb',
    });
    assert.deepEqual(splitXcmpMessage(Uint8Array.of(2, 0), xcm), { format: 'signals', payload: '0x00' });
  });

  it('any other format byte is an error that names the byte', () => {
    const { xcm } = setup();
    assert.throws(() => splitXcmpMessage(Uint8Array.of(0x05, 1, 2), xcm), /0x05/);
    assert.throws(() => splitXcmpMessage(Uint8Array.of(0xff), xcm), /0xff/);
    assert.throws(() => splitXcmpMessage(new Uint8Array(), xcm), XcmpFormatError);
  });

  it('a truncated or garbled program is an XcmpFormatError, not a crash', () => {
    const { xcm, program } = setup();
    assert.throws(
      () => splitXcmpMessage(concatBytes([Uint8Array.of(0), program.subarray(0, program.length - 3)]), xcm),
      XcmpFormatError,
    );
    assert.throws(() => splitXcmpMessage(Uint8Array.of(0, 0xee, 1, 2), xcm), XcmpFormatError);
    assert.throws(
      () => splitXcmpMessage(concatBytes([Uint8Array.of(3), Uint8Array.of(0xfc)]), xcm),
      XcmpFormatError,
    );
  });
});
