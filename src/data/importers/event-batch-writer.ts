import { createHash } from 'node:crypto';
import type { Db } from '../db.js';
import { createEventRepository, type PurchaseInput } from '../event-repository.js';

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
 * Overlap: a batch is written while the next one is parsed. A second write may start before the first
 * has finished only if all its users and items appeared in earlier batches: then its transaction creates
 * no new rows and can at most wait for the earlier one, never deadlock with it (two transactions each
 * creating an id the other needs would), and no client-supplied event id of it was seen before.
 */
export function createEventBatchWriter(db: Db, batchSize = DEFAULT_BATCH_SIZE) {
  const events = createEventRepository(db);
  const occurrences = new Map<string, number>();
  const knownUsers = new Set<string>();
  const knownItems = new Set<string>();
  let buffer: PurchaseInput[] = [];
  let mustSerialize = false;
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  let inserted = 0;
  let duplicates = 0;

  async function settleAll(): Promise<void> {
    await Promise.all(inFlight);
    if (failure) throw failure;
  }

  async function flush(): Promise<void> {
    if (failure) throw failure;
    if (buffer.length === 0) return;
    // At most two writes at once; a batch that creates users or items waits for every earlier one.
    if (mustSerialize || inFlight.size >= 2) await settleAll();
    else if (inFlight.size >= 1) await Promise.race(inFlight);
    const batch = buffer;
    buffer = [];
    mustSerialize = false;
    // The rejection is kept and rethrown by the next flush/close, never left unhandled while parsing goes on.
    const write: Promise<void> = events.insertPurchases(batch).then(
      (r) => {
        inserted += r.inserted;
        duplicates += r.duplicates;
      },
      (err: unknown) => {
        failure ??= err;
      },
    ).finally(() => inFlight.delete(write));
    inFlight.add(write);
  }

  return {
    /** Queues one purchase; its id is fixed now, from content and file-wide occurrence. */
    async add(row: PurchaseRow): Promise<void> {
      const { tsIso, ...event } = row;
      if (event.eventId) {
        // A client id repeated across batches could be inserted in opposite orders by two transactions.
        if (occurrences.has(event.eventId)) mustSerialize = true;
        occurrences.set(event.eventId, 1);
      } else {
        const content = `p|${event.userId}|${event.itemId}|${event.orderId ?? ''}|${tsIso ?? event.ts.toISOString()}|${event.quantity}|${event.price ?? ''}`;
        const first = sha1(`${content}#0`);
        const n = occurrences.get(first) ?? 0;
        occurrences.set(first, n + 1);
        event.eventId = n === 0 ? first : sha1(`${content}#${n}`);
      }
      if (!knownUsers.has(event.userId)) {
        knownUsers.add(event.userId);
        mustSerialize = true;
      }
      if (!knownItems.has(event.itemId)) {
        knownItems.add(event.itemId);
        mustSerialize = true;
      }
      buffer.push(event);
      if (buffer.length >= batchSize) await flush();
    },
    /** Writes what is buffered and waits for every write; throws the first write error. */
    async close(): Promise<{ inserted: number; duplicates: number }> {
      await flush();
      await settleAll();
      return { inserted, duplicates };
    },
  };
}
