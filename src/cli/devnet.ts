/** `xcmp-sidecar devnet`: only the simulated relay chain (and with --para-nodes, a simulated node per para). */
import { existsSync } from 'node:fs';
import { DEFAULT_PARAS, scalePreset } from '../devnet/config.ts';
import type { DevnetRuntimeName } from '../devnet/encoder.ts';
import { type Devnet, type DevnetOptions, startDevnet } from '../devnet/index.ts';
import { CliError } from './errors.ts';
import { integerFlag } from './numbers.ts';

export interface DevnetFlags {
  readonly port: string;
  readonly host: string;
  readonly paras?: string;
  readonly blockTimeMs: string;
  readonly validators?: string;
  readonly finalityLag?: string;
  readonly messageRate?: string;
  readonly runtime: string;
  readonly retainBlocks?: string;
  readonly statePruning?: string;
  readonly availabilityDelay?: string;
  readonly channels?: string;
  readonly messageSize?: string;
  readonly scale?: boolean;
  readonly paraNodes?: boolean;
  readonly paraMetadata?: string;
  readonly paraAuthoringMs?: string;
  readonly grandpaAuthorities?: string;
  readonly grandpaSetEvery?: string;
}

function integer(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  return value === undefined ? undefined : integerFlag(value, flag, min, max);
}

export function devnetOptions(flags: DevnetFlags): DevnetOptions {
  if (flags.runtime !== 'polkadot-v15' && flags.runtime !== 'static-polkadot') {
    throw new CliError(`--runtime must be polkadot-v15 or static-polkadot, got "${flags.runtime}"`);
  }
  const paras = flags.paras?.split(',').map((p) => integer(p.trim(), '--paras', 0, 0xffffffff)!);
  if (paras && (paras.length < 2 || new Set(paras).size !== paras.length)) {
    throw new CliError('--paras needs at least two distinct para ids, e.g. 1000,2000,2001');
  }
  const channels = flags.channels?.split(',').map((pair): [number, number] => {
    const match = /^(\d+)>(\d+)$/.exec(pair.trim());
    if (!match)
      throw new CliError(`--channels takes sender>recipient pairs, e.g. 2000>2001,2001>2000; got "${pair}"`);
    return [Number(match[1]), Number(match[2])];
  });
  if (channels) {
    const known = paras ?? DEFAULT_PARAS;
    for (const [s, r] of channels) {
      if (!known.includes(s) || !known.includes(r) || s === r) {
        throw new CliError(`--channels ${s}>${r} needs two distinct paras from --paras`);
      }
    }
  }
  let messageSize: { min: number; max: number } | undefined;
  if (flags.messageSize !== undefined) {
    const match = /^(\d+)-(\d+)$/.exec(flags.messageSize);
    // Sizes below the smallest XCM program the devnet sends come out at that program's size.
    if (!match || Number(match[1]) < 1 || Number(match[1]) > Number(match[2]) || Number(match[2]) > 50_000) {
      throw new CliError(
        `--message-size takes MIN-MAX bytes between 1 and 50000, e.g. 100-2000; got "${flags.messageSize}"`,
      );
    }
    messageSize = { min: Number(match[1]), max: Number(match[2]) };
  }
  const messageRate = flags.messageRate === undefined ? undefined : Number(flags.messageRate);
  if (messageRate !== undefined && !(messageRate >= 0 && messageRate <= 1))
    throw new CliError('--message-rate must be between 0 and 1');
  const overrides = Object.fromEntries(
    Object.entries({
      runtime: flags.runtime as DevnetRuntimeName,
      port: integer(flags.port, '--port', 0, 65535),
      host: flags.host,
      paras,
      blockTimeMs: integer(flags.blockTimeMs, '--block-time-ms', 0, 3_600_000),
      validators: integer(flags.validators, '--validators', 1, 2000),
      finalityLag: integer(flags.finalityLag, '--finality-lag', 0, 1000),
      retainBlocks: integer(flags.retainBlocks, '--retain-blocks', 16, 1_000_000),
      statePruning: integer(flags.statePruning, '--state-pruning', 1, 1_000_000),
      enactmentDelay: integer(flags.availabilityDelay, '--availability-delay', 1, 100),
      messageRate,
      channels,
      messageSize,
      paraNodes: flags.paraNodes,
      paraMetadata: paraMetadataFlag(flags),
      paraAuthoringMs: paraAuthoringFlag(flags),
      grandpaAuthorities: integer(flags.grandpaAuthorities, '--grandpa-authorities', 0, 1000),
      grandpaSetEvery: grandpaSetEveryFlag(flags),
    }).filter(([, v]) => v !== undefined),
  ) as DevnetOptions;
  if (flags.scale && paras) throw new CliError('--scale sets its own 100 paras: drop --paras');
  return flags.scale ? { ...scalePreset(overrides), ...overrides } : overrides;
}

/** `--para-authoring-ms MS`: only with `--para-nodes`, 0..60000. */
/** `--grandpa-set-every N`: only with `--grandpa-authorities`, 1..1,000,000. */
function grandpaSetEveryFlag(flags: DevnetFlags): number | undefined {
  if (flags.grandpaSetEvery === undefined) return undefined;
  if (!flags.grandpaAuthorities || flags.grandpaAuthorities === '0')
    throw new CliError('--grandpa-set-every is for --grandpa-authorities');
  return integer(flags.grandpaSetEvery, '--grandpa-set-every', 1, 1_000_000);
}

function paraAuthoringFlag(flags: DevnetFlags): number | undefined {
  if (flags.paraAuthoringMs === undefined) return undefined;
  if (!flags.paraNodes) throw new CliError('--para-authoring-ms is for --para-nodes');
  return integer(flags.paraAuthoringMs, '--para-authoring-ms', 0, 60_000);
}

/** `--para-metadata FILE`: only with `--para-nodes`, and a file that exists. */
function paraMetadataFlag(flags: DevnetFlags): string | undefined {
  if (flags.paraMetadata === undefined) return undefined;
  if (!flags.paraNodes) throw new CliError('--para-metadata is for --para-nodes');
  if (!existsSync(flags.paraMetadata))
    throw new CliError(`--para-metadata ${flags.paraMetadata}: no such file (a runtime's metadata as hex)`);
  return flags.paraMetadata;
}

export async function runDevnet(flags: DevnetFlags): Promise<void> {
  let devnet: Devnet;
  try {
    devnet = await startDevnet(devnetOptions(flags));
  } catch (error) {
    if (error instanceof CliError || !flags.paraNodes) throw error;
    throw new CliError(`--para-nodes: ${(error as Error).message}`);
  }
  const { config } = devnet;
  process.stdout.write(
    `devnet (a simulated Polkadot relay chain, not a node) listening on ${devnet.url} (HTTP ${devnet.httpUrl})\n` +
      `  runtime ${config.runtime}, ${config.paras.length} paras, ${config.channels.length} HRMP channels, ${config.validators} validators, ` +
      `${config.blockTimeMs > 0 ? `a block every ${config.blockTimeMs} ms` : 'blocks on dev_newBlock'}` +
      `${config.statePruning === null ? '' : `, pruned: state and bodies of the last ${config.statePruning} blocks only`}\n`,
  );
  for (const [paraId, url] of devnet.paraUrls)
    process.stdout.write(
      `  para node ${paraId} (simulated, ${devnet.chain.collators!.chains.get(paraId)!.encoder.version.specName} runtime): ${url}\n`,
    );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await devnet.close();
}
