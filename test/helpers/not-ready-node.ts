/** A node whose port is open but which is not ready: every request gets an error answer. */
import { WebSocketServer } from 'ws';

export interface NotReadyNode {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function notReadyNode(message = 'node is starting'): Promise<NotReadyNode> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  wss.on('connection', (socket) =>
    socket.on('message', (data) => {
      const { id } = JSON.parse(data.toString()) as { id: unknown };
      socket.send(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message } }));
    }),
  );
  const { port } = wss.address() as { port: number };
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
}
