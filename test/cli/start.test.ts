/**
 * The command line runs built JavaScript and loads a command's code only when that command runs, so
 * help and usage errors answer at once (it took 2.8 s when TypeScript was compiled at every start).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';

/** Generous for a loaded CI machine; on an idle one these take about 60 ms. */
const FAST_MS = 1000;

function timed(args: readonly string[]): {
  ms: number;
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const start = performance.now();
  const result = runCli(args);
  return { ms: performance.now() - start, ...result };
}

/** A dist/ chunk and every chunk it imports statically (not `await import(…)`), transitively. */
function staticallyLoaded(entry: string): Set<string> {
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const text = readFileSync(join(repoRoot, 'dist', file), 'utf8');
    for (const match of text.matchAll(/^import[^;]*?from\s*"\.\/([^"]+)"/gms)) visit(match[1]!);
  };
  visit(entry);
  return loaded;
}

describe('CLI start-up', () => {
  it('bin/xcmp-sidecar.js runs the build in dist/, not the TypeScript sources', () => {
    const bin = readFileSync(join(repoRoot, 'bin/xcmp-sidecar.js'), 'utf8');
    assert.match(bin, /\.\.\/dist\/main\.js/);
    assert.doesNotMatch(bin, /tsx/);
    // What `--help` loads: dist/main.js and the chunks it imports statically (not `await import(…)`).
    const loaded = staticallyLoaded('main.js');
    for (const file of loaded) {
      const text = readFileSync(join(repoRoot, 'dist', file), 'utf8');
      assert.doesNotMatch(
        text,
        /from "@polkadot\/|from "better-sqlite3"|from "ws"/,
        `${file} is loaded by --help`,
      );
    }
  });

  it('the service on a node does not load the devnet or the trie wasm (about 20 MB less resident)', () => {
    const [run] = readdirSync(join(repoRoot, 'dist')).filter((f) => /^run-[\w-]+\.js$/.test(f));
    assert.ok(run, 'the run chunk is built');
    for (const file of staticallyLoaded(run)) {
      const text = readFileSync(join(repoRoot, 'dist', file), 'utf8');
      assert.doesNotMatch(text, /^\/\/ src\/devnet\//m, `${file}, loaded by the service, holds devnet code`);
      assert.doesNotMatch(text, /from "@acala-network\/chopsticks-executor"/, `${file} loads the trie wasm`);
    }
  });

  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = timed(['--version']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), version);
  });

  it('a reader that goes away (`--help | head -1`) ends the command quietly, exit 0', async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/xcmp-sidecar.js'), '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader is gone before the help is written: the write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|Error/);
  });

  for (const args of [['--help'], ['devnet', '--help'], ['subscribe', '--help'], ['--no-such-flag']]) {
    it(`\`xcmp-sidecar ${args.join(' ')}\` answers within ${FAST_MS} ms`, () => {
      const result = timed(args);
      assert.equal(result.status, args[0] === '--no-such-flag' ? 2 : 0, result.stderr);
      assert.ok(result.ms < FAST_MS, `took ${result.ms.toFixed(0)} ms`);
    });
  }
});
