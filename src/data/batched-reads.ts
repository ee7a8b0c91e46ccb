/**
 * Per-customer reads that many requests make at the same moment, gathered into one query (DataLoader:
 * the reads asked in one turn of the event loop, up to MAX_BATCH), instead of one query and one pool
 * slot per customer. Serving's on-request scoring reads a customer's purchases and record: a campaign
 * export asks 64 customers at once, and a storefront's concurrent requests for lists not yet held do
 * the same. Nothing is cached: each read sees what Postgres holds when it is made (an erasure, a purchase).
 * A batch that fails fails each read in it, as each would have failed alone.
 */
import DataLoader from 'dataloader';
import type { PurchaseRow } from '../recommenders/dataset.js';
import type { CatalogRepository, UserRecord } from './catalog-repository.js';
import type { EventRepository } from './event-repository.js';

/** Most customers in one query: enough for an export's chunk (64) and a burst of requests, small enough to stay a short statement. */
export const MAX_BATCH = 128;

/** A customer's purchases, as `events.loadPurchaseRows({ userId })` gives them. */
export function batchedPurchases(events: Pick<EventRepository, 'loadPurchaseRows'>): (userId: string) => Promise<PurchaseRow[]> {
  const loader = new DataLoader<string, PurchaseRow[]>(
    async (ids) => {
      const byUser = new Map<string, PurchaseRow[]>(ids.map((id) => [id, []]));
      for (const row of await events.loadPurchaseRows({ userIds: ids })) byUser.get(row.userId)?.push(row);
      return ids.map((id) => byUser.get(id)!);
    },
    { cache: false, maxBatchSize: MAX_BATCH },
  );
  return (userId) => loader.load(userId);
}

/** A customer's record, as `catalog.getUser(id)` gives it (null when there is none). */
export function batchedUsers(catalog: Pick<CatalogRepository, 'getUsers'>): (id: string) => Promise<UserRecord | null> {
  const loader = new DataLoader<string, UserRecord | null>(
    async (ids) => {
      const byId = new Map((await catalog.getUsers(ids)).map((u) => [u.id, u]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    { cache: false, maxBatchSize: MAX_BATCH },
  );
  return (id) => loader.load(id);
}
