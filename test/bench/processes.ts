/** Benchmarks that measure across processes: a devnet in its own process, made to hold N blocks. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/fixtures.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The built CLI (`npm run build`), as an operator runs it. */
export const CLI = join(repoRoot, 'bin/xcmp-sidecar.js');

/** `xcmp-sidecar devnet` on `port`, producing only on dev_newBlock; resolves once it listens. */
export async function devnetProcess(args: readonly string[], port: number): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'devnet', '--port', String(port), '--block-time-ms', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
    child.once('exit', () => reject(new Error('devnet exited')));
  });
  return child;
}

export async function rpc<T>(port: number, method: string, params: unknown[]): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${port}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await response.json()) as { result: T; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

/** Makes `blocks` blocks; returns the blocks per second the devnet made them at. */
export async function makeBlocks(port: number, blocks: number): Promise<number> {
  const start = performance.now();
  for (let made = 0; made < blocks; made += 50)
    await rpc(port, 'dev_newBlock', [{ count: Math.min(50, blocks - made) }]);
  return blocks / ((performance.now() - start) / 1000);
}

/** The devnet's finalized block number. */
export async function finalizedNumber(port: number): Promise<number> {
  const hash = await rpc<string>(port, 'chain_getFinalizedHead', []);
  return Number.parseInt((await rpc<{ number: string }>(port, 'chain_getHeader', [hash])).number, 16);
}

/**
 * The sidecar (built CLI) following `nodeUrl` with an in-memory store; resolves once it serves.
 * BENCH_SIDECAR_NODE_ARGS adds Node flags (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
export async function sidecarProcess(
  nodeUrl: string,
  port: number,
  args: readonly string[] = [],
): Promise<ChildProcess> {
  const nodeArgs = process.env.BENCH_SIDECAR_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      CLI,
      '--node',
      nodeUrl,
      '--db',
      ':memory:',
      '--port',
      String(port),
      '--log',
      'warn',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('xcmp-sidecar JSON-RPC')) resolve();
    });
    child.once('exit', () => reject(new Error('sidecar exited')));
  });
  return child;
}
