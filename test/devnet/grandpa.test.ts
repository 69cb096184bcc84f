/**
 * The devnet finalizes with GRANDPA (issue 30): each finalized block's justification, served in
 * `chain_getBlock`, by `grandpa_proveFinality` and `grandpa_subscribeJustifications`, is valid under
 * the set in force, and a client holding only the genesis set follows 4 scheduled set changes
 * (`ScheduledChange` digests every 10 blocks) to the head; the old set's signatures are refused after
 * a change.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { decodeJustification, setChangeOf, verifyJustification } from '../../src/derive/grandpa.ts';
import { GrandpaLedger } from '../../src/derive/grandpa-ledger.ts';
import { grandpaKeys, signJustification } from '../../src/devnet/grandpa.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { encodeCompact, fromHex, type Hex, readCompactNumber, toHex } from '../../src/protocol/bytes.ts';
import { encodeHeader, type HeaderJson, readHeader } from '../../src/protocol/header.ts';
import { type RpcSocket, rpcSocket } from '../helpers/rpc-socket.ts';
import { eventually } from '../helpers/wait.ts';

describe('devnet GRANDPA', () => {
  let devnet: Devnet;
  let socket: RpcSocket;
  const pushed: string[] = [];

  before(async () => {
    devnet = await startDevnet({
      blockTimeMs: 0,
      grandpaAuthorities: 7,
      grandpaSetEvery: 10,
      finalityLag: 2,
    });
    socket = await rpcSocket(devnet.url);
    await socket.call('grandpa_subscribeJustifications', []);
    socket.socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { method?: string; params?: { result: string } };
      if (frame.method === 'grandpa_justifications') pushed.push(frame.params!.result);
    });
    await devnet.newBlocks(48);
  });
  after(async () => {
    socket?.close();
    await devnet?.close();
  });

  async function finalizedBlock(number: number) {
    const hash = (await socket.call('chain_getBlockHash', [number])).result as Hex;
    const { block, justifications } = (await socket.call('chain_getBlock', [hash])).result as {
      block: { header: HeaderJson };
      justifications: [string, string][] | null;
    };
    const bytes = encodeHeader(block.header);
    const [header] = readHeader(bytes, 0);
    return { hash, header, headerHex: toHex(bytes), justifications };
  }

  it('a client with only the genesis set follows every set change to the head', async () => {
    const genesis = grandpaKeys(0, 7).map((k) => u8aToHex(k.publicKey) as Hex);
    const genesisHash = (await socket.call('chain_getBlockHash', [0])).result as Hex;
    const ledger = new GrandpaLedger({
      setId: 0n,
      authorities: genesis,
      block: { number: 0, hash: genesisHash },
    });
    let changes = 0;
    for (let n = 1; n <= devnet.chain.finalized.number; n++) {
      const { hash, header, headerHex, justifications } = await finalizedBlock(n);
      assert.equal(justifications?.length, 1, `#${n} has one justification`);
      assert.equal(justifications![0]![0], '0x46524e4b');
      const justification = fromHex(justifications![0]![1] as Hex);
      // A FinalityProof of the block by its own justification, no headers between.
      const proof = u8aToHex(
        u8aConcat(fromHex(hash), encodeCompact(justification.length), justification, encodeCompact(0)),
      );
      assert.equal(ledger.proveFinal(n, hash, proof as Hex), hash, `#${n}`);
      if (setChangeOf(header.digest)) {
        ledger.applyChange({ headers: [headerHex], justification: justifications![0]![1] as Hex });
        changes++;
      }
    }
    assert.ok(changes >= 4 && ledger.latest.setId >= 4n, `${changes} changes, set ${ledger.latest.setId}`);
  });

  it("after a change the old set's signatures are refused, even signed by all of it", async () => {
    const { hash, header } = await finalizedBlock(25);
    const oldKeys = grandpaKeys(1, 7);
    const forged = signJustification({
      round: 25n,
      setId: 2n,
      target: { hash, number: 25 },
      votes: oldKeys.map((key) => ({ key, target: { hash, number: 25 } })),
    });
    const set2 = { setId: 2n, authorities: grandpaKeys(2, 7).map((k) => u8aToHex(k.publicKey) as Hex) };
    const verdict = verifyJustification(decodeJustification(forged), set2, header);
    assert.equal(verdict.valid ? 'valid' : verdict.reason, 'notAuthority');
  });

  it('grandpa_proveFinality and grandpa_subscribeJustifications give valid justifications', async () => {
    const proof = fromHex((await socket.call('grandpa_proveFinality', [30])).result as Hex);
    const { hash } = await finalizedBlock(30);
    assert.equal(u8aToHex(proof.subarray(0, 32)), hash);
    const set2 = { setId: 2n, authorities: grandpaKeys(2, 7).map((k) => u8aToHex(k.publicKey) as Hex) };
    // FinalityProof { block, justification: Vec<u8>, unknown_headers: Vec<Header> }: 32 bytes, a compact length, the bytes, 0 headers.
    const [size, start] = readCompactNumber(proof, 32);
    const justification = decodeJustification(proof.subarray(start, start + size));
    assert.equal(verifyJustification(justification, set2, { hash }).valid, true);
    assert.equal(proof.length, start + size + 1, 'no unknown headers');
    await eventually(() => pushed.length >= 10, { what: 'pushed justifications' });
    const last = decodeJustification(fromHex(pushed.at(-1) as Hex));
    assert.equal(last.targetNumber, devnet.chain.finalized.number);
  });
});
