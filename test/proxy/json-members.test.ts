import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { topLevelMembers } from '../../src/chain/json-members.ts';

/** Each member's value text, re-parsed, equals what JSON.parse gives for that member. */
function assertAgrees(text: string): void {
  const members = topLevelMembers(text);
  assert.ok(members, `not read: ${text}`);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual([...members.keys()].sort(), Object.keys(parsed).sort());
  for (const [key, [start, end]] of members)
    assert.deepEqual(JSON.parse(text.slice(start, end)), parsed[key], key);
}

describe('topLevelMembers', () => {
  it('finds each top-level value of a node answer, whatever the member order and nesting', () => {
    assertAgrees('{"jsonrpc":"2.0","id":7,"result":"0xabcd"}');
    assertAgrees(
      '{"jsonrpc":"2.0","result":{"parentHash":"0x00","number":"0x1","digest":{"logs":["0x06","0x05"]}},"id":12}',
    );
    assertAgrees(
      '{ "id" : 3 , "result" : [ 1, [2, {"id": 9}], null, true, false, -1.5e3 ] , "jsonrpc" : "2.0" }',
    );
    assertAgrees('{"id":1,"result":null}');
    assertAgrees('{"id":1,"result":{}}');
    assertAgrees('{}');
  });

  it('is not misled by quotes, braces and "id" inside strings, nor by escaped keys', () => {
    assertAgrees('{"id":4,"result":"a \\"quoted\\" }{ ] [ , \\\\"}');
    assertAgrees('{"result":{"note":"\\"id\\":5,","id":6},"id":5}');
    assertAgrees('{"result":"ends with a backslash \\\\","id":8}');
    assertAgrees('{"i\\u0064":10,"result":1}');
  });

  it('declines what is not one whole JSON object, so the caller parses it instead', () => {
    for (const text of [
      '[1,2]',
      '"x"',
      '{"id":1,"result":"open',
      '{"id":1 "result":2}',
      '{"id":1,"result":2} trailing',
      '{"id":',
      '',
    ])
      assert.equal(topLevelMembers(text), null, text);
  });
});
