/**
 * Fair turns for request handling. Every request waits for its turn, and turns are handed out a few
 * per event-loop iteration (TURNS_PER_ITERATION, in arrival order), so between any few requests (from
 * any connection) the loop reaches its I/O phase: ingest's node answers and new blocks are never
 * queued behind a burst of client work. (A plain `setImmediate` per request would not do: every
 * immediate queued before the check phase runs in that same phase, so 100 busy connections would
 * still run back to back.) One per iteration made each forwarded call cost a whole loop iteration
 * and its own writes; 32 share them.
 */
const TURNS_PER_ITERATION = 32;
const waiting: (() => void)[] = [];
let scheduled = false;

function release(): void {
  const turns = waiting.splice(0, TURNS_PER_ITERATION);
  if (waiting.length > 0) setImmediate(release);
  else scheduled = false;
  for (const turn of turns) turn();
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
