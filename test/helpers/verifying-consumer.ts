/** A verifying XcmpClient reading one inbox, and what the sidecar stored for it: shared by the proof tests. */
import type { MailboxUpdateJson, MessageJson } from '../../rpc/schemas.ts';
import { type VerificationError, type VerifyOptions, XcmpClient } from '../../src/client/index.ts';
import { messageJson } from '../../src/server/xcmp/wire.ts';
import type { Stack } from './sidecar.ts';
import { eventually } from './wait.ts';

export interface Consumer {
  readonly recipient: number;
  readonly client: XcmpClient;
  readonly delivered: MessageJson[];
  readonly rejected: VerificationError[];
  lastSeen(): number | null;
}

/** Subscribes to `recipient`'s inbox in verify mode; resolves once the first update is proven. */
export async function consume(
  url: string,
  verify: VerifyOptions,
  recipient: number,
  fromBlock?: number,
): Promise<Consumer> {
  const client = await XcmpClient.connect(url, { verify, reconnectMs: 0 });
  const delivered: MessageJson[] = [];
  const rejected: VerificationError[] = [];
  client.on('verificationError', (error) => rejected.push(error));
  const sub = await client.subscribeInbox(
    recipient,
    (update: MailboxUpdateJson) => delivered.push(...update.messages),
    fromBlock === undefined ? {} : { fromBlock },
  );
  await eventually(() => sub.lastSeenBlock !== null, { what: `a proven start for ${recipient}` });
  return { recipient, client, delivered, rejected, lastSeen: () => sub.lastSeenBlock };
}

/** What the store holds for `recipient` in (after, upTo], as the wire shows it. */
export async function storedInbox(
  stack: Stack,
  recipient: number,
  after: number,
  upTo: number,
): Promise<MessageJson[]> {
  const rows = await stack.sidecar.store.inbox(recipient, {
    fromBlock: after + 1,
    toBlock: upTo,
    includeUnverified: true,
    limit: 100_000,
  });
  return rows.map((m) => messageJson(m));
}

/** A message without the sidecar's verdict (a verifying client delivers only what it proved). */
export const withoutVerdict = ({ verified: _v, reason: _r, ...m }: MessageJson) => m;
