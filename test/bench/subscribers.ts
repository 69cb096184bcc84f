/** Many subscriptions over few WebSocket connections, for the push benchmarks; every notification is timed on arrival. */
import WebSocket from 'ws';

/**
 * Opens `total` subscriptions `perConnection` to a socket, each made with `params` of
 * `xcmp_subscribeInbox`, and resolves once all are acknowledged; each notification's text goes to
 * `onNotification` with its arrival time. Returns a function closing every socket.
 */
export async function openSubscribers(
  url: string,
  total: number,
  perConnection: number,
  params: readonly unknown[],
  onNotification: (text: string, at: number) => void,
): Promise<() => void> {
  const sockets: WebSocket[] = [];
  for (let opened = 0; opened < total; opened += perConnection) {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const count = Math.min(perConnection, total - opened);
    let acks = 0;
    const ready = new Promise<void>((resolve) => {
      socket.on('message', (data) => {
        const text = data.toString();
        if (text.includes('"method":"xcmp_inbox"')) onNotification(text, performance.now());
        else if (++acks === count) resolve();
      });
    });
    for (let i = 0; i < count; i++)
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'xcmp_subscribeInbox', params }));
    await ready;
    sockets.push(socket);
  }
  return () => {
    for (const socket of sockets) socket.close();
  };
}
