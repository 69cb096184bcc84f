/** Tiny benchmark helpers: warm up, time N iterations, print a table with a baseline ratio. */
export interface Measurement {
  readonly name: string;
  readonly iterations: number;
  readonly perSecond: number;
  readonly meanMs: number;
}

export function measure(name: string, iterations: number, work: () => void): Measurement {
  // Steady state: a fifth of the run again as warm-up, so the JIT has optimized what is timed.
  for (let i = 0; i < Math.max(20, iterations / 5); i++) work();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { name, iterations, perSecond: iterations / seconds, meanMs: (seconds * 1000) / iterations };
}

export function printTable(title: string, rows: readonly (Measurement & { baseline: number })[]): void {
  console.log(`\n${title}`);
  console.log(
    `${'what'.padEnd(34)} ${'per second'.padStart(12)} ${'mean ms'.padStart(10)} ${'vs baseline'.padStart(12)}`,
  );
  for (const row of rows) {
    console.log(
      `${row.name.padEnd(34)} ${row.perSecond.toFixed(1).padStart(12)} ${row.meanMs.toFixed(3).padStart(10)} ${`${(row.perSecond / row.baseline).toFixed(1)}×`.padStart(12)}`,
    );
  }
}

/** The value at percentile `p` of ascending `sorted` (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}
