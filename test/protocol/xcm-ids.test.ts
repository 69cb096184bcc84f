/**
 * XCM ids (issue 29.1): each program of a page is named as the chains' events name it —
 * `blake2_256` of its encoding (the sender's `XcmpMessageSent.message_hash`), and a trailing
 * `SetTopic`'s topic (the receiver's `MessageQueue.Processed.id` where its barrier takes it).
 * Checked on the real mainnet messages and on pages encoded by polkadot-js with a real cumulus
 * runtime's metadata (Asset Hub 2000007, XCM v4/v5 with `SetTopic`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TypeRegistry } from '@polkadot/types';
import { Metadata } from '@polkadot/types/metadata';
import { u8aConcat } from '@polkadot/util';
import { blake2AsHex } from '@polkadot/util-crypto';
import { relayLayout } from '../../src/derive/layout.ts';
import { observeBlock } from '../../src/derive/observe.ts';
import { fromHex } from '../../src/protocol/bytes.ts';
import { CodecRegistry } from '../../src/protocol/codec.ts';
import { parseMetadata } from '../../src/protocol/metadata.ts';
import { xcmIdentity } from '../../src/protocol/xcm-ids.ts';
import { splitXcmpMessage, versionedXcmCodec } from '../../src/protocol/xcmp.ts';
import { decodeXcm } from '../../src/server/xcmp/wire.ts';
import {
  fixturesDir,
  loadFixtureBlock,
  loadFixtureMetadata,
  skipWithoutFixtures,
} from '../helpers/fixtures.ts';

const ASSET_HUB = () =>
  readFileSync(join(fixturesDir, 'metadata/asset-hub-polkadot-2000007.hex'), 'utf8').trim() as `0x${string}`;

describe('XCM ids', { skip: skipWithoutFixtures }, () => {
  it('the real mainnet messages: one v3 program each, named by blake2_256 of its encoding, no topic', () => {
    const metadata = loadFixtureMetadata();
    const observation = observeBlock(metadata, loadFixtureBlock('polkadot-19772575'));
    const xcm = relayLayout(metadata).versionedXcm!;
    let checked = 0;
    for (const [, slice] of observation.slices)
      for (const message of slice) {
        const split = splitXcmpMessage(message.data, xcm);
        assert.ok('programs' in split);
        const [program] = split.programs;
        assert.equal(split.programs.length, 1);
        const id = xcmIdentity(program!);
        assert.equal(id.version, 'V3');
        assert.equal(id.instructions, 4);
        assert.equal(id.topic, null);
        assert.equal(id.messageHash, blake2AsHex(message.data.subarray(1), 256));
        assert.equal(id.id, id.messageHash);
        checked++;
      }
    assert.equal(checked, 2);
  });

  it('a trailing SetTopic (as WithUniqueTopic appends) is the id; the hash still covers it; elsewhere it is not', () => {
    const hex = ASSET_HUB();
    const registry = new TypeRegistry();
    const metadata = new Metadata(registry, hex);
    registry.setMetadata(metadata);
    const ours = parseMetadata(fromHex(hex));
    const codec = versionedXcmCodec(ours, new CodecRegistry(ours));
    const typeName = registry.lookup.getTypeDef(codec.id).lookupName ?? registry.createLookupType(codec.id);
    const topic = `0x${'ab'.repeat(32)}`;
    const encode = (value: object) => registry.createType(typeName, value).toU8a();
    const withTopic = encode({ V4: [{ ClearOrigin: null }, { SetTopic: topic }] });
    const topicFirst = encode({ V5: [{ SetTopic: topic }, { ClearOrigin: null }] });
    const plain = encode({ V5: [{ ClearOrigin: null }] });
    const page = u8aConcat(Uint8Array.of(0), withTopic, topicFirst, plain);
    const split = splitXcmpMessage(page, codec);
    assert.ok('programs' in split);
    const ids = split.programs.map(xcmIdentity);
    assert.deepEqual(
      ids.map((i) => [i.version, i.instructions, i.topic, i.id, i.messageHash]),
      [
        ['V4', 2, topic, topic, blake2AsHex(withTopic, 256)],
        ['V5', 2, null, blake2AsHex(topicFirst, 256), blake2AsHex(topicFirst, 256)],
        ['V5', 1, null, blake2AsHex(plain, 256), blake2AsHex(plain, 256)],
      ],
    );
    // The same page as the API serves it with decode: true.
    const served = decodeXcm(page, codec) as { ids: typeof ids };
    assert.deepEqual(served.ids, ids);
  });

  it('a malformed page is recorded as such, not dropped: the served message says why', () => {
    const hex = ASSET_HUB();
    const ours = parseMetadata(fromHex(hex));
    const codec = versionedXcmCodec(ours, new CodecRegistry(ours));
    assert.deepEqual(Object.keys(decodeXcm(Uint8Array.of(0, 4, 0xff), codec) as object), ['error']);
    assert.match(
      String((decodeXcm(Uint8Array.of(9), codec) as { error: string }).error),
      /unknown XCMP format byte 0x09/,
    );
  });
});
