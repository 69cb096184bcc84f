import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MailboxUpdateJson } from '../../rpc/schemas.ts';
import { spawnCli } from '../helpers/cli.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

describe('xcmp-sidecar subscribe', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 2 });
    await advance(stack, 6);
  });
  after(() => stack?.close());

  it('prints the inbox updates as JSON lines, replaying from --from-block', async () => {
    const cli = spawnCli([
      'subscribe',
      '--url',
      stack.sidecar.server.url,
      '--recipient',
      '2000',
      '--from-block',
      '1',
    ]);
    const stored = stack.sidecar.store.inbox(2000);
    const lines = () =>
      cli
        .stdout()
        .split('\n')
        .filter((line) => line.endsWith('}'))
        .map((line) => JSON.parse(line) as MailboxUpdateJson);
    await eventually(() => lines().flatMap((l) => l.messages).length >= stored.length, {
      timeoutMs: 20_000,
      what: 'every stored message printed',
    });
    await cli.stop();
    assert.deepEqual(
      lines().flatMap((l) => l.messages.map((m) => m.id)),
      stored.map((m) => `${m.sentAt}-${m.sender}-${m.recipient}-${m.index}`),
    );
  });
});
