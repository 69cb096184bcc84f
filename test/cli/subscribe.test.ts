import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { printedUpdates, runCliAsync, spawnCli } from '../helpers/cli.ts';
import { advance, type Stack, startStack } from '../helpers/sidecar.ts';
import { eventually } from '../helpers/wait.ts';

describe('xcmp-sidecar subscribe', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ initialBlocks: 2 }, { paraNodes: 'devnet' });
    await advance(stack, 6);
  });
  after(() => stack?.close());
  /** `subscribe` against the stack's sidecar, with `more` flags. */
  const subscribeArgs = (...more: string[]) => ['subscribe', '--url', stack.sidecar.server.url, ...more];

  it('prints the inbox updates as JSON lines, replaying from --from-block', async () => {
    const cli = spawnCli(subscribeArgs('--recipient', '2000', '--from-block', '1'));
    const stored = await stack.sidecar.store.inbox(2000);
    const lines = () => printedUpdates(cli);
    await eventually(() => lines().flatMap((l) => l.messages).length >= stored.length, {
      timeoutMs: 20_000,
      what: 'every stored message printed',
    });
    assert.equal(await cli.stop(), 0);
    assert.doesNotMatch(cli.stderr(), /reconnecting/, 'a SIGTERM is not a lost connection');
    assert.deepEqual(
      lines().flatMap((l) => l.messages.map((m) => m.id)),
      stored.map((m) => `${m.sentAt}-${m.sender}-${m.recipient}-${m.index}`),
    );
  });

  it('--finality pending prints messages at backing, then their enactment', async () => {
    const cli = spawnCli(subscribeArgs('--recipient', '2001', '--finality', 'pending'));
    const lines = () => printedUpdates(cli);
    const before = stack.sidecar.hub.subscriberCount.mailbox;
    await eventually(() => stack.sidecar.hub.subscriberCount.mailbox > before, {
      timeoutMs: 20_000,
      what: 'subscribed',
    });
    const joinedAt = stack.devnet.chain.best.number;
    await stack.devnet.newBlocks(3);
    // Wait for an enactment of a candidate backed after the subscriber joined, not merely the first one.
    await eventually(
      () => lines().some((l) => l.type === 'messages' && l.messages.some((m) => m.sentAt > joinedAt + 1)),
      { timeoutMs: 20_000, what: 'an enactment of a candidate backed after joining' },
    );
    await cli.stop();
    const pending = lines()
      .filter((l) => l.type === 'pending')
      .flatMap((l) => l.pending ?? []);
    const enacted = lines()
      .filter((l) => l.type === 'messages')
      .flatMap((l) => l.messages);
    assert.ok(pending.length > 0);
    assert.ok(enacted.some((m) => m.sentAt > joinedAt + 1));
    for (const m of enacted.filter((m) => m.sentAt > joinedAt + 1))
      assert.ok(
        pending.some((p) => p.candidateHash === m.candidateHash && p.position === m.position),
        `${m.id} was pending first`,
      );
  });

  it("--finality speculative prints para blocks' messages before their backing, never verified", async () => {
    const cli = spawnCli(subscribeArgs('--recipient', '2001', '--finality', 'speculative'));
    const lines = () => printedUpdates(cli);
    const before = stack.sidecar.hub.subscriberCount.mailbox;
    await eventually(() => stack.sidecar.hub.subscriberCount.mailbox > before, {
      timeoutMs: 20_000,
      what: 'subscribed',
    });
    await stack.devnet.newBlocks(4);
    const pendingOf = (paraHead: string) =>
      lines().findIndex((l) => l.type === 'pending' && l.pending!.some((m) => m.paraHead === paraHead));
    await eventually(
      () => lines().some((l, i) => l.type === 'speculative' && pendingOf(l.paraBlock!.hash) > i),
      { timeoutMs: 20_000, what: 'a speculative block, then its pending' },
    );
    await cli.stop();
    const speculative = lines().filter((l) => l.type === 'speculative');
    assert.ok(
      speculative.flatMap((l) => l.speculative!).every((m) => m.verified === false && m.recipient === 2001),
    );
  });

  it('piped into a reader that stops (`| head -3`), it exits 0 without a trace', async () => {
    const cli = spawnCli(subscribeArgs('--recipient', '2000', '--from-block', '1'));
    await eventually(() => printedUpdates(cli).length >= 3, { timeoutMs: 20_000, what: 'three lines' });
    cli.child.stdout!.destroy();
    await stack.devnet.newBlocks(3); // more updates to write into the closed pipe
    await eventually(() => cli.child.exitCode !== null, {
      timeoutMs: 15_000,
      what: 'exit once the reader went away',
    });
    assert.equal(cli.child.exitCode, 0, cli.stderr());
    assert.doesNotMatch(cli.stderr(), /EPIPE|Error|reconnecting/);
  });

  it('--url defaults to ws://127.0.0.1:9955 (the sidecar default port)', async () => {
    const result = await runCliAsync(['subscribe', '--recipient', '2000'], {});
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:9955/);
  });

  for (const [flag, value, refusal] of [
    ['--finality', 'backed', /--finality must be finalized, best, pending/],
    ['--from-block', 'abc', /--from-block must be a block number, got "abc"/],
  ] as const) {
    it(`rejects ${flag} ${value} with exit 2, saying what it takes`, async () => {
      const result = await runCliAsync(subscribeArgs('--recipient', '2001', flag, value));
      assert.equal(result.status, 2);
      assert.match(result.stderr, refusal);
    });
  }
});
