import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';

describe('xcmp-sidecar subscribe', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 2 });
    await advance(stack, 6);
  });
  after(() => stack?.close());

  it('prints the inbox updates as JSON lines, replaying from --from-block', async () => {
    const child = spawn(process.execPath, [
      join(repoRoot, 'bin/xcmp-sidecar.js'),
      'subscribe',
      '--url',
      stack.sidecar.server.url,
      '--recipient',
      '2000',
      '--from-block',
      '1',
    ]);
    const lines: MailboxUpdateJson[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const part of parts) if (part) lines.push(JSON.parse(part));
    });
    const stored = stack.sidecar.store.inbox(2000);
    const deadline = Date.now() + 20_000;
    while (lines.flatMap((l) => l.messages).length < stored.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(
      lines.flatMap((l) => l.messages.map((m) => m.id)),
      stored.map((m) => `${m.sentAt}-${m.sender}-${m.recipient}-${m.index}`),
    );
  });
});
