/**
 * The dashboard in headless Chromium against a devnet: channels, messages (verified and not),
 * candidates with availability and the head figures appear, keep updating live, and come back after
 * the sidecar restarts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { silentLogger } from '../../src/log.ts';
import { meshKeyFromSeed } from '../../src/mesh/members.ts';
import { toHex } from '../../src/protocol/bytes.ts';
import { type Sidecar, startSidecar } from '../../src/sidecar.ts';
import { browserMissing, type HeadlessBrowser, launchBrowser, testOutputDir } from '../helpers/browser.ts';
import { advance, type Stack, sidecarOn, startStack } from '../helpers/sidecar.ts';
import { storedUpTo } from '../helpers/wait.ts';

const missing = browserMissing();

describe('dashboard (GET /)', { skip: missing ?? false, timeout: 120_000 }, () => {
  let stack: Stack;
  let headless: HeadlessBrowser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    stack = await startStack({}, { paraNodes: 'devnet' });
    await advance(stack, 12);
    await stack.devnet.newBlocks(1, { tamperCommitments: new Set([2004]) });
    await advance(stack, 4);
    headless = await launchBrowser();
    page = await headless.browser.newPage({ viewport: { width: 1280, height: 1000 } });
    // What the chain label said at each moment the badge said "live".
    await page.addInitScript({
      content: `
        window.chainWhenLive = [];
        document.addEventListener('DOMContentLoaded', () => {
          const badge = document.querySelector('#connection');
          new MutationObserver(() => {
            if (badge.textContent === 'live') window.chainWhenLive.push(document.querySelector('#chain').textContent);
          }).observe(badge, { childList: true, characterData: true, subtree: true });
        });`,
    });
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
  });

  /** The sidecar started again by the reconnect test, in place of the stack's. */
  let restarted: Sidecar | null = null;
  after(async () => {
    await headless?.close();
    if (restarted) {
      await restarted.close();
      await stack.devnet.close();
    } else await stack?.close();
  });

  const count = (selector: string) => page.locator(selector).count();
  const text = async (selector: string) => (await page.locator(selector).first().textContent()) ?? '';
  const showsExactly = (selector: string, expected: string) =>
    page
      .locator(selector)
      .filter({ hasText: new RegExp(`^${expected}$`) })
      .waitFor();

  it('is served with a strict content security policy', async () => {
    const response = await fetch(`${stack.sidecar.server.httpUrl}/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    assert.match(response.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await response.text(), /dashboard\.js/);
    const script = await fetch(`${stack.sidecar.server.httpUrl}/dashboard/dashboard.js`);
    assert.match(script.headers.get('content-type') ?? '', /javascript/);
  });

  it('shows the channel graph, recent messages with their verification, and the head', async () => {
    await page.goto(`${stack.sidecar.server.httpUrl}/`);
    await page.waitForSelector('#connection[data-state="open"]');
    const chainWhenLive = (await page.evaluate('window.chainWhenLive')) as string[];
    assert.ok(chainWhenLive.length > 0);
    const { chain } = await stack.sidecar.status();
    assert.ok(
      chainWhenLive.every((label) => label === chain && label.startsWith('Devnet')),
      `the badge said live beside the chain label ${JSON.stringify(chainWhenLive)}`,
    );
    const channels = stack.devnet.config.channels.length;
    await page.waitForFunction(`document.querySelectorAll('#graph .channel').length === ${channels}`);
    for (const [sender, recipient] of stack.devnet.config.channels) {
      assert.equal(await count(`#graph .channel[data-sender="${sender}"][data-recipient="${recipient}"]`), 1);
    }
    await page.waitForSelector('#messages tbody tr[data-verified="true"]');
    await page.waitForSelector('#messages tbody tr[data-verified="false"]');
    const unverified = page.locator('#messages tbody tr[data-verified="false"]').first();
    assert.match((await unverified.textContent()) ?? '', /unverified/);
    assert.match((await unverified.textContent()) ?? '', /2004→/);

    const stored = await stack.sidecar.store.inbox(1000, { includeUnverified: true, limit: 10_000 });
    const firstId = await page.locator('#messages tbody tr').first().getAttribute('data-id');
    assert.ok(firstId, 'a message row carries its id');
    const newest = await stack.sidecar.store.message(firstId);
    assert.ok(newest, `the newest row (${firstId}) is a stored message`);
    assert.ok(stored.length > 0);

    const finalized = stack.devnet.chain.finalized.number;
    await showsExactly('#head [data-field="synced"]', String(finalized));
    assert.equal(await text('#head [data-field="finalized"]'), String(finalized));
    assert.equal(await text('#head [data-field="lag"]'), '0');
    assert.ok(Number(await text('#head [data-field="rate"]')) > 0, 'a message rate is shown');
    // Filled at load, before any new block: candidates replayed from the last blocks, and the
    // messages of candidates backed at the best head and not yet enacted.
    await page.waitForSelector('#candidates tbody tr[data-status="included"]');
    const bestBacked = stack.devnet.chain.best.candidateEvents.filter((e) => e.kind === 'CandidateBacked');
    for (const event of bestBacked)
      assert.equal(
        await count(`#candidates tbody tr[data-candidate="${toHex(event.candidate.candidateHash)}"]`),
        1,
      );
    const pendingAtHead = bestBacked.reduce(
      (n, e) => n + e.candidate.commitments.horizontalMessages.length,
      0,
    );
    await showsExactly('#head [data-field="pending"]', String(pendingAtHead));
    // The para nodes' blocks built on the best head, announced and not yet backed.
    await page.waitForFunction(
      'Number(document.querySelector(\'#head [data-field="speculative"]\')?.textContent) > 0',
    );
    assert.match(
      (await page.locator('#head [data-field="speculative"]').getAttribute('title')) ?? '',
      /para nodes: 1000 following, 2000 following, 2001 following, 2004 following/,
    );
    const busy = await count('#graph .channel:not(.idle)');
    assert.ok(busy > 0, 'some channels carry messages');
    const topRate = await text('#channel-rates tbody tr:first-child td:nth-child(2)');
    assert.ok(Number(topRate) > 0, `the busiest channel's rate is shown (${topRate})`);
  });

  it('updates live: new blocks bring messages and candidates with availability progress', async () => {
    const topBefore = Number((await text('#messages tbody tr:first-child td:first-child')).slice(1));
    await advance(stack, 3);
    const finalized = stack.devnet.chain.finalized.number;
    await showsExactly('#messages tbody tr:first-child td:first-child', `#${finalized}`);
    assert.ok(finalized > topBefore);
    await page.waitForSelector('#candidates tbody tr[data-status="included"]');
    const votes = await text('#candidates tbody tr[data-status="included"] .votes');
    const [have, threshold] = votes.split(' / ').map(Number);
    // The devnet's validators all vote for a candidate when it becomes available: the count, not the threshold.
    assert.equal(have, stack.devnet.config.validators, `included: votes counted / threshold (${votes})`);
    assert.ok(threshold! > 0 && threshold! < have!, `availability shown as votes / threshold: ${votes}`);

    // Journeys: each XCM's trail, its verdict proven against the relay chain, and counts per channel.
    await page.waitForSelector(
      '#journeys:not([hidden]) #journey-list tbody tr[data-outcome="executed"] .stage[data-stage="executed"][data-verified="true"]',
    );
    const journeyKey = await page
      .locator('#journey-list tbody tr')
      .filter({ has: page.locator('.stage[data-stage="executed"][data-verified="true"]') })
      .first()
      .getAttribute('data-key');
    const held = stack.sidecar.journeys!.get(journeyKey!);
    assert.equal(held?.outcome, 'executed', `${journeyKey} is a journey the sidecar holds`);
    const trail = await page
      .locator(`#journey-list tbody tr[data-key="${journeyKey}"] .stage`)
      .allTextContents();
    assert.ok(trail.includes('delivered ✓') && trail.includes('executed ✓'), trail.join(' '));
    assert.ok((await count('#journey-channels tbody tr')) >= 3, 'per-channel counts');

    await page.screenshot({ path: join(testOutputDir(), 'dashboard.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });

  it('a mesh member shows its aged history in full and as it keeps it, and each link', async () => {
    const key = meshKeyFromSeed(new Uint8Array(32).fill(9));
    const absent = `0x${'cd'.repeat(32)}`;
    const member = await startSidecar({
      nodeUrl: stack.devnet.url,
      dbPath: ':memory:',
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      startAt: 1,
      mesh: { key, peers: [{ key: absent, url: 'ws://127.0.0.1:9' }], fullRetention: 5 },
    });
    const other = await headless.browser.newPage();
    try {
      await advance(stack, 3);
      await storedUpTo(member.store, stack.devnet.chain.finalized.number);
      await other.goto(`${member.server.httpUrl}/`);
      await other.locator('#mesh').waitFor({ state: 'visible' });
      await other
        .locator('#mesh-summary', { hasText: /member \d of 2, any 1 give it back · aged up to #[1-9]/ })
        .waitFor();
      assert.match(
        (await other.locator('#mesh-summary').textContent()) ?? '',
        /in full [\d.,]+ KiB, kept [\d.,]+ KiB \([\d.]+ % of full\)/,
      );
      await other.locator('#mesh-peers tbody tr', { hasText: 'cdcdcdcd' }).waitFor();
      assert.equal(await page.locator('#mesh').isVisible(), false, 'hidden on a sidecar in no mesh');
    } finally {
      await other.close();
      await member.close();
    }
  });

  it('reconnects by itself when the sidecar restarts, and shows each message once', async () => {
    const { port } = stack.sidecar.server;
    await stack.sidecar.close();
    await page.waitForSelector('#connection[data-state="closed"]');
    restarted = await sidecarOn(stack.devnet.url, { port });
    await page.waitForSelector('#connection[data-state="open"]', { timeout: 10_000 });
    await stack.devnet.newBlocks(2);
    const finalized = stack.devnet.chain.finalized.number;
    await storedUpTo(restarted.store, finalized);
    await showsExactly('#messages tbody tr:first-child td:first-child', `#${finalized}`);
    await showsExactly('#head [data-field="synced"]', String(finalized));
    const rows = page.locator('#messages tbody tr');
    const ids: string[] = [];
    for (let i = 0; i < (await rows.count()); i++)
      ids.push((await rows.nth(i).getAttribute('data-id')) ?? '');
    assert.equal(new Set(ids).size, ids.length, 'no message is shown twice after the replay');
  });
});
