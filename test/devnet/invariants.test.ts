/**
 * 100 blocks of the devnet, checked with the sidecar's own protocol code (not the devnet's):
 * commitments bind to CandidateBacked, enacted messages land in HrmpChannelContents with
 * sent_at = the enacting block, MQC heads extend exactly, and the runtime API agrees with storage.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { u8aConcat, u8aToHex } from '@polkadot/util';
import { xxhashAsU8a } from '@polkadot/util-crypto';
import { NodeClient } from '../../src/chain/node.ts';
import { observeBlock } from '../../src/derive/observe.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { fromHex, type Hex, readCompactNumber, readU32, toHex } from '../../src/protocol/bytes.ts';
import { CodecRegistry } from '../../src/protocol/codec.ts';
import type { RuntimeMetadata } from '../../src/protocol/metadata.ts';
import { extendMqcHeadWith, ZERO_HEAD } from '../../src/protocol/mqc.ts';

const BLOCKS = 100;

interface ChannelValue {
  mqcHead: Hex | null;
  msgCount: number;
}
interface InboundMessage {
  sentAt: number;
  data: Hex;
}

function mapKey(pallet: string, item: string, key: Uint8Array): string {
  return u8aToHex(u8aConcat(xxhashAsU8a(pallet, 128), xxhashAsU8a(item, 128), xxhashAsU8a(key, 64), key));
}
const u32le = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const channelId = (s: number, r: number) => u8aConcat(u32le(s), u32le(r));

for (const runtime of ['polkadot-v15', 'static-polkadot'] as const) {
  describe(`devnet runtime model over ${BLOCKS} blocks (${runtime})`, () => {
    let devnet: Devnet;
    let node: NodeClient;
    let metadata: RuntimeMetadata;
    let codecs: CodecRegistry;

    before(async () => {
      devnet = await startDevnet({
        runtime,
        blockTimeMs: 0,
        paras: [1000, 2000, 2001, 2004],
        retainBlocks: 300,
      });
      await devnet.newBlocks(BLOCKS + 1);
      node = await NodeClient.connect(devnet.url);
      metadata = await node.metadata(devnet.chain.best.hash);
      codecs = new CodecRegistry(metadata);
    });
    after(async () => {
      await node?.disconnect();
      await devnet?.close();
    });

    const storageType = (pallet: string, item: string) =>
      metadata.palletsByName.get(pallet)!.storage.get(item)!.valueType;

    it('binds commitments, enacts every message with sent_at = its block, and extends every MQC head exactly', async () => {
      const channels = devnet.config.channels;
      const backedByHash = new Map<
        Hex,
        { paraId: number; messages: { recipient: number; data: Uint8Array }[] }
      >();
      const previousHeads = new Map<string, Uint8Array>(channels.map(([s, r]) => [`${s}:${r}`, ZERO_HEAD]));
      const enactedPerChannel = new Map<string, number>();
      let checkedCandidates = 0;
      for (let number = 1; number <= BLOCKS; number++) {
        const hash = await node.resolve(number);
        const { input } = await node.blockInput(hash);
        const observation = observeBlock(metadata, input);
        assert.equal(observation.hash, hash);
        for (const candidate of observation.candidates) {
          assert.equal(
            candidate.commitmentsVerified,
            true,
            `block ${number} para ${candidate.paraId}: ${candidate.verificationError}`,
          );
          backedByHash.set(candidate.candidateHash, {
            paraId: candidate.paraId,
            messages: candidate.commitments.horizontalMessages.map((m) => ({
              recipient: m.recipient,
              data: m.data,
            })),
          });
          checkedCandidates++;
        }
        const enacted = new Map<string, { sentAt: number; data: Uint8Array }[]>();
        for (const event of observation.events!.included) {
          const candidate = backedByHash.get(toHex(event.candidateHash));
          assert.ok(
            candidate,
            `block ${number}: included candidate ${toHex(event.candidateHash)} was backed earlier`,
          );
          for (const message of candidate.messages) {
            const key = `${candidate.paraId}:${message.recipient}`;
            enacted.set(key, [...(enacted.get(key) ?? []), { sentAt: number, data: message.data }]);
          }
        }
        const keys = channels.flatMap(([s, r]) => [
          mapKey('Hrmp', 'HrmpChannels', channelId(s, r)),
          mapKey('Hrmp', 'HrmpChannelContents', channelId(s, r)),
        ]);
        const [{ changes }] = await node.send<[{ changes: [string, Hex | null][] }]>('state_queryStorageAt', [
          keys,
          hash,
        ]);
        const values = new Map(changes);
        const contentsByChannel = new Map<string, InboundMessage[]>();
        for (const [sender, recipient] of channels) {
          const key = `${sender}:${recipient}`;
          const channel = codecs.decodeAll(
            storageType('Hrmp', 'HrmpChannels'),
            fromHex(values.get(keys[channels.findIndex(([s, r]) => s === sender && r === recipient) * 2]!)!),
          ) as unknown as ChannelValue;
          const contents = codecs.decodeAll(
            storageType('Hrmp', 'HrmpChannelContents'),
            fromHex(values.get(mapKey('Hrmp', 'HrmpChannelContents', channelId(sender, recipient)))!),
          ) as unknown as InboundMessage[];
          contentsByChannel.set(key, contents);
          const newMessages = enacted.get(key) ?? [];
          enactedPerChannel.set(key, (enactedPerChannel.get(key) ?? 0) + newMessages.length);
          // Enacted messages are at the tail of the queue, with sent_at = this block, in candidate order.
          const tail = contents.slice(contents.length - newMessages.length);
          assert.deepEqual(
            tail,
            newMessages.map((m) => ({ sentAt: number, data: toHex(m.data) })),
            `block ${number} channel ${key}`,
          );
          assert.equal(channel.msgCount, contents.length);
          const expectedHead = extendMqcHeadWith(previousHeads.get(key)!, newMessages);
          assert.equal(
            channel.mqcHead ?? toHex(ZERO_HEAD),
            toHex(expectedHead),
            `block ${number} channel ${key} MQC head`,
          );
          previousHeads.set(key, expectedHead);
        }
        // The runtime API agrees with storage for every recipient, empty ingress channels included.
        for (const recipient of devnet.config.paras) {
          const answer = fromHex(
            await node.send<Hex>('state_call', [
              'ParachainHost_inbound_hrmp_channels_contents',
              toHex(u32le(recipient)),
              hash,
            ]),
          );
          const [count, start] = readCompactNumber(answer, 0);
          let offset = start;
          const senders: number[] = [];
          const contentsType = storageType('Hrmp', 'HrmpChannelContents');
          for (let i = 0; i < count; i++) {
            const sender = readU32(answer, offset);
            const end = codecs.codec(contentsType).skip(answer, offset + 4);
            const messages = codecs.decodeAll(contentsType, answer.subarray(offset + 4, end));
            assert.deepEqual(
              messages,
              contentsByChannel.get(`${sender}:${recipient}`),
              `block ${number} ${sender}→${recipient}`,
            );
            senders.push(sender);
            offset = end;
          }
          assert.equal(offset, answer.length);
          assert.deepEqual(
            senders,
            channels
              .filter(([, r]) => r === recipient)
              .map(([s]) => s)
              .sort((a, b) => a - b),
          );
        }
      }
      assert.ok(checkedCandidates >= BLOCKS * 4 - 4, `${checkedCandidates} candidates checked`);
      for (const [key, count] of enactedPerChannel)
        assert.ok(count >= BLOCKS - 2, `channel ${key} carried ${count} messages`);
    });
  });
}
