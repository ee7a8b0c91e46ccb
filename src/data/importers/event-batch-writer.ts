import { createHash } from 'node:crypto';
import type { Db } from '../db.js';
import { createEventRepository, purchaseContent, type PurchaseInput } from '../event-repository.js';

/** Rows per insertPurchases call: big enough to amortise round trips, small enough for one transaction. */
export const DEFAULT_BATCH_SIZE = 5000;

/** A purchase to write; `tsIso` (ts.toISOString()) may be passed when the caller has it cached. */
export type PurchaseRow = Omit<PurchaseInput, 'eventId'> & { eventId?: string; tsIso?: string };

const sha1 = (s: string) => createHash('sha1').update(s).digest('base64url');

/**
 * Buffers purchases and writes them in batches through the event repository.
 *
 * Ids: derived here with a FILE-wide occurrence counter, id = sha1(content + '#' + n) for the n-th time
 * this content occurs in the file (content as the repository's own derived ids, so the first occurrence
 * of a line gets the id the API would give the same event). Identical lines that fall into different
 * batches still get distinct, reproducible ids, so re-importing the file adds nothing. The counter is
 * keyed by the id of occurrence 0 (27 characters) rather than the content, which halves its memory.
 *
 * Overlap: a batch is written while the next one is parsed, but only one write is in flight. Two
 * concurrent transactions could deadlock: each creates the users and items its events name, and two
 * batches naming the same new customer can take those row locks in opposite orders.
 */
export function createEventBatchWriter(db: Db, batchSize = DEFAULT_BATCH_SIZE) {
  const events = createEventRepository(db);
  const occurrences = new Map<string, number>();
  let buffer: PurchaseInput[] = [];
  let inFlight: Promise<void> | null = null;
  let failure: unknown = null;
  let inserted = 0;
  let duplicates = 0;

  async function settle(): Promise<void> {
    await inFlight;
    inFlight = null;
    if (failure) throw failure;
  }

  async function flush(): Promise<void> {
    await settle();
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    // The rejection is kept and rethrown by the next settle(), never left unhandled while parsing goes on.
    inFlight = events.insertPurchases(batch).then(
      (r) => {
        inserted += r.inserted;
        duplicates += r.duplicates;
      },
      (err: unknown) => {
        failure = err;
      },
    );
  }

  return {
    /** Queues one purchase; its id is fixed now, from content and file-wide occurrence. */
    async add(row: PurchaseRow): Promise<void> {
      const { tsIso, ...event } = row;
      if (!event.eventId) {
        const content = purchaseContent(event, tsIso);
        const first = sha1(`${content}#0`);
        const n = occurrences.get(first) ?? 0;
        occurrences.set(first, n + 1);
        event.eventId = n === 0 ? first : sha1(`${content}#${n}`);
      }
      buffer.push(event);
      if (buffer.length >= batchSize) await flush();
    },
    /** Writes what is buffered and waits for every write; throws the first write error. */
    async close(): Promise<{ inserted: number; duplicates: number }> {
      await flush();
      await settle();
      return { inserted, duplicates };
    },
  };
}
