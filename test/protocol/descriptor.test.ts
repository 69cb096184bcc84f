import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScaleError, toHex, u32le } from '../../src/protocol/bytes.ts';
import { DESCRIPTOR_SIZE, descriptorVersion, parseDescriptor } from '../../src/protocol/descriptor.ts';

function filled(length: number, byte: number): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

/** A v2 layout: reserved fields zero, version 0, core index and session index set. */
function v2Descriptor(versionByte = 0): Uint8Array {
  const bytes = new Uint8Array(DESCRIPTOR_SIZE);
  bytes.set(u32le(2004), 0);
  bytes.set(filled(32, 0x11), 4); // relay parent
  bytes[36] = versionByte;
  bytes[37] = 0x05; // core index 261 (LE u16)
  bytes[38] = 0x01;
  bytes.set(u32le(4242), 39); // session
  bytes.set(filled(32, 0x22), 68);
  bytes.set(filled(32, 0x33), 100);
  bytes.set(filled(32, 0x44), 132);
  bytes.set(filled(32, 0x55), 228);
  bytes.set(filled(32, 0x66), 260);
  return bytes;
}

describe('candidate descriptor', () => {
  it('parses a v2 descriptor: core index, session index and every hash at its offset', () => {
    const descriptor = parseDescriptor(v2Descriptor());
    assert.equal(descriptor.version, 'v2');
    assert.equal(descriptor.paraId, 2004);
    assert.ok(descriptor.version === 'v2');
    assert.equal(descriptor.coreIndex, 261);
    assert.equal(descriptor.sessionIndex, 4242);
    assert.equal(descriptor.relayParent, toHex(filled(32, 0x11)));
    assert.equal(descriptor.persistedValidationDataHash, toHex(filled(32, 0x22)));
    assert.equal(descriptor.povHash, toHex(filled(32, 0x33)));
    assert.equal(descriptor.erasureRoot, toHex(filled(32, 0x44)));
    assert.equal(descriptor.paraHead, toHex(filled(32, 0x55)));
    assert.equal(descriptor.validationCodeHash, toHex(filled(32, 0x66)));
  });

  it('reports an unknown version when reserved fields are zero but the version byte is not 0', () => {
    const descriptor = parseDescriptor(v2Descriptor(7));
    assert.equal(descriptor.version, 'unknown');
    assert.ok(descriptor.version === 'unknown');
    assert.equal(descriptor.versionByte, 7);
  });

  it('is v1 when either reserved field is non-zero (a collator key or a signature)', () => {
    const inReserved1 = v2Descriptor();
    inReserved1[50] = 1;
    assert.equal(descriptorVersion(inReserved1), 'v1');
    const inReserved2 = v2Descriptor();
    inReserved2[200] = 1;
    const parsed = parseDescriptor(inReserved2);
    assert.equal(parsed.version, 'v1');
    assert.ok(parsed.version === 'v1');
    assert.equal(parsed.signature.length, 2 + 128);
    assert.equal(parsed.collator, toHex(inReserved2.subarray(36, 68)));
  });

  it('parses a v3 descriptor (version 1, polkadot-sdk #10472): scheduling parent and session offset from the reserved bytes', () => {
    const bytes = v2Descriptor(1);
    bytes[43] = 2; // scheduling_session_offset
    bytes.set(filled(32, 0x77), 164); // scheduling_parent
    const descriptor = parseDescriptor(bytes);
    assert.equal(descriptor.version, 'v3');
    assert.ok(descriptor.version === 'v3');
    assert.equal(descriptor.schedulingParent, toHex(filled(32, 0x77)));
    assert.equal(descriptor.schedulingSessionOffset, 2);
    assert.equal(descriptor.coreIndex, 261);
    assert.equal(descriptor.sessionIndex, 4242);
    assert.equal(descriptor.paraHead, toHex(filled(32, 0x55)));
    // A v3 whose scheduling parent is all zero is still v3 (the version byte decides).
    assert.equal(descriptorVersion(v2Descriptor(1)), 'v3');
  });

  it('is v1, not v3, when version byte 1 comes with a non-zero byte v3 keeps reserved', () => {
    for (const at of [44, 67, 196, 227]) {
      const bytes = v2Descriptor(1);
      bytes.set(filled(32, 0x77), 164);
      bytes[at] = 9;
      assert.equal(descriptorVersion(bytes), 'v1', `byte ${at}`);
    }
  });

  it('a v2 descriptor with a scheduling parent filled in is v1 (only version 1 frees those bytes)', () => {
    const bytes = v2Descriptor(0);
    bytes.set(filled(32, 0x77), 164);
    assert.equal(descriptorVersion(bytes), 'v1');
  });

  it('refuses anything but 292 bytes', () => {
    assert.throws(() => parseDescriptor(new Uint8Array(291)), ScaleError);
    assert.throws(() => parseDescriptor(new Uint8Array(293)), ScaleError);
  });
});
