/** Structured logs (pino): pretty on a terminal, JSON lines otherwise. */
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
