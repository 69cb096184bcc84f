/** Devnet knobs, their defaults, and the `--scale` preset. */
import type { DevnetRuntimeName } from './encoder.ts';

export interface ChannelLimits {
  readonly maxCapacity: number;
  readonly maxTotalSize: number;
  readonly maxMessageSize: number;
}

export interface DevnetConfig {
  readonly runtime: DevnetRuntimeName;
  readonly paras: readonly number[];
  /** HRMP channels as [sender, recipient]; default every ordered pair of paras. */
  readonly channels: readonly (readonly [number, number])[];
  readonly channelLimits: ChannelLimits;
  readonly validators: number;
  /** Probability that a candidate sends a message on each of its channels. */
  readonly messageRate: number;
  readonly messageSize: { readonly min: number; readonly max: number };
  /** Blocks between backing and enactment (async backing: 1). */
  readonly enactmentDelay: number;
  readonly finalityLag: number;
  /** Milliseconds between blocks; 0 means blocks are only made on request (`dev_newBlock`). */
  readonly blockTimeMs: number;
  /** Blocks kept in memory (and served) behind the best head. */
  readonly retainBlocks: number;
  /**
   * Simulates a pruned node: state and bodies of blocks more than this many below the best head
   * answer as pruned ("State already discarded", null bodies); headers stay. null: an archive node.
   */
  readonly statePruning: number | null;
  /**
   * A para node per para (DESIGN.md §13): each relay candidate is a block of it, announced before
   * the relay block that backs it. Off by default.
   */
  readonly paraNodes: boolean;
  /**
   * Milliseconds after its relay parent at which a para node imports (announces) the block it
   * built on it: a collator's authoring time. 0: at once, with the relay block (the worst case for
   * a sidecar that processes both).
   */
  readonly paraAuthoringMs: number;
  /**
   * Shares of the XCMs a para node consumes that fail to execute (`Processed { success: false }`) and
   * that are overweight (`OverweightEnqueued`): the devnet's receiving-side faults (DESIGN.md §14).
   */
  readonly xcmFailRate: number;
  /** GRANDPA authorities per set (0: no GRANDPA: no justifications, no set changes). */
  readonly grandpaAuthorities: number;
  /** Blocks between authority-set changes (a `ScheduledChange` in each such block's digest; 0: never). */
  readonly grandpaSetEvery: number;
  readonly xcmOverweightRate: number;
  /** The para nodes' runtime metadata (hex file); null: the shared fixture's Asset Hub, else the bundled one. */
  readonly paraMetadata: string | null;
  /** `ActiveConfig`'s group rotation frequency and availability period (Polkadot: 10 and 10). */
  readonly groupRotationFrequency: number;
  readonly parasAvailabilityPeriod: number;
  readonly seed: number;
}

export const DEFAULT_PARAS: readonly number[] = [1000, 2000, 2001, 2004];

export function allPairs(paras: readonly number[]): [number, number][] {
  return paras.flatMap((sender) =>
    paras.filter((r) => r !== sender).map((recipient): [number, number] => [sender, recipient]),
  );
}

export function devnetConfig(overrides: Partial<DevnetConfig> = {}): DevnetConfig {
  const paras = overrides.paras ?? DEFAULT_PARAS;
  return {
    runtime: 'polkadot-v15',
    channels: allPairs(paras),
    channelLimits: { maxCapacity: 1000, maxTotalSize: 102_400, maxMessageSize: 102_400 },
    validators: 20,
    messageRate: 1,
    messageSize: { min: 40, max: 600 },
    enactmentDelay: 1,
    finalityLag: 2,
    blockTimeMs: 6000,
    retainBlocks: 256,
    statePruning: null,
    paraNodes: false,
    paraAuthoringMs: 0,
    paraMetadata: null,
    xcmFailRate: 0.05,
    grandpaAuthorities: 0,
    grandpaSetEvery: 0,
    xcmOverweightRate: 0.05,
    groupRotationFrequency: 10,
    parasAvailabilityPeriod: 10,
    seed: 1,
    ...overrides,
    paras,
  };
}

/** 100 paras, each with channels to its next four neighbours, a validator set of 300. */
export function scalePreset(overrides: Partial<DevnetConfig> = {}): DevnetConfig {
  const paras = Array.from({ length: 100 }, (_, i) => 2000 + i);
  const channels = paras.flatMap((sender, i) =>
    [1, 2, 3, 4].map((step): [number, number] => [sender, paras[(i + step) % paras.length]!]),
  );
  return devnetConfig({
    paras,
    channels,
    validators: 300,
    messageSize: { min: 100, max: 2000 },
    ...overrides,
  });
}
