import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Answer,
  answerText,
  JsonParts,
  paramsSpan,
  RawJson,
  RpcError,
  type RpcHandlers,
  RpcSession,
  type SubscriptionHandler,
} from '../../src/server/transport/jsonrpc.ts';

function harness(options: Partial<ConstructorParameters<typeof RpcSession>[2]> = {}) {
  const sent: unknown[] = [];
  let emitNow: ((value: unknown) => void) | null = null;
  const ticker: SubscriptionHandler = {
    notification: 'test_tick',
    unsubscribe: 'test_unsubscribeTicks',
    subscribe: (_params, emit) => {
      emit({ first: true }); // emitted before the subscribe response exists
      emitNow = emit;
      return () => {
        emitNow = null;
      };
    },
  };
  const handlers: RpcHandlers = {
    methods: new Map([
      ['test_echo', (params: readonly unknown[]) => params[0] ?? null],
      [
        'test_fail',
        () => {
          throw new RpcError(-32004, 'Not found: thing');
        },
      ],
      [
        'test_crash',
        () => {
          throw new Error('secret internal detail at /srv/app.ts:12');
        },
      ],
      ['test_big', () => 'x'.repeat(5000)],
    ]),
    subscriptions: new Map([['test_subscribeTicks', ticker]]),
  };
  const internal: string[] = [];
  const session = new RpcSession(handlers, (text) => sent.push(JSON.parse(answerText(text))), {
    maxSubscriptions: 2,
    maxBatchLength: 3,
    maxResponseSize: 1000,
    subscriptionsAllowed: true,
    onInternalError: (method) => internal.push(method),
    ...options,
  });
  return { session, sent, internal, emit: (v: unknown) => emitNow?.(v) };
}

describe('RpcSession (JSON-RPC 2.0, Substrate conventions)', () => {
  it('echoes ids unchanged and always includes result', async () => {
    const { session, sent } = harness();
    await session.handleText('{"jsonrpc":"2.0","id":"abc","method":"test_echo","params":[]}');
    await session.handleText('{"jsonrpc":"2.0","id":7,"method":"test_echo","params":[{"a":1}]}');
    assert.deepEqual(sent, [
      { jsonrpc: '2.0', id: 'abc', result: null },
      { jsonrpc: '2.0', id: 7, result: { a: 1 } },
    ]);
  });

  it('answers malformed JSON with -32700 and id null, invalid requests with -32600', async () => {
    const { session, sent } = harness();
    await session.handleText('{"jsonrpc":"2.0","id":1,"method"');
    await session.handleText('{"jsonrpc":"1.0","id":2,"method":"test_echo"}');
    await session.handleText('{"jsonrpc":"2.0","id":3}');
    await session.handleText('[]');
    await session.handleText('"text"');
    assert.deepEqual(
      sent.map((r) => [(r as { id: unknown }).id, (r as { error: { code: number } }).error.code]),
      [
        [null, -32700],
        [2, -32600],
        [3, -32600],
        [null, -32600],
        [null, -32600],
      ],
    );
  });

  it('answers unknown methods with -32601, application errors with their code, internal errors without detail', async () => {
    const { session, sent, internal } = harness();
    await session.handleText('{"jsonrpc":"2.0","id":1,"method":"nope"}');
    await session.handleText('{"jsonrpc":"2.0","id":2,"method":"test_fail"}');
    await session.handleText('{"jsonrpc":"2.0","id":3,"method":"test_crash"}');
    assert.deepEqual(sent, [
      { jsonrpc: '2.0', id: 1, error: { code: -32601, message: 'Method not found' } },
      { jsonrpc: '2.0', id: 2, error: { code: -32004, message: 'Not found: thing' } },
      { jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'Internal error' } },
    ]);
    assert.deepEqual(internal, ['test_crash']);
  });

  it('answers batches in one array, skips notifications (no id), and refuses batches over the limit', async () => {
    const { session, sent } = harness();
    await session.handleText(
      '[{"jsonrpc":"2.0","id":1,"method":"test_echo","params":[1]},{"jsonrpc":"2.0","method":"test_echo"},{"jsonrpc":"2.0","id":2,"method":"nope"}]',
    );
    assert.deepEqual(sent.shift(), [
      { jsonrpc: '2.0', id: 1, result: 1 },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: 'Method not found' } },
    ]);
    await session.handleText(
      JSON.stringify(Array.from({ length: 4 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'test_echo' }))),
    );
    assert.equal((sent.shift() as { error: { code: number } }).error.code, -32010);
    await session.handleText('{"jsonrpc":"2.0","method":"test_echo"}');
    assert.equal(sent.length, 0);
  });

  it('replaces a response over the size limit with -32008', async () => {
    const { session, sent } = harness();
    await session.handleText('{"jsonrpc":"2.0","id":9,"method":"test_big"}');
    assert.deepEqual((sent[0] as { id: number; error: { code: number } }).error.code, -32008);
    assert.equal((sent[0] as { id: number }).id, 9);
  });

  it('never lets a notification overtake the subscribe response; unsubscribe answers true once', async () => {
    const { session, sent, emit } = harness();
    await session.handleText('{"jsonrpc":"2.0","id":1,"method":"test_subscribeTicks"}');
    const id = (sent[0] as { result: string }).result;
    assert.match(id, /^[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(sent[1], {
      jsonrpc: '2.0',
      method: 'test_tick',
      params: { subscription: id, result: { first: true } },
    });
    emit(new RawJson('{"pre":"encoded"}'));
    assert.deepEqual(sent[2], {
      jsonrpc: '2.0',
      method: 'test_tick',
      params: { subscription: id, result: { pre: 'encoded' } },
    });
    await session.handleText(`{"jsonrpc":"2.0","id":2,"method":"test_unsubscribeTicks","params":["${id}"]}`);
    await session.handleText(`{"jsonrpc":"2.0","id":3,"method":"test_unsubscribeTicks","params":["${id}"]}`);
    assert.deepEqual(sent.slice(3), [
      { jsonrpc: '2.0', id: 2, result: true },
      { jsonrpc: '2.0', id: 3, result: false },
    ]);
    emit({ late: true });
    assert.equal(sent.length, 5, 'nothing after unsubscribe');
  });

  it('refuses subscriptions beyond the per-connection limit with -32006, and on HTTP', async () => {
    const { session, sent } = harness();
    for (let i = 1; i <= 3; i++)
      await session.handleText(`{"jsonrpc":"2.0","id":${i},"method":"test_subscribeTicks"}`);
    const errors = sent.filter((m) => (m as { error?: unknown }).error) as {
      id: number;
      error: { code: number };
    }[];
    assert.deepEqual(
      errors.map((e) => [e.id, e.error.code]),
      [[3, -32006]],
    );
    const http = harness({ subscriptionsAllowed: false });
    await http.session.handleText('{"jsonrpc":"2.0","id":1,"method":"test_subscribeTicks"}');
    assert.equal((http.sent[0] as { error: { code: number } }).error.code, -32601);
  });

  it('counts a batch as one response: past the limit the whole batch is one -32008 and later calls are not run', async () => {
    let started = 0;
    const observer = { started: () => started++, finished: () => undefined };
    const { session, sent } = harness({ maxBatchLength: 100, maxResponseSize: 12_000, observer });
    const calls = Array.from({ length: 5 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'test_big' }));
    await session.handleText(JSON.stringify(calls.slice(0, 2)));
    assert.equal((sent[0] as unknown[]).length, 2, 'two 5 KB answers fit in 12 KB');
    started = 0;
    await session.handleText(JSON.stringify(calls));
    assert.equal(started, 3, 'the third call spent the budget; the fourth and fifth never ran');
    assert.deepEqual(sent[1], {
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32008,
        message: 'The batch response was too large',
        data: 'Exceeded max limit of 12000',
      },
    });
  });

  it('gives a batch -32009 while too many batch answers are held across sessions', async () => {
    const shared = { bytes: 0, max: 4000 };
    const { session, sent } = harness({
      maxBatchLength: 100,
      maxResponseSize: 100_000,
      batchesInProgress: shared,
    });
    const calls = Array.from({ length: 3 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'test_big' }));
    await session.handleText(JSON.stringify(calls));
    assert.equal((sent[0] as { error: { code: number } }).error.code, -32009);
    assert.equal(shared.bytes, 0, 'released when the batch ends');
    await session.handleText(JSON.stringify(calls.slice(0, 1)));
    assert.equal((sent[1] as unknown[]).length, 1, 'a batch under the shared limit is answered');
  });

  it('refuses input nested deeper than 128 levels with -32600 before parsing it', async () => {
    const { session, sent } = harness();
    await session.handleText(
      `{"jsonrpc":"2.0","id":1,"method":"test_echo","params":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    );
    await session.handleText(
      `{"jsonrpc":"2.0","id":2,"method":"test_echo","params":[${'['.repeat(100)}${']'.repeat(100)}]}`,
    );
    assert.deepEqual(sent[0], {
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Invalid request', data: 'nested deeper than 128 levels' },
    });
    assert.equal((sent[1] as { id: number }).id, 2, '100 levels are fine');
  });

  it('ignores a subscribe sent as a notification (its id could never be told)', async () => {
    const { session, sent } = harness();
    await session.handleText('{"jsonrpc":"2.0","method":"test_subscribeTicks","params":[]}');
    assert.equal(session.subscriptionCount, 0);
    assert.deepEqual(sent, []);
  });
});

describe('large answers and large forwarded requests (issue 27.6)', () => {
  it('paramsSpan finds the params member as written, the last one when given twice, whatever the spacing', () => {
    const cases: [string, string | undefined][] = [
      ['{"jsonrpc":"2.0","id":1,"method":"m","params":["0xab",{"a":"}]\\""}]}', '["0xab",{"a":"}]\\""}]'],
      ['{ "params" : [1, 2] , "id" : "x\\"params", "method":"m" }', '[1, 2]'],
      ['{"params":[1],"id":1,"params":[2,3]}', '[2,3]'],
      ['{"id":1,"method":"m"}', undefined],
      ['{"params":{"k":[[]]},"id":null}', '{"k":[[]]}'],
      ['{"pa\\u0072ams":[9]}', '[9]'],
      ['[1]', undefined],
    ];
    for (const [text, expected] of cases) {
      assert.equal(paramsSpan(text), expected, text);
      if (expected !== undefined) assert.deepEqual(JSON.parse(expected), JSON.parse(text).params, text);
    }
  });

  it('JsonParts results are counted in bytes against the budget, joined into batches, and never made one string before sending', async () => {
    const parts = JsonParts.of(['{"a":[', '"x"', ',"y"', ']}']);
    const sent: Answer[] = [];
    const handlers: RpcHandlers = {
      methods: new Map([
        ['test_parts', () => parts],
        ['test_huge', () => JsonParts.of(['"', 'z'.repeat(2000), '"'])],
      ]),
      subscriptions: new Map(),
    };
    const session = new RpcSession(handlers, (answer) => sent.push(answer), {
      maxSubscriptions: 1,
      maxBatchLength: 10,
      maxResponseSize: 1000,
      subscriptionsAllowed: false,
    });
    await session.handleText('{"jsonrpc":"2.0","id":7,"method":"test_parts"}');
    assert.ok(sent[0] instanceof JsonParts, 'sent as parts');
    assert.deepEqual(JSON.parse(answerText(sent[0]!)), { jsonrpc: '2.0', id: 7, result: { a: ['x', 'y'] } });
    await session.handleText(
      '[{"jsonrpc":"2.0","id":1,"method":"test_parts"},{"jsonrpc":"2.0","id":2,"method":"xcmp_nope"}]',
    );
    assert.ok(sent[1] instanceof JsonParts, 'a batch holding parts is parts');
    const batch = JSON.parse(answerText(sent[1]!)) as {
      id: number;
      result?: unknown;
      error?: { code: number };
    }[];
    assert.deepEqual(
      batch.map((a) => a.id),
      [1, 2],
    );
    assert.equal(batch[1]!.error!.code, -32601);
    await session.handleText('{"jsonrpc":"2.0","id":3,"method":"test_huge"}');
    const refused = JSON.parse(answerText(sent[2]!)) as { error: { code: number } };
    assert.equal(refused.error.code, -32008, 'over the response limit by its bytes');
  });

  it('holds at most 1 MiB of forwarded requests per connection in flight, and refuses past the shared bound with -32009', async () => {
    const waiting: (() => void)[] = [];
    let started = 0;
    const handlers: RpcHandlers = {
      methods: new Map(),
      subscriptions: new Map(),
      fallback: () => {
        started += 1;
        return new Promise((resolve) => waiting.push(() => resolve(null)));
      },
    };
    const shared = { bytes: 0, max: 2 * 1024 * 1024 };
    const sent: Answer[] = [];
    const open = () =>
      new RpcSession(handlers, (answer) => sent.push(answer), {
        maxSubscriptions: 1,
        maxBatchLength: 10,
        subscriptionsAllowed: false,
        forwardsInProgress: shared,
      });
    const big = (id: number) =>
      JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'state_getStorage',
        params: [`0x${'ab'.repeat(200_000)}`],
      });
    const first = open();
    const arrivals = [1, 2, 3].map((id) => first.handleText(big(id)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(started, 2, 'two 400 kB calls fit in 1 MiB; the third waits for one to be answered');
    for (const id of [10, 11, 12, 13, 14]) void open().handleText(big(id));
    await new Promise((resolve) => setImmediate(resolve));
    const busy = sent.map((a) => JSON.parse(answerText(a)) as { id: number; error?: { code: number } });
    assert.ok(
      busy.some((a) => a.error?.code === -32009),
      'past the shared bound: server busy',
    );
    for (const resolve of waiting.splice(0)) resolve();
    await Promise.all(arrivals);
    assert.ok(started >= 3, 'the waiting call went on once the first were answered');
    for (const resolve of waiting.splice(0)) resolve();
    await first.settled();
    assert.equal(shared.bytes, 0, 'every forwarded byte released when answered');
  });
});
