/** `xcmp-sidecar subscribe`: print a parachain's inbox or outbox updates as JSON lines, resuming after reconnects. */
import { MailboxFinality } from '../../rpc/schemas.ts';
import { XcmpClient } from '../client/client.ts';
import type { VerifyOptions } from '../client/verified.ts';
import { checkpointArgument } from './checkpoint.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';
import { integerFlag, U32_MAX } from './numbers.ts';

type Finality = (typeof MailboxFinality.options)[number];
/** The contract's choices, so the flag cannot drift from what the server accepts. */
const FINALITIES: readonly Finality[] = MailboxFinality.options;

export interface SubscribeFlags {
  readonly url: string;
  readonly recipient?: string;
  readonly sender?: string;
  readonly fromBlock?: string;
  readonly finality: string;
  readonly decode?: boolean;
  readonly includeUnverified?: boolean;
  readonly verifyWith?: string;
  readonly verifyGrandpa?: string;
}

/** A u32 from the command line (para ids and block numbers both are). */
const u32 = (value: string, flag: string, what: string): number => integerFlag(value, flag, 0, U32_MAX, what);

const para = (value: string, flag: string): number => u32(value, flag, 'a para id');

/** `--verify-with` (a trusted node) or `--verify-grandpa` (a checkpoint), checked against the other flags. */
function verifyOptions(flags: SubscribeFlags): VerifyOptions | undefined {
  const flag = flags.verifyWith !== undefined ? '--verify-with' : '--verify-grandpa';
  if (flags.verifyWith === undefined && flags.verifyGrandpa === undefined) return undefined;
  if (flags.verifyWith !== undefined && flags.verifyGrandpa !== undefined)
    throw new CliError('give one of --verify-with or --verify-grandpa');
  if (flags.recipient === undefined) throw new CliError(`${flag} needs --recipient: proofs cover inboxes`);
  if (flags.finality !== 'finalized')
    throw new CliError(`${flag} needs --finality finalized: proofs anchor in finalized headers`);
  if (flags.verifyWith !== undefined) return { headers: flags.verifyWith };
  return { grandpa: checkpointArgument(flags.verifyGrandpa!, '--verify-grandpa') };
}

export async function runSubscribe(flags: SubscribeFlags): Promise<void> {
  if ((flags.recipient === undefined) === (flags.sender === undefined))
    throw new CliError('give exactly one of --recipient or --sender');
  if (!FINALITIES.includes(flags.finality as Finality))
    throw new CliError(`--finality must be ${FINALITIES.join(', ')}; got "${flags.finality}"`);
  const fromBlock =
    flags.fromBlock === undefined ? undefined : u32(flags.fromBlock, '--from-block', 'a block number');
  const verify = verifyOptions(flags);
  const urls = flags.url
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean);
  const notWs = urls.find((url) => !/^wss?:\/\/./.test(url));
  if (urls.length === 0 || notWs !== undefined)
    throw new CliError(`--url takes ws:// or wss:// URLs, comma-separated, got "${notWs ?? flags.url}"`);
  let client: XcmpClient;
  try {
    client = await XcmpClient.connect(urls, { reconnectMs: 1000, verify });
  } catch (error) {
    const target = flags.verifyWith === undefined ? flags.url : `${flags.url} (or ${flags.verifyWith})`;
    throw new CliError(`cannot connect to ${target}: ${(error as Error).message}`, EXIT_RUNTIME);
  }
  client.on('verificationError', (error) => {
    const { block, channel, reason } = error;
    process.stderr.write(`${JSON.stringify({ rejected: { block, channel, reason } })}\n`);
  });
  let stopping = false;
  client.on('disconnected', () => {
    if (!stopping) process.stderr.write('disconnected; reconnecting…\n');
  });
  client.on('resubscribed', () => process.stderr.write('reconnected; resumed after the last block seen\n'));
  const options = {
    finality: flags.finality as Finality,
    fromBlock,
    decode: flags.decode,
    includeUnverified: flags.includeUnverified,
  };
  const print = (update: unknown) => process.stdout.write(`${JSON.stringify(update)}\n`);
  const subscription =
    flags.recipient !== undefined
      ? await client.subscribeInbox(para(flags.recipient, '--recipient'), print, options)
      : await client.subscribeOutbox(para(flags.sender!, '--sender'), print, options);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  stopping = true; // the close below is ours, not a lost connection
  await subscription.unsubscribe();
  await client.close();
}
