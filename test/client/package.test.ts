import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type MessageRecord, messageId } from '../../src/store/types.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';

const run = promisify(execFile);
const RECIPIENT = 2000;

/** The example of docs/client.md, as written there. */
function documentedExample(): string {
  const doc = readFileSync(join(repoRoot, 'docs/client.md'), 'utf8');
  const block = /```js\n(\/\/ inbox\.mjs[\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/client.md has the inbox.mjs example');
  return block[1]!;
}

/** A project of a user's: the package installed (linked) under node_modules, nothing else of this repo. */
function consumerProject(example: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'xcmp-consumer-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules/xcmp-sidecar'), 'dir');
  symlinkSync(join(repoRoot, 'node_modules/@types'), join(dir, 'node_modules/@types'), 'dir');
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );
  writeFileSync(join(dir, 'inbox.mjs'), example);
  writeFileSync(join(dir, 'inbox.ts'), example);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noEmit: true,
        types: ['node'],
        skipLibCheck: true,
      },
      files: ['inbox.ts'],
    }),
  );
  return dir;
}

interface Printed {
  error?: { code: number; message: string };
  block?: number;
  id?: string;
  sender?: number;
  verified?: boolean;
  xcm?: { format: string; programs: Record<string, unknown[]>[] };
}

async function runExample(dir: string, env: Record<string, string>): Promise<Printed[]> {
  const { stdout } = await run(process.execPath, ['inbox.mjs'], {
    cwd: dir,
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Printed);
}

describe('the package as a library: xcmp-sidecar/client from plain Node 20 and TypeScript', () => {
  let stack: Stack;
  let dir: string;
  before(async () => {
    stack = await startStack();
    await advance(stack, 24);
    dir = consumerProject(documentedExample());
  });
  after(() => stack?.close());

  it('package.json exports ./client as built JavaScript with types, nothing from src/', () => {
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    assert.match(pkg.exports['./client']!.default, /^\.\/dist\/.*\.js$/);
    assert.match(pkg.exports['./client']!.types, /^\.\/dist\/.*\.d\.ts$/);
    const built = readFileSync(join(repoRoot, pkg.exports['./client']!.default), 'utf8');
    assert.doesNotMatch(built, /from ["'][^"']*\.ts["']/, 'the built client imports no TypeScript');
  });

  it("docs/client.md's example runs as written, then resumes after the last block without repeats", async () => {
    const env = { XCMP_URL: stack.sidecar.server.url, XCMP_RECIPIENT: String(RECIPIENT) };
    const byBlock = new Map<number, MessageRecord[]>();
    for (const m of (await stack.sidecar.store.inbox(RECIPIENT)).filter((m) => m.verified))
      byBlock.set(m.sentAt, [...(byBlock.get(m.sentAt) ?? []), m]);
    const stored = [...byBlock.values()].map((messages) => ({ messages }));
    assert.ok(stored.length >= 3, `the devnet sent para ${RECIPIENT} messages in ${stored.length} blocks`);

    const first = await runExample(dir, { ...env, XCMP_FROM_BLOCK: '1', XCMP_BLOCKS: '2' });
    assert.equal(first[0]?.error?.code, -32004, "the error example prints the server's code");
    const firstMessages = first.slice(1);
    const expected = stored.slice(0, 2).flatMap((b) => b.messages);
    assert.deepEqual(
      firstMessages.map((p) => [p.block, p.id, p.sender, p.verified]),
      expected.map((m) => [m.sentAt, messageId(m), m.sender, true]),
    );
    for (const p of firstMessages) {
      const [program] = p.xcm?.programs ?? [];
      const [version, instructions] = Object.entries(program ?? {})[0] ?? [];
      assert.match(version ?? '', /^V\d$/, `${p.id}: decode: true gave the message its XCM`);
      assert.ok(Array.isArray(instructions) && instructions.length > 0);
    }

    const resumeAt = firstMessages.at(-1)!.block! + 1;
    const resumed = await runExample(dir, { ...env, XCMP_FROM_BLOCK: String(resumeAt), XCMP_BLOCKS: '1' });
    assert.deepEqual(
      resumed.slice(1).map((p) => p.id),
      stored[2]!.messages.map((m) => messageId(m)),
      'the next block with messages, and nothing delivered before',
    );
  });

  it('the same example type-checks as TypeScript against the exported types', async () => {
    const tsc = join(repoRoot, 'node_modules/typescript/bin/tsc');
    const result = await run(process.execPath, [tsc, '-p', dir], { timeout: 60_000 }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout, failed: true }),
    );
    assert.ok(!('failed' in result), `tsc found errors:\n${result.stdout}`);
    // A wrong use must fail, or the check above proves nothing (an untyped module would pass it).
    writeFileSync(
      join(dir, 'inbox.ts'),
      `${documentedExample()}\nconst wrong: string = (await XcmpClient.connect(url)).url.length;\n`,
    );
    const broken = await run(process.execPath, [tsc, '-p', dir], { timeout: 60_000 }).then(
      () => '',
      (error: { stdout: string }) => error.stdout,
    );
    assert.match(broken, /Type 'number' is not assignable to type 'string'/);
  });
});
