/**
 * Notices catalog changes that answers show (an item's title, categories, price or availability; an item
 * added), made through this process or any other, for what keeps lists read from Postgres (db-popularity.ts).
 * Postgres sums a hash of those columns over the items (one scan, one row back): a different sum is a
 * change, whatever order the changes' transactions committed in (a cursor on updated_at, a transaction's
 * start time, would miss a long import committing behind a later one), and an import writing the same
 * values again is none. Re-read at most every `intervalMs`, in the background: callers never wait for it,
 * except for the first read.
 */
import type { Db } from '../data/db.js';

const FINGERPRINT_SQL = `
SELECT count(*)::text || '/' || coalesce(sum(hashtextextended(row(id, title, categories, price, available)::text, 0)), 0)::text AS f
FROM items`;

export interface CatalogFingerprint {
  /** The catalog's generation as last read: 0 before the first read, then up by one each time a read finds it changed. */
  generation(): number;
  /**
   * The generation, after a read of the caller's own (under its statement limit) when none has finished yet;
   * rejects when that read fails.
   */
  settled(): Promise<number>;
  /**
   * Starts a background read when the last one is older than the interval, or with `now` (a timer that
   * ticks every interval, so a change shows within one tick) unless one is running; never waits, never throws.
   */
  poke(now?: boolean): void;
}

export function createCatalogFingerprint(db: Db, opts: { intervalMs?: number; log?: (msg: string, err?: unknown) => void } = {}): CatalogFingerprint {
  const intervalMs = opts.intervalMs ?? 2000;
  let last: string | undefined;
  let generation = 0;
  let at = -Infinity;
  let running: Promise<void> | null = null;

  const read = (): Promise<number> =>
    db.query<{ f: string }>(FINGERPRINT_SQL).then(({ rows }) => {
      if (rows[0].f !== last) generation++;
      last = rows[0].f;
      return generation;
    });

  return {
    generation: () => generation,
    settled: () => (last !== undefined ? Promise.resolve(generation) : read()),
    poke(now = false) {
      if (running || !(now || performance.now() - at >= intervalMs)) return;
      at = performance.now();
      running = read()
        .then(() => undefined)
        .catch((err) => opts.log?.('catalog fingerprint read failed', err))
        .finally(() => (running = null));
    },
  };
}
