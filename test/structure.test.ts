/** The code's shape, checked: short functions in src/, and pure rooms that do no I/O. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/fixtures.ts';

function filesUnder(dir: string): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('structure', () => {
  it('has no function in src/ over 80 lines (biome noExcessiveLinesPerFunction)', () => {
    const biome = join(repoRoot, 'node_modules/.bin/biome');
    const result = spawnSync(biome, ['lint', '--only=complexity/noExcessiveLinesPerFunction', 'src'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    const long = [...`${result.stdout}${result.stderr}`.matchAll(/^(src\/\S+:\d+:\d+) lint/gm)].map(
      (m) => m[1],
    );
    assert.deepEqual(long, []);
    assert.equal(result.status, 0, result.stderr);
  });

  it('keeps protocol/ and derive/ pure: no I/O modules imported', () => {
    const io =
      /from '(node:(fs|net|http|https|child_process|dgram|tls)|ws|better-sqlite3|koa|pino|@polkadot\/api)'/;
    for (const file of [...filesUnder('src/protocol'), ...filesUnder('src/derive')])
      assert.doesNotMatch(readFileSync(file, 'utf8'), io, file);
  });

  it('has no import circles in src/ (a module never reaches itself through its imports)', () => {
    const files = filesUnder('src');
    const importsOf = new Map<string, string[]>();
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const targets = [...text.matchAll(/^(?:import|export)[^;]*?from '(\.{1,2}\/[^']+\.ts)'/gm)]
        .filter((m) => !/^import type|^export type/.test(m[0]))
        .map((m) => resolve(dirname(file), m[1]!));
      importsOf.set(file, targets);
    }
    const circles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        circles.push(
          [...path.slice(path.indexOf(file)), file].map((f) => f.slice(repoRoot.length + 1)).join(' → '),
        );
        return;
      }
      state.set(file, 'visiting');
      for (const target of importsOf.get(file) ?? []) visit(target, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    assert.deepEqual(circles, []);
  });
});
