import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockHash, headerNumber } from '../../src/protocol/header.ts';
import { loadFixtureBlock, skipWithoutFixtures } from '../helpers/fixtures.ts';

describe('relay header', { skip: skipWithoutFixtures }, () => {
  it('hashes the mainnet headers to the hashes the chain gave them', () => {
    assert.equal(
      blockHash(loadFixtureBlock('polkadot-19772575').header),
      '0xbbb99b1d43d6c1885e09806e4d8fd3beaa30a87046397e8dfc44ced45ed735a9',
    );
    assert.equal(
      blockHash(loadFixtureBlock('polkadot-18468942').header),
      '0x1ffece02b91e52c4923827843774f705911905c0a66980f7037bed643b746d1d',
    );
  });

  it('reads numbers as nodes send them (hex strings) and refuses non-u32', () => {
    assert.equal(headerNumber({ number: '0x12db49f' }), 19772575);
    assert.equal(headerNumber({ number: 5 }), 5);
    assert.throws(() => headerNumber({ number: 2 ** 32 }));
  });
});
