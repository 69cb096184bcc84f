/** Structured logs (pino): pretty on a terminal, JSON lines otherwise. */
import { format } from 'node:util';
import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export function createLogger(
  options: { level?: string; pretty?: boolean; destination?: NodeJS.WritableStream } = {},
): Logger {
  const level = options.level ?? process.env.XCMP_LOG ?? 'info';
  const destination = options.destination ?? process.stderr;
  const usePretty = options.pretty ?? Boolean((destination as NodeJS.WriteStream).isTTY);
  const base = { level, base: { service: 'xcmp-sidecar' } };
  return usePretty
    ? pino(base, pretty({ colorize: true, destination, sync: true, ignore: 'pid,hostname,service' }))
    : pino(base, destination as pino.DestinationStream);
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const CONSOLE_LEVELS = {
  log: 'info',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
  warn: 'warn',
  error: 'error',
} as const;

/**
 * Sends console output (polkadot-js reports through console.*) through `logger`, so stderr holds
 * only the service's own structured lines. Returns a function that restores the console.
 */
export function routeConsole(logger: Logger): () => void {
  const saved = new Map<keyof typeof CONSOLE_LEVELS, (...args: unknown[]) => void>();
  for (const [method, level] of Object.entries(CONSOLE_LEVELS) as [
    keyof typeof CONSOLE_LEVELS,
    pino.Level,
  ][]) {
    saved.set(method, console[method]);
    console[method] = (...args: unknown[]) => logger[level]({ source: 'console' }, format(...args));
  }
  return () => {
    for (const [method, original] of saved) console[method] = original;
  };
}
