/**
 * What an evaluation (POST /v1/evaluations, `npm run evaluate`) and `npm run tune` read from the database to split
 * and fit on, without the customers whose erasure is owed (erasure_requests: asked, not completed), as a training
 * reads none of them and as an erased customer's are gone (README "Erasure"): their purchases, their attributes, and
 * the time of their purchases where the latest purchase sets a window (an evaluation's period check and its returns
 * window, tune's returns window). One reader for both, so neither can leave a part of it out.
 */
import type { CatalogRepository, ItemRecord, UserRecord } from '../data/catalog-repository.js';
import type { EventRepository, PurchaseWindow } from '../data/event-repository.js';
import { readPurchaseColumns, type PurchaseColumns } from './purchase-columns.js';

export interface OwedFreeSources {
  events: Pick<EventRepository, 'streamPurchaseRows' | 'purchaseRange'>;
  catalog: Pick<CatalogRepository, 'listItems' | 'listUsersWithAttributes'>;
  /** The customers whose erasure is owed (erasure_requests); absent: none is (a database without erasures). */
  owedIds?: () => Promise<readonly string[]>;
}

/** The purchases (columns, streamed in batches), the catalog and the customers with attributes. */
export interface OwedFreeInput {
  purchases: PurchaseColumns;
  items: ItemRecord[];
  users: UserRecord[];
}

/** The first and latest purchase of the customers whose erasure is not owed (ISO, null when there is none). */
export async function purchaseRangeWithoutOwed(sources: Pick<OwedFreeSources, 'events' | 'owedIds'>): Promise<{ first: string | null; last: string | null }> {
  return sources.events.purchaseRange((await sources.owedIds?.()) ?? []);
}

/**
 * Reads the input. `window`: the purchases' window (from, to, returnsBefore), or how to make it from the latest
 * purchase of the customers not owed (`latest`, read only when called). The owed ids are read first: one owed after
 * that is left out only once its erasure completed (its rows then gone). Every read settles before a failure is
 * thrown, so no cursor of a failed attempt goes on beside the caller's next (evaluations try again after an outage).
 */
export async function readOwedFreeInput(
  sources: OwedFreeSources,
  window: PurchaseWindow | ((latest: () => Promise<string | null>) => Promise<PurchaseWindow>),
  batchSize?: number,
): Promise<OwedFreeInput> {
  const owedIds = (await sources.owedIds?.()) ?? [];
  const owed = new Set(owedIds);
  const latest = async () => (await sources.events.purchaseRange(owedIds)).last;
  const reads = [
    (typeof window === 'function' ? window(latest) : Promise.resolve(window)).then((w) => readPurchaseColumns(sources.events.streamPurchaseRows(w, batchSize), owed)),
    sources.catalog.listItems(),
    sources.catalog.listUsersWithAttributes().then((users) => (owed.size === 0 ? users : users.filter((u) => !owed.has(u.id)))),
  ] as const;
  await Promise.allSettled(reads);
  const [purchases, items, users] = await Promise.all(reads);
  return { purchases, items, users };
}
