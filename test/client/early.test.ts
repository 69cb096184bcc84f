/**
 * Notifications that arrive before their subscribe answer are kept for it, and only for a bounded
 * number of ids: a server that floods notifications for ids nobody asked for neither grows the
 * client without end nor pushes out the notification of the subscription being answered.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { XcmpClient } from '../../src/client/client.ts';
import { eventually } from '../helpers/wait.ts';

const update = (number: number): MailboxUpdateJson => ({
  type: 'messages',
  finality: 'finalized',
  block: { number, hash: `0x${'11'.repeat(32)}` },
  messages: [],
});

describe('XcmpClient: notifications ahead of their subscribe answer', () => {
  it("keeps the answered subscription's early notification past 500 stray ids", async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const request = JSON.parse(data.toString()) as { id: number; method: string };
        if (request.method !== 'xcmp_subscribeInbox') {
          socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: null }));
          return;
        }
        const notify = (subscription: string, result: MailboxUpdateJson) =>
          socket.send(
            JSON.stringify({ jsonrpc: '2.0', method: 'xcmp_inbox', params: { subscription, result } }),
          );
        for (let i = 0; i < 500; i++) notify(`stray-${i}`, update(i));
        notify('mine', update(7));
        socket.send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: 'mine' }));
      });
    });
    const { port } = wss.address() as AddressInfo;
    const client = await XcmpClient.connect(`ws://127.0.0.1:${port}`);
    const updates: MailboxUpdateJson[] = [];
    try {
      await client.subscribeInbox(2000, (u) => updates.push(u));
      await eventually(() => updates.length > 0, { what: 'the early notification' });
      assert.deepEqual(
        updates.map((u) => u.block.number),
        [7],
      );
    } finally {
      await client.close();
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});
