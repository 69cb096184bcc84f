/** `ParachainHost_inbound_hrmp_channels_contents` asked of a sidecar and of its node directly. */
import assert from 'node:assert/strict';
import { type Hex, toHex, u32le } from '../../src/protocol/bytes.ts';
import { rpcSocket } from './rpc-socket.ts';

/** Asserts that the sidecar's answer equals the node's, for every recipient at block `at`. */
export async function assertInboundEqualsNode(
  sidecarUrl: string,
  nodeUrl: string,
  recipients: readonly number[],
  at: { number: number; hash: Hex },
): Promise<void> {
  const sidecar = await rpcSocket(sidecarUrl);
  const node = await rpcSocket(nodeUrl);
  try {
    for (const recipient of recipients) {
      const params = ['ParachainHost_inbound_hrmp_channels_contents', toHex(u32le(recipient)), at.hash];
      const direct = await node.call('state_call', params);
      const viaSidecar = await sidecar.call('state_call', params);
      assert.equal(viaSidecar.result, direct.result, `inbound of ${recipient} at #${at.number}`);
    }
  } finally {
    sidecar.close();
    node.close();
  }
}
