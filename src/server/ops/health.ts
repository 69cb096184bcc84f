/**
 * `/health` and `/ready` (docs/operator-guide.md): healthy while the store is the one opened, the
 * node is connected and ingest has no error; ready once it is also within `readyLag` blocks of the
 * finalized head.
 */
import type { IngestStatus } from '../../ingest/ingest.ts';
import type { HealthReport } from '../transport/server.ts';

export interface HealthInputs {
  readonly nodeUrl: string;
  readonly readyLag: number;
  readonly ingest: () => IngestStatus;
  /** Why the store cannot be trusted now (file deleted or replaced), or null. */
  readonly storeProblem: () => string | null;
  /** The process's role and what it knows of the others (`role`, `writerAlive`, …), shown in both reports. */
  readonly role: () => Record<string, unknown>;
}

export function healthPolicies(inputs: HealthInputs): { health(): HealthReport; ready(): HealthReport } {
  const notConnected = `not connected to the node at ${inputs.nodeUrl}`;
  const problem = (s: IngestStatus): string | null =>
    inputs.storeProblem() ?? (s.connected ? null : notConnected);
  return {
    health: () => {
      const s = inputs.ingest();
      const role = inputs.role();
      const reason = problem(s) ?? s.lastError;
      return reason
        ? { ok: false, reason, ...role }
        : { ok: true, synced: s.cursor, finalized: s.finalized, ...role };
    },
    ready: () => {
      const s = inputs.ingest();
      const role = inputs.role();
      const reason = problem(s);
      if (reason) return { ok: false, reason, ...role };
      if (s.cursor === null || s.finalized === null)
        return { ok: false, reason: 'no block stored yet', ...role };
      const lag = s.finalized - s.cursor;
      if (lag <= inputs.readyLag) return { ok: true, synced: s.cursor, finalized: s.finalized, ...role };
      const behind = `catching up: ${lag} blocks behind the finalized head`;
      return { ok: false, reason: behind, synced: s.cursor, finalized: s.finalized, ...role };
    },
  };
}
