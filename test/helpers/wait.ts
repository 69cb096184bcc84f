/** Polling for a condition, instead of sleeping a fixed time and hoping. */

/** Resolves with the first truthy value of `probe`; fails after `timeoutMs` with `what` and the last value. */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 25, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves once the store's cursor has reached `number`. */
export async function storedUpTo(
  store: { cursor(): Promise<{ number: number } | null> },
  number: number,
  timeoutMs = 30_000,
): Promise<void> {
  try {
    await eventually(async () => ((await store.cursor())?.number ?? -1) >= number, {
      timeoutMs,
      intervalMs: 20,
    });
  } catch {
    throw new Error(
      `store at #${number} not reached within ${timeoutMs} ms (at ${(await store.cursor())?.number ?? 'nothing'})`,
    );
  }
}
