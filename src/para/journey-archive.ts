/**
 * Keeps journeys in the store (DESIGN.md §14): each journey changed since the last write is written
 * again, at most every `flushMs`, in one transaction. Only a sidecar that writes its store keeps
 * journeys there (`--role all`); an API replica with para nodes holds its own in memory.
 */
import type { Logger } from '../log.ts';
import type { StoreWriter } from '../store/interface.ts';
import type { JourneyRow } from '../store/types.ts';
import type { Journey, JourneyBook, JourneyUpdate } from './journey-book.ts';

export function journeyRow(journey: Journey): JourneyRow {
  const { key, id, messageHash, sender, recipient, sentAt } = journey;
  return { key, id, messageHash, sender, recipient, sentAt, body: JSON.stringify(journey) };
}

export class JourneyArchive {
  readonly #book: JourneyBook;
  readonly #store: Pick<StoreWriter, 'writeJourneys'>;
  readonly #log: Logger;
  readonly #flushMs: number;
  readonly #dirty = new Map<string, Journey>();
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  readonly #listener = ({ journey }: JourneyUpdate) => {
    this.#dirty.set(journey.key, journey);
    this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs);
  };

  constructor(book: JourneyBook, store: Pick<StoreWriter, 'writeJourneys'>, logger: Logger, flushMs = 250) {
    this.#book = book;
    this.#store = store;
    this.#log = logger;
    this.#flushMs = flushMs;
    book.on('update', this.#listener);
  }

  /** Writes what changed (after any write in progress). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const rows = [...this.#dirty.values()].map(journeyRow);
    this.#dirty.clear();
    if (rows.length === 0) return this.#writing;
    this.#writing = this.#writing
      .then(() => this.#store.writeJourneys(rows))
      .catch((error: Error) =>
        this.#log.error({ err: error.message, journeys: rows.length }, 'journeys not stored'),
      );
    return this.#writing;
  }

  async close(): Promise<void> {
    this.#book.off('update', this.#listener);
    await this.flush();
  }
}
