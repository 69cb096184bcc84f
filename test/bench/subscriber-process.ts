/**
 * Speculative subscribers in a process of their own (as real subscribers are): opens the
 * subscriptions its parent asks for, and when asked reports, per para block, when each
 * `speculative` update arrived (performance.timeOrigin + now: comparable across processes).
 */
import { openSubscribers } from './subscribers.ts';

interface Task {
  readonly url: string;
  readonly total: number;
  readonly params: readonly unknown[];
}

const task = await new Promise<Task>((resolve) => process.once('message', (m) => resolve(m as Task)));
const arrivals = new Map<string, number[]>();
const close = await openSubscribers(
  task.url,
  task.total,
  Math.min(task.total, 100),
  task.params,
  (text, at) => {
    if (!text.includes('"type":"speculative"')) return;
    const hash = /"paraBlock":\{"number":\d+,"hash":"(0x[0-9a-f]+)"/.exec(text)?.[1];
    if (hash === undefined) return;
    const list = arrivals.get(hash) ?? [];
    list.push(performance.timeOrigin + at);
    arrivals.set(hash, list);
  },
);
process.send!({ type: 'ready' });
process.on('message', (message: unknown) => {
  if (message !== 'report') return;
  close();
  process.send!({ type: 'report', arrivals: [...arrivals] }, () => process.exit(0));
});
