import { createHash } from 'node:crypto';
import type { Db } from '../db.js';
import { JOB_OUTAGE_WAIT_MS, retryWhileUnavailable } from '../../retry-while-unavailable.js';
import { createEventRepository, interactionContent, purchaseContent, returnContent, type InteractionInput, type PurchaseInput, type ReturnInput } from '../event-repository.js';

/**
 * How long an import waits for Postgres to come back (a restart, a failover) before it gives up, batch by
 * batch. Every write of an import is idempotent (events on their ids, the catalog by upsert), so a batch
 * whose commit was answered by a dropped connection is simply written again (its rows then count as
 * duplicates). Minutes of a large import are not lost to a moment of outage.
 */
export const IMPORT_OUTAGE_RETRY_MS = JOB_OUTAGE_WAIT_MS;

/** A write of an import, tried again while Postgres is unavailable, for `forMs` in all (default IMPORT_OUTAGE_RETRY_MS). */
export const throughOutage = <T>(write: () => Promise<T>, forMs = IMPORT_OUTAGE_RETRY_MS): Promise<T> => retryWhileUnavailable(write, { forMs });

/** Rows per importPurchases call: big enough to amortise round trips, small enough for one transaction. */
export const DEFAULT_BATCH_SIZE = 5000;

/**
 * Batches being written at once, each in its own transaction on its own connection. Postgres does most
 * of an import's work (unique and foreign-key checks, four indexes), so a second write in flight puts
 * the second core to work while the parser waits anyway.
 */
export const DEFAULT_WRITES_IN_FLIGHT = 2;

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
 * keyed by the id of occurrence 0 (27 characters) rather than the content, which halves its memory; it
 * still holds about 100 bytes per distinct row until the import ends (docs/import-formats.md says so).
 *
 * Overlap: batches are written while the next ones are parsed, up to `writesInFlight` at once (each
 * importPurchases is one transaction). Concurrent batches cannot deadlock: each takes its locks in one
 * global order, the new users sorted, then the new items sorted, then its own events (ids distinct
 * across the batches of one file); a batch naming a customer another batch is creating waits in its
 * users step, before it holds any item or event, until that batch commits.
 */
export function createEventBatchWriter(db: Db, batchSize = DEFAULT_BATCH_SIZE, writesInFlight = DEFAULT_WRITES_IN_FLIGHT, outageWaitMs = IMPORT_OUTAGE_RETRY_MS) {
  const events = createEventRepository(db);
  const occurrences = new Map<string, number>();
  let buffer: PurchaseInput[] = [];
  // Views, carts and ratings (generic import's `type` column) go to their own table in their own batches.
  let interactions: (InteractionInput & { eventId: string })[] = [];
  // Returns (Online Retail's cancellations, generic `return` rows) too: what they take off is decided when purchases are read.
  let returns: (ReturnInput & { eventId: string })[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  let inserted = 0;
  let duplicates = 0;
  let erased = 0;

  /** Waits until fewer than `limit` writes are in flight; throws the first write error. */
  async function settle(limit: number): Promise<void> {
    while (inFlight.size >= Math.max(1, limit) && !failure) await Promise.race(inFlight);
    if (failure) {
      // Nothing is left running behind the error: the caller may close the database next.
      await Promise.all(inFlight);
      throw failure;
    }
  }

  /** The file-wide occurrence-numbered id of a row without one (see above). */
  function fixId(content: string): string {
    const first = sha1(`${content}#0`);
    const n = occurrences.get(first) ?? 0;
    occurrences.set(first, n + 1);
    return n === 0 ? first : sha1(`${content}#${n}`);
  }

  async function flush(): Promise<void> {
    await settle(writesInFlight);
    if (interactions.length > 0) {
      const batch = interactions;
      interactions = [];
      start(() => events.importInteractions(batch));
      await settle(writesInFlight);
    }
    if (returns.length > 0) {
      const batch = returns;
      returns = [];
      start(() => events.importReturns(batch));
      await settle(writesInFlight);
    }
    if (buffer.length === 0) return;
    const batch = buffer;
    buffer = [];
    start(() => events.importPurchases(batch));
  }

  function start(run: () => Promise<{ inserted: number; duplicates: number; erased: number }>): void {
    // The rejection is kept and rethrown by the next settle(), never left unhandled while parsing goes on.
    const write: Promise<void> = throughOutage(run, outageWaitMs).then(
      (r) => {
        inserted += r.inserted;
        duplicates += r.duplicates;
        erased += r.erased;
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
      if (!event.eventId) event.eventId = fixId(purchaseContent(event, tsIso));
      buffer.push(event);
      if (buffer.length >= batchSize) await flush();
    },
    /** Queues one view, add-to-cart or rating; ids as for purchases (the API derives the same for one occurrence). */
    async addInteraction(row: InteractionInput & { tsIso?: string }): Promise<void> {
      const { tsIso, ...event } = row;
      interactions.push({ ...event, eventId: event.eventId ?? fixId(interactionContent(event, tsIso)) });
      if (interactions.length >= batchSize) await flush();
    },
    /** Queues one return; ids as for purchases (the API derives the same for one occurrence). */
    async addReturn(row: ReturnInput & { tsIso?: string }): Promise<void> {
      const { tsIso, ...event } = row;
      returns.push({ ...event, eventId: event.eventId ?? fixId(returnContent(event, tsIso)) });
      if (returns.length >= batchSize) await flush();
    },
    /** Writes what is buffered and waits for every write; throws the first write error. */
    async close(): Promise<{ inserted: number; duplicates: number; erased: number }> {
      await flush();
      await settle(1);
      return { inserted, duplicates, erased };
    },
  };
}
