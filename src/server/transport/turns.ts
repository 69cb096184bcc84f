/**
 * Fair turns for request handling. Every request the sidecar answers itself waits for its turn, and
 * turns are handed out one per event-loop iteration, so between any two requests (from any
 * connection) the loop reaches its I/O phase: ingest's node answers and new blocks are never queued
 * behind a burst of client work, and large answers are not built all at once. (A plain
 * `setImmediate` per request would not do: every immediate queued before the check phase runs in
 * that same phase, so 100 busy connections would still run back to back.) Calls forwarded to the
 * node take no turn: they cost microseconds here.
 */
const waiting: (() => void)[] = [];
let scheduled = false;

function release(): void {
  const next = waiting.shift();
  if (waiting.length > 0) setImmediate(release);
  else scheduled = false;
  next?.();
}

/** Resolves when it is this caller's turn. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(release);
    }
  });
}

/** Requests waiting for a turn now (a measure of backlog). */
export function waitingTurns(): number {
  return waiting.length;
}
