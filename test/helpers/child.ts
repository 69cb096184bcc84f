/** The real sidecar CLI in a child process, for tests that measure its memory or kill it. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { spawnCli } from './cli.ts';

export interface ChildSidecar {
  readonly child: ChildProcess;
  readonly url: string;
  readonly httpUrl: string;
  /** Peak and current resident memory of the process, in MB (from /proc). */
  memory(): { peakMb: number; rssMb: number };
  stderr(): string;
  stop(): Promise<void>;
}

function kbField(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return match ? Number(match[1]) : Number.NaN;
}

/** Starts `xcmp-sidecar ARGS` and resolves once it prints its JSON-RPC address. */
export async function spawnSidecar(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ChildSidecar> {
  const cli = spawnCli(args, env);
  const [, url] = await cli.until(/xcmp-sidecar JSON-RPC: (ws:\/\/\S+)/);
  const { child } = cli;
  return {
    child,
    url: url!,
    httpUrl: url!.replace(/^ws/, 'http'),
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return { peakMb: kbField(status, 'VmHWM') / 1024, rssMb: kbField(status, 'VmRSS') / 1024 };
    },
    stderr: cli.stderr,
    async stop() {
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await cli.stop('SIGTERM');
      clearTimeout(timer);
    },
  };
}

/** One JSON-RPC call over HTTP POST. */
export async function httpCall<T>(httpUrl: string, method: string, params: unknown[] = []): Promise<T> {
  const response = await fetch(httpUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const answer = (await response.json()) as { result?: T; error?: { message: string } };
  if (answer.error) throw new Error(answer.error.message);
  return answer.result as T;
}
