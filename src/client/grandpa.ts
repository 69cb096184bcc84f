/**
 * Headers proven final by GRANDPA (DESIGN.md §15), for a client that trusts only a checkpoint:
 * each update's header must come with a finality proof valid under the authority set in force,
 * and set changes are taken in from the sidecar (`xcmp_getGrandpaChanges`) only with their proofs.
 * A sidecar can withhold a change (the client then stops proving, and says so), never forge one.
 */
import type { GrandpaChangesJson } from '../../rpc/schemas.ts';
import { checkpointFromChainSpec, type GrandpaCheckpoint } from '../derive/grandpa.ts';
import { FinalityError, GrandpaLedger } from '../derive/grandpa-ledger.ts';
import { VerificationError } from '../derive/inbox-proof.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { InboxTransport, TrustedHash } from './verified.ts';

/** Chains whose chain specs (with a `lightSyncState` checkpoint) ship in `@substrate/connect-known-chains`. */
export const KNOWN_CHAINS = ['polkadot', 'kusama', 'westend'] as const;
export type KnownChain = (typeof KNOWN_CHAINS)[number];
/** Their names in `@substrate/connect-known-chains` (the chain spec ids). */
const SPEC_NAMES: Record<KnownChain, string> = {
  polkadot: 'polkadot',
  kusama: 'ksmcc3',
  westend: 'westend2',
};

/** A checkpoint by value, a known chain's, or a chain spec's (JSON text or parsed). */
export type CheckpointSource = GrandpaCheckpoint | KnownChain | { readonly chainSpec: string | object };

/** Set changes fetched in one catch-up at most: a bound on what a sidecar can make a client do. */
const MAX_CHANGES_PER_CATCH_UP = 100_000;

export async function resolveCheckpoint(source: CheckpointSource): Promise<GrandpaCheckpoint> {
  if (typeof source === 'string') {
    if (!(KNOWN_CHAINS as readonly string[]).includes(source))
      throw new Error(
        `unknown chain "${source}": give a checkpoint, a chain spec, or one of ${KNOWN_CHAINS.join(', ')}`,
      );
    const { chainSpec } = (await import(
      `@substrate/connect-known-chains/${SPEC_NAMES[source as KnownChain]}`
    )) as {
      chainSpec: string;
    };
    return checkpointFromChainSpec(JSON.parse(chainSpec));
  }
  if ('chainSpec' in source)
    return checkpointFromChainSpec(
      typeof source.chainSpec === 'string' ? JSON.parse(source.chainSpec) : source.chainSpec,
    );
  return source;
}

/** Takes in the set changes after the newest set held, each checked; throws a FinalityError on the first bad one. */
async function catchUp(ledger: GrandpaLedger, sidecar: InboxTransport): Promise<void> {
  let taken = 0;
  while (taken < MAX_CHANGES_PER_CATCH_UP) {
    const answer = await sidecar.call<GrandpaChangesJson>('xcmp_getGrandpaChanges', [
      { after: ledger.latest.after, limit: 64 },
    ]);
    for (const change of answer.changes) {
      ledger.applyChange(change as { headers: Hex[]; justification: Hex });
      taken++;
    }
    if (answer.complete || answer.changes.length === 0) break;
  }
}

/** A FinalityError as the verifier reports it (other errors as they are). */
const notFinal = (number: number, error: unknown): unknown =>
  error instanceof FinalityError
    ? new VerificationError(number, null, `not proven final: ${error.message}`)
    : error;

/** A TrustedHash that believes a header only with a GRANDPA finality proof, from `checkpoint` on. */
export function grandpaTrust(checkpoint: GrandpaCheckpoint, sidecar: InboxTransport): TrustedHash {
  const ledger = new GrandpaLedger(checkpoint);
  let catchingUp: Promise<void> | null = null;
  return async (number, claimedHash, finality) => {
    try {
      return ledger.proveFinal(number, claimedHash, finality);
    } catch (error) {
      if (!(error instanceof FinalityError && error.maybeNewSet)) throw notFinal(number, error);
    }
    // Signed by a set this client does not hold yet: take in the changes (shared by every inbox), then try once more.
    catchingUp ??= catchUp(ledger, sidecar).finally(() => {
      catchingUp = null;
    });
    try {
      await catchingUp;
    } catch (changeError) {
      throw new VerificationError(number, null, `a set change failed: ${(changeError as Error).message}`);
    }
    try {
      return ledger.proveFinal(number, claimedHash, finality);
    } catch (error) {
      throw notFinal(number, error);
    }
  };
}
