/**
 * Per-customer reads that many requests make at the same moment, gathered into one query (DataLoader:
 * the reads asked in one turn of the event loop, up to MAX_BATCH), instead of one query and one pool
 * slot per customer. Serving's on-request scoring reads a customer's purchases and record: a campaign
 * export asks 64 customers at once, and a storefront's concurrent requests for lists not yet held do
 * the same. Nothing is cached: each read sees what Postgres holds when it is made (an erasure, a purchase).
 * A batch that fails fails each read in it, as each would have failed alone.
 *
 * Reads are batched only with reads under the same statement limit (query-timeout.ts), and the batch's
 * statement runs under that limit: a storefront request (bounded) never waits in an export's batch
 * (unbounded, a job), nor an export's read in a request's. The rows and records given are shared by the
 * reads of one customer in a batch: read-only.
 */
import DataLoader from 'dataloader';
import type { PurchaseRow } from '../recommenders/dataset.js';
import type { CatalogRepository, UserRecord } from './catalog-repository.js';
import type { EventRepository } from './event-repository.js';
import { queryTimeout, withoutQueryTimeout, withQueryTimeout } from './query-timeout.js';

/** Most customers in one query: enough for an export's chunk (64) and a burst of requests, small enough to stay a short statement. */
export const MAX_BATCH = 128;

/** `read(id)` batched per statement limit: the loader of the caller's limit, whose batch runs under it. */
function batchedByLimit<V>(readAll: (ids: readonly string[]) => Promise<V[]>): (id: string) => Promise<V> {
  const loaders = new Map<number | undefined, DataLoader<string, V>>();
  return (id) => {
    const limit = queryTimeout();
    let loader = loaders.get(limit);
    if (!loader) {
      const underLimit = (ids: readonly string[]) => (limit === undefined ? withoutQueryTimeout(() => readAll(ids)) : withQueryTimeout(limit, () => readAll(ids)));
      loader = new DataLoader<string, V>(underLimit, { cache: false, maxBatchSize: MAX_BATCH });
      loaders.set(limit, loader);
    }
    return loader.load(id);
  };
}

/** A customer's purchases, as `events.loadPurchaseRows({ userId })` gives them. */
export function batchedPurchases(events: Pick<EventRepository, 'loadPurchaseRows'>): (userId: string) => Promise<PurchaseRow[]> {
  return batchedByLimit(async (ids) => {
    const byUser = new Map<string, PurchaseRow[]>(ids.map((id) => [id, []]));
    for (const row of await events.loadPurchaseRows({ userIds: ids })) byUser.get(row.userId)?.push(row);
    return ids.map((id) => byUser.get(id)!);
  });
}

/** A customer's record, as `catalog.getUser(id)` gives it (null when there is none). */
export function batchedUsers(catalog: Pick<CatalogRepository, 'getUsers'>): (id: string) => Promise<UserRecord | null> {
  return batchedByLimit(async (ids) => {
    const byId = new Map((await catalog.getUsers(ids)).map((u) => [u.id, u]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}
