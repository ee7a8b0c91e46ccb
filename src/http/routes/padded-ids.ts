import type { CatalogRepository } from '../../data/catalog-repository.js';
import { orderKey, type EventRepository } from '../../data/event-repository.js';
import { AppError } from '../../errors.js';

/**
 * An id as an ingestion write names it, and where (the 400's field path): a customer's or product's, an
 * event's (a purchase's, or a view's, cart's or rating's: ids are unique per kind), or an order's, which is
 * one customer's basket (`userId`: whose). An event's or order's id names its event too (`event`: its index
 * in the write's batch), which an erasure may claim.
 */
export type NamedId =
  | { path: string; kind: 'user' | 'item'; id: string }
  | { path: string; kind: 'purchase' | 'interaction'; id: string; event: number }
  | { path: string; kind: 'order'; id: string; userId: string; event: number };

/**
 * What refuseNewPaddedIds asks of event and order ids: whether they are stored, and which events of the
 * write's batch (indices) an erasure claims, which the write would drop (counted as erased) rather than store.
 */
export interface EventIdChecks {
  stored: Pick<EventRepository, 'storedEventIds' | 'storedOrders'>;
  erased: (events: number[]) => Promise<Set<number>>;
}

/** What a new id of each kind would name apart from the same id imported. */
const NAMES: Record<NamedId['kind'], string> = {
  user: 'customer',
  item: 'product',
  purchase: 'event (a retry would be stored twice)',
  interaction: 'event (a retry would be stored twice)',
  order: 'order',
};

/** White space at either end, as the importers trim a cell (String.prototype.trim: spaces, tabs, no-break spaces, line ends). */
const padded = (id: string): boolean => id !== id.trim();

/** Fields listed in the 400's details, as a validation error lists its first issues. */
const LISTED = 20;

/**
 * Refuses (400 VALIDATION_FAILED, each field named) the new ids of an ingestion write that begin or end with
 * white space: customers' and products', and (given `events`) event ids and order ids. The importers trim every
 * cell, ids included, so over the API such an id named another customer, product, event or order than the same
 * id imported: `SKU1 ` and `SKU1` were two products, `o-7 ` and `o-7` two orders, and an event imported as `e-1`
 * and sent again as `e-1 ` was stored twice. Feedback sent with a write key creates what it names and records
 * its purchases, so it is held to this too (its customers and products). An id already stored so (before this
 * check, or a customer by a browser's or read key's feedback, which takes any customer id) is not new: its
 * writes go on (a retry of a stored event is a duplicate, a stored order of the same customer takes more
 * purchases), so nothing stored is cut off. A customer erased since was stored too (erased_users): their
 * replayed events are the write's to count as erased, and what they send after the erasure is stored under
 * the id they had, as for any erased customer who comes back. Nor is an event or order id of an event an erasure claims (dated
 * at or before it, or an id it deleted: an erased customer's batch sent again), which the write drops as erased
 * and stores nothing of: the erasure deleted what held the id, and the replay is counted as erased, as it was
 * before this check. Reads and erasure take any id. Costs nothing unless an id is padded (then one lookup of
 * those ids per kind, and, only when an event's or order's is not stored, one or two of erasures).
 */
export async function refuseNewPaddedIds(
  catalog: Pick<CatalogRepository, 'storedIds' | 'storedOrErasedUserIds'>,
  named: NamedId[],
  events?: EventIdChecks,
): Promise<void> {
  const suspect = named.filter((n) => padded(n.id));
  if (suspect.length === 0) return;
  const idsOf = (kind: NamedId['kind']) => [...new Set(suspect.flatMap((n) => (n.kind === kind ? [n.id] : [])))];
  const orders = suspect.flatMap((n) => (n.kind === 'order' ? [{ userId: n.userId, orderId: n.id }] : []));
  if (!events && suspect.some((n) => n.kind !== 'user' && n.kind !== 'item')) throw new Error('refuseNewPaddedIds: event and order ids need the event repository');
  const none = Promise.resolve(new Set<string>());
  const [users, items, purchases, interactions, storedOrders] = await Promise.all([
    catalog.storedOrErasedUserIds(idsOf('user')),
    catalog.storedIds('items', idsOf('item')),
    events ? events.stored.storedEventIds('purchase', idsOf('purchase')) : none,
    events ? events.stored.storedEventIds('interaction', idsOf('interaction')) : none,
    events ? events.stored.storedOrders(orders) : none,
  ]);
  const stored = (n: NamedId): boolean => {
    switch (n.kind) {
      case 'user':
        return users.has(n.id);
      case 'item':
        return items.has(n.id);
      case 'purchase':
        return purchases.has(n.id);
      case 'interaction':
        return interactions.has(n.id);
      case 'order':
        return storedOrders.has(orderKey(n.userId, n.id));
    }
  };
  let fresh = suspect.filter((n) => !stored(n));
  // An event's or order's id not stored may be one an erasure deleted: the write drops such an event as erased.
  const ofEvents = [...new Set(fresh.flatMap((n) => ('event' in n ? [n.event] : [])))];
  if (events && ofEvents.length > 0) {
    const erased = await events.erased(ofEvents);
    fresh = fresh.filter((n) => !('event' in n && erased.has(n.event)));
  }
  if (fresh.length === 0) return;
  const first = fresh[0];
  throw new AppError(
    'VALIDATION_FAILED',
    `${first.path} ${JSON.stringify(first.id)}${fresh.length > 1 ? ` and ${fresh.length - 1} more` : ''}: a new id must not begin or end with white space ` +
      `(the importers trim ids, so it would name another ${NAMES[first.kind]} than the same id imported); send it trimmed`,
    fresh.slice(0, LISTED).map((n) => ({ path: n.path, message: 'a new id must not begin or end with white space (send it trimmed)' })),
  );
}
