import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { main } from '../../src/cli/main.ts';
import { repoRoot } from './fixtures.ts';
import { eventually } from './wait.ts';

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `xcmp-sidecar` entry point, as a user would. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/xcmp-sidecar.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like runCli, without blocking the event loop (for tests that serve the CLI from this process). */
export function runCliAsync(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/xcmp-sidecar.js'), ...args], {
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface RunningCli {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; fails if it exits or the time runs out first. */
  until(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the real CLI and keeps it running; `until` waits for what it prints. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = spawn(process.execPath, [join(repoRoot, 'bin/xcmp-sidecar.js'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    async until(pattern, timeoutMs = 30_000) {
      await eventually(() => pattern.test(stdout) || child.exitCode !== null, {
        timeoutMs,
        what: `${pattern} in the output of xcmp-sidecar ${args.join(' ')} (stderr: ${stderr.slice(-300)})`,
      });
      const match = pattern.exec(stdout);
      if (!match)
        throw new Error(`xcmp-sidecar exited with ${child.exitCode} before printing ${pattern}: ${stderr}`);
      return match;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** Parses stderr off a terminal: every line must be one pino JSON object. */
export function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`a stderr line is not pino JSON: ${line}`);
      }
    });
}

/** The service's last log line, which is why it stopped when it could not start (pino level 60, fatal). */
export function fatalMessage(stderr: string): string {
  const last = logLines(stderr).at(-1);
  if (last?.level !== 60) throw new Error(`the last stderr line is not a fatal log line: ${stderr}`);
  return last.msg;
}

/** Runs the CLI's main in this process (with `env` set meanwhile); returns its exit code and what it wrote to stderr. */
export async function mainWith(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((chunk: string) => {
    stderr += chunk;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    process.stderr.write = write;
    process.env = saved;
  }
}

/** The updates `subscribe` printed so far, one JSON line each (a line still being written is left for later). */
export const printedUpdates = (cli: RunningCli): MailboxUpdateJson[] =>
  cli
    .stdout()
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as MailboxUpdateJson);
