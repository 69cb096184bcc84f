/**
 * The devnet's state trie: each header's stateRoot is Substrate's version-1 root of the block's
 * storage (computed by the library), and `state_getReadProof` answers prove values under it, as
 * the library decodes them. `verify-proof` is run on these devnet proofs too.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { calculate_state_root } from '@acala-network/chopsticks-executor';
import { provenEntries } from '../../src/derive/proof.ts';
import { hrmpChannelsKey, hrmpWatermarkKey } from '../../src/derive/storage.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { type Hex, toHex } from '../../src/protocol/bytes.ts';
import { runCliAsync } from '../helpers/cli.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';

interface ReadProof {
  readonly at: Hex;
  readonly proof: Hex[];
}

describe('devnet state trie and state_getReadProof', () => {
  let devnet: Devnet;
  let client: RpcSocket;
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-devnet-proof-'));

  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 8 });
    client = await rpcSocket(devnet.url);
  });
  after(async () => {
    client?.close();
    await devnet?.close();
  });

  const readProof = async (keys: Hex[], at: Hex): Promise<ReadProof> => {
    const answer = await client.call('state_getReadProof', [keys, at]);
    assert.equal(answer.error, undefined, JSON.stringify(answer.error));
    return answer.result as ReadProof;
  };

  it("is the library's version-1 root of the block's storage, and changes whenever storage does", async () => {
    const roots = new Set<string>();
    for (let n = 0; n <= 8; n++) {
      const block = devnet.chain.blockAt(n)!;
      const expected = await calculate_state_root([...block.storage], 1);
      assert.equal(block.header.stateRoot, expected, `block #${n}`);
      roots.add(block.header.stateRoot);
    }
    assert.equal(roots.size, 9, 'every block changed storage, so every root differs');
    const [fork] = await devnet.fork(1);
    assert.notEqual(fork!.header.stateRoot, devnet.chain.blockAt(fork!.number - 1)?.header.stateRoot);
  });

  it('proves every HrmpChannels value and watermark under the header state root', async () => {
    const block = devnet.chain.finalized;
    const keys = devnet.config.channels.map(([s, r]) => hrmpChannelsKey(s, r));
    keys.push(...devnet.config.paras.map(hrmpWatermarkKey));
    const { at, proof } = await readProof(keys, block.hash);
    assert.equal(at, block.hash);
    const proven = await provenEntries(block.header.stateRoot as Hex, proof);
    for (const key of keys) assert.equal(proven.get(key), block.storage.get(key), key);
    const size = proof.reduce((total, node) => total + (node.length - 2) / 2, 0);
    assert.ok(size < 64 * 1024, `a proof of ${keys.length} keys is ${size} bytes, not the whole state`);
  });

  it('proves nothing under another block root, and proves a missing key absent', async () => {
    const block = devnet.chain.finalized;
    const key = hrmpChannelsKey(2000, 1000);
    const { proof } = await readProof([key], block.hash);
    const parent = devnet.chain.block(block.parentHash)!;
    assert.equal((await provenEntries(parent.header.stateRoot as Hex, proof)).size, 0);
    const absent = hrmpChannelsKey(2000, 2000);
    const { proof: absence } = await readProof([absent], block.hash);
    const entries = await provenEntries(block.header.stateRoot as Hex, absence);
    assert.equal(entries.get(absent), undefined);
  });

  it('verify-proof: honest devnet proof exits 0; flipped byte, missing key, wrong root exit 1', async () => {
    const block = devnet.chain.finalized;
    const channel = devnet.chain.blockAt(block.number)!.state.channels.get('2000:1000')!;
    const { proof } = await readProof([hrmpChannelsKey(2000, 1000)], block.hash);
    const file = join(dir, 'honest.json');
    writeFileSync(file, JSON.stringify({ at: block.hash, proof }));
    const args = (root: string, path: string, sender = '2000') => [
      'verify-proof',
      '--state-root',
      root,
      '--proof',
      path,
      '--sender',
      sender,
      '--recipient',
      '1000',
    ];
    const honest = await runCliAsync(args(block.header.stateRoot, file));
    assert.equal(honest.status, 0, honest.stderr);
    const printed = JSON.parse(honest.stdout) as { msgCount: number; mqcHead: string | null };
    assert.equal(printed.msgCount, channel.msgCount);
    assert.equal(printed.mqcHead, channel.mqcHead ? toHex(channel.mqcHead) : null);

    const flipped = proof.map((node, i) => (i === proof.length - 1 ? flipLastByte(node) : node));
    const tampered = join(dir, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(flipped));
    const wrongRoot = devnet.chain.block(block.parentHash)!.header.stateRoot;
    for (const [name, argv] of [
      ['flipped byte', args(block.header.stateRoot, tampered)],
      ['key not in the proof', args(block.header.stateRoot, file, '2001')],
      ['wrong root', args(wrongRoot, file)],
    ] as const) {
      const result = await runCliAsync(argv);
      assert.equal(result.status, 1, `${name}: ${result.stderr}`);
      assert.equal(result.stdout, '', name);
      assert.equal(result.stderr.trim().split('\n').length, 1, `${name}: one line`);
    }
  });
});

function flipLastByte(node: Hex): Hex {
  const last = Number.parseInt(node.slice(-2), 16) ^ 1;
  return `${node.slice(0, -2)}${last.toString(16).padStart(2, '0')}` as Hex;
}
