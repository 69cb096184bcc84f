/** The real sidecar CLI in a child process, for tests that measure its memory or kill it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './fixtures.ts';

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
  const child = spawn(process.execPath, [join(repoRoot, 'bin/xcmp-sidecar.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address within 30 s: ${stderr}`)), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /xcmp-sidecar JSON-RPC: (ws:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before serving: ${stderr}`));
    });
  });
  return {
    child,
    url,
    httpUrl: url.replace(/^ws/, 'http'),
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return { peakMb: kbField(status, 'VmHWM') / 1024, rssMb: kbField(status, 'VmRSS') / 1024 };
    },
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
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
