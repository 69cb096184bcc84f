import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.ts';

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
