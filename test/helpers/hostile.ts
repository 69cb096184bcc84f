/**
 * Hostile JSON-RPC inputs, generated from a seed: garbage frames, malformed envelopes, every xcmp_*
 * and proxied method with wrong, huge, negative, deep and foreign params, bad batches, bogus
 * subscriptions and unsubscribes. Used by the abuse test (a fast subset) and `npm run bench -- abuse`.
 */
import { contractMethodNames } from '../../rpc/contract.ts';
import { exchanger, rpcSocket } from './rpc-socket.ts';

export interface HostileInput {
  readonly kind: string;
  readonly text: string;
}

/** mulberry32: small, fast, reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const XCMP_METHODS = contractMethodNames().filter((name) => name.startsWith('xcmp_'));

const PROXIED_METHODS = [
  'chain_getBlock',
  'chain_getBlockHash',
  'chain_getHeader',
  'chain_getFinalizedHead',
  'state_getStorage',
  'state_getKeysPaged',
  'state_queryStorageAt',
  'state_getMetadata',
  'state_getRuntimeVersion',
  'state_getReadProof',
  'state_call',
  'system_health',
  'system_chain',
  'rpc_methods',
  'chain_subscribeNewHeads',
  'chain_subscribeFinalizedHeads',
  'state_subscribeStorage',
  'chain_unsubscribeNewHeads',
  'state_unsubscribeStorage',
];

const REFUSED_METHODS = [
  'author_rotateKeys',
  'dev_newBlock',
  'system_addReservedPeer',
  'offchain_localStorageSet',
  'nope',
  '',
  ' ',
  'xcmp_',
  'rpc_methods ',
  '__proto__',
  'constructor',
  'toString',
];

function deep(depth: number, open = '[', close = ']'): string {
  return `${open.repeat(depth)}${close.repeat(depth)}`;
}

/** A JSON value of a random hostile shape. */
function value(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * 22);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return -1;
    case 2:
      return 2 ** 53 + 7;
    case 3:
      return 1e308;
    case 4:
      return 0.5;
    case 5:
      return 4294967296;
    case 6:
      return '';
    case 7:
      return '0x';
    case 8:
      return `0x${'ff'.repeat(Math.floor(next() * 40))}`;
    case 9:
      return '0xzz';
    case 10:
      return 'x'.repeat(Math.floor(next() * 5000));
    case 11:
      return true;
    case 12:
      return [];
    case 13:
      return {};
    case 14:
      return { __proto__: { polluted: true }, constructor: { prototype: 1 } };
    case 15:
      return { fromBlock: -5, toBlock: 'a', limit: 1e9, decode: 'yes', extra: 1 };
    case 16:
      return { limit: 10_000, fromBlock: 0, includeUnverified: true, decode: true };
    case 17:
      return depth < 3 ? [value(next, depth + 1), value(next, depth + 1)] : 1;
    case 18:
      return depth < 3 ? { sender: value(next, depth + 1), recipient: value(next, depth + 1) } : 2;
    case 19:
      return Math.floor(next() * 5000);
    case 20:
      return { finality: 'bogus', fromBlock: 0 };
    default:
      return '\u0000\ud800\uffff';
  }
}

function params(next: () => number): unknown {
  const roll = next();
  if (roll < 0.1) return value(next); // not an array
  if (roll < 0.15) return JSON.parse(deep(100)); // nested, still parseable
  const count = Math.floor(next() * 4);
  return Array.from({ length: count }, () => value(next));
}

function request(next: () => number, method: string, id: unknown = Math.floor(next() * 1e6)): object {
  return { jsonrpc: '2.0', id, method, params: params(next) };
}

/** `count` hostile inputs, reproducible from `seed`. */
export function hostileInputs(count: number, seed = 1): HostileInput[] {
  const next = rng(seed);
  const inputs: HostileInput[] = [];
  const makers: [string, () => string][] = [
    [
      'garbage',
      () =>
        Array.from({ length: 1 + Math.floor(next() * 200) }, () =>
          String.fromCharCode(Math.floor(next() * 256)),
        ).join(''),
    ],
    ['truncated', () => JSON.stringify(request(next, 'xcmp_getInbox')).slice(0, 1 + Math.floor(next() * 30))],
    ['not a request', () => JSON.stringify(value(next))],
    [
      'bad envelope',
      () =>
        JSON.stringify(
          [
            { jsonrpc: '1.0', id: 1, method: 'xcmp_status' },
            { jsonrpc: '2.0', id: { a: 1 }, method: 'xcmp_status' },
            { jsonrpc: '2.0', id: 1, method: 7 },
            { jsonrpc: '2.0', id: 1, method: 'xcmp_status', params: 'x' },
            { id: 1, method: 'xcmp_status' },
          ][Math.floor(next() * 5)],
        ),
    ],
    [
      'xcmp method',
      () => JSON.stringify(request(next, XCMP_METHODS[Math.floor(next() * XCMP_METHODS.length)]!)),
    ],
    [
      'proxied method',
      () => JSON.stringify(request(next, PROXIED_METHODS[Math.floor(next() * PROXIED_METHODS.length)]!)),
    ],
    [
      'refused method',
      () => JSON.stringify(request(next, REFUSED_METHODS[Math.floor(next() * REFUSED_METHODS.length)]!)),
    ],
    [
      'deep nesting',
      () =>
        `{"jsonrpc":"2.0","id":1,"method":"chain_getBlock","params":${deep(200 + Math.floor(next() * 20000))}}`,
    ],
    [
      'deep object',
      () =>
        `{"jsonrpc":"2.0","id":1,"method":"state_call","params":[${deep(70 + Math.floor(next() * 50), '{"a":', '}').replace(/\{"a":\}/, '{"a":1}')}]}`,
    ],
    [
      'batch',
      () =>
        JSON.stringify(
          Array.from({ length: Math.floor(next() * 20) }, () =>
            next() < 0.5
              ? request(next, XCMP_METHODS[Math.floor(next() * XCMP_METHODS.length)]!)
              : value(next),
          ),
        ),
    ],
    [
      'oversize batch',
      () =>
        JSON.stringify(
          Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'xcmp_status' })),
        ),
    ],
    [
      'notification',
      () =>
        JSON.stringify({
          jsonrpc: '2.0',
          method: XCMP_METHODS[Math.floor(next() * XCMP_METHODS.length)]!,
          params: params(next),
        }),
    ],
    [
      'big param',
      () =>
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'state_getStorage',
          params: [`0x${'ab'.repeat(200_000)}`],
        }),
    ],
  ];
  for (let i = 0; i < count; i++) {
    const [kind, make] = makers[i % makers.length]!;
    inputs.push({ kind, text: make() });
  }
  return inputs;
}

/** What an error message must never show: stacks, source paths, library internals. */
export const INTERNALS =
  /\bat \S+ \(|\.ts:\d+|\.js:\d+|node_modules|Failed WS Request|Maximum call stack|TypeError|ReferenceError|SyntaxError|Cannot read propert|is not a function|undefined is not|SQLITE|better-sqlite3/i;

export interface ErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** Every error object in an answer frame (single or batch). */
export function errorsIn(frame: unknown): ErrorObject[] {
  const items = Array.isArray(frame) ? frame : [frame];
  return items.flatMap((item) => {
    const error = (item as { error?: ErrorObject } | null)?.error;
    return error ? [error] : [];
  });
}

export interface HostileRun {
  readonly inputs: number;
  /** Frames the server sent back (a notification-only input gets none). */
  readonly frames: number;
  readonly codes: Map<number, number>;
  /** -32603 answers or messages that show internals, with the input that caused each. */
  readonly bad: string[];
}

/** Sends `count` hostile inputs over `connections` WebSockets and checks every error that comes back. */
export async function runHostile(
  url: string,
  count: number,
  seed: number,
  connections = 8,
): Promise<HostileRun> {
  const inputs = hostileInputs(count, seed);
  const clients = await Promise.all(Array.from({ length: connections }, () => exchanger(url)));
  const codes = new Map<number, number>();
  const bad: string[] = [];
  let frames = 0;
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = c; i < inputs.length; i += clients.length) {
        const input = inputs[i]!;
        for (const frame of await client.exchange(input.text)) {
          frames++;
          for (const error of errorsIn(frame)) {
            codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
            const text = `${error.message} ${JSON.stringify(error.data ?? '')}`;
            if (error.code === -32603 || INTERNALS.test(text))
              bad.push(`${input.kind}: ${input.text.slice(0, 120)} → ${text.slice(0, 200)}`);
          }
        }
      }
    }),
  );
  for (const client of clients) client.close();
  return { inputs: count, frames, codes, bad };
}

/** `count` connections that stop reading, each then asking for `requests` large inboxes. */
export async function slowReaders(
  url: string,
  count: number,
  requests: number,
): Promise<{ terminate(): void }> {
  const readers = await Promise.all(Array.from({ length: count }, () => rpcSocket(url)));
  for (const reader of readers) {
    reader.socket.pause(); // reads nothing from now on
    for (let i = 0; i < requests; i++) {
      const params = [2000 + (i % 5), { limit: 1000 }];
      reader.socket.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'xcmp_getInbox', params }));
    }
  }
  return {
    terminate: () => {
      for (const reader of readers) reader.socket.terminate();
    },
  };
}
