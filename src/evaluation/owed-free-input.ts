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
  /**
   * owedAndLatest: the customers whose erasure is owed (erasure_requests) and the latest purchase of the others, in one
   * statement (one snapshot). Read from the events, not a list the caller passes: none can leave the owed out.
   */
  events: Pick<EventRepository, 'streamPurchaseRows' | 'purchaseRange' | 'owedAndLatest'>;
  catalog: Pick<CatalogRepository, 'listItems' | 'listUsersWithAttributes'>;
}

/** The purchases (columns, streamed in batches), the catalog and the customers with attributes. */
export interface OwedFreeInput {
  purchases: PurchaseColumns;
  items: ItemRecord[];
  users: UserRecord[];
  /** The owed customers left out (as read first). */
  owedIds: readonly string[];
}

/** The purchases' first and latest time, and whether those of customers owed an erasure are the only ones stored. */
export interface RangeWithoutOwed {
  first: string | null;
  last: string | null;
  /** No purchase is left once the owed customers' are: purchases are stored, each of a customer whose erasure is owed. */
  onlyOwed: boolean;
}

/**
 * The first and latest purchase of the customers whose erasure is not owed (ISO, null when there is none), and when
 * there is none while erasures are owed, whether purchases are stored at all (one more look: two index lookups).
 */
export async function purchaseRangeWithoutOwed(sources: Pick<OwedFreeSources, 'events'>): Promise<RangeWithoutOwed> {
  // The owed left out inside Postgres (erasure_requests anti-joined): their ids are not read here nor sent back.
  const range = await sources.events.purchaseRange('owed');
  return { ...range, onlyOwed: range.last === null && (await anyPurchaseStored(sources.events)) };
}

/**
 * Whether any purchase is stored: asked when none is left once the owed customers' are (purchaseRange('owed') found
 * none), a yes says every one stored is of a customer whose erasure is owed.
 */
export async function anyPurchaseStored(events: Pick<EventRepository, 'purchaseRange'>): Promise<boolean> {
  return (await events.purchaseRange()).last !== null;
}

/** Whether, none being left without the owed customers' (`owedIds`), purchases are stored: theirs. */
export async function onlyOwedStored(events: Pick<EventRepository, 'purchaseRange'>, owedIds: readonly string[]): Promise<boolean> {
  return owedIds.length > 0 && (await anyPurchaseStored(events));
}

/**
 * What is true when no purchase is there to read (`what`: "evaluate", "train on"): none is stored, or every one stored
 * is of a customer whose erasure is owed (left out until it completes deletes them). Not "no purchases are stored"
 * for the second: an operator would look for a lost import.
 */
export function nothingToRead(onlyOwed: boolean, what: string): string {
  return onlyOwed
    ? `every purchase stored is of a customer whose erasure is owed (asked, not completed: left out, as they are once it completes): nothing to ${what}`
    : `no purchases are stored: nothing to ${what}`;
}

/**
 * Reads the input. `window`: the purchases' window (from, to, returnsBefore), or how to make it from the latest
 * purchase of the customers not owed (`latest`). The owed ids are read first, with that latest purchase in the same
 * statement: read apart, an erasure asked between the two left its customer's purchases in the input while the
 * window was cut as if they were out. One
 * owed after that read is left out only once its erasure completed (its rows then gone). Every read settles before a
 * failure is thrown, so no cursor of a failed attempt goes on beside the caller's next (evaluations try again after an
 * outage).
 */
export async function readOwedFreeInput(
  sources: OwedFreeSources,
  window: PurchaseWindow | ((latest: () => Promise<string | null>) => Promise<PurchaseWindow>),
  batchSize?: number,
): Promise<OwedFreeInput> {
  const { owedIds, latest: last } = await sources.events.owedAndLatest();
  const owed = new Set(owedIds);
  const latest = async () => last;
  const reads = [
    (typeof window === 'function' ? window(latest) : Promise.resolve(window)).then((w) => readPurchaseColumns(sources.events.streamPurchaseRows(w, batchSize), owed)),
    sources.catalog.listItems(),
    sources.catalog.listUsersWithAttributes().then((users) => (owed.size === 0 ? users : users.filter((u) => !owed.has(u.id)))),
  ] as const;
  await Promise.allSettled(reads);
  const [purchases, items, users] = await Promise.all(reads);
  return { purchases, items, users, owedIds };
}
