/**
 * A precomputed customer's purchases as far as the served version and the live events tell them, for
 * scoring a single-strategy list while Postgres (where their purchase rows are) cannot be read. The
 * version holds the customer's distinct purchased items and the times of the latest ones (UserEntry);
 * the live events add what they bought since training. Quantities, order ids and the times of older
 * purchases are not held: each purchase counts once, the older ones as one order just before the
 * oldest time held, and purchases of one moment are one order (as the dataset has it without order ids).
 * An approximation, answered as a fallback and never kept.
 */
import type { PurchaseRow } from '../recommenders/dataset.js';
import type { ServingModel } from './serving-model.js';
import { sortedHas, type UserEntry } from './user-entry.js';

export function heldHistory(
  model: Pick<ServingModel, 'items'>,
  userId: string,
  entry: Pick<UserEntry, 'purchased' | 'recentItems' | 'recentTs' | 'lastTs'>,
  live: readonly { itemId: string; ts: number }[],
): PurchaseRow[] {
  const ids = model.items.ids;
  const row = (item: number, ts: number): PurchaseRow => ({ userId, itemId: ids[item], orderId: null, ts, quantity: 1, price: null });
  const timed = new Map<number, number>();
  for (let k = 0; k < entry.recentItems.length; k++) timed.set(entry.recentItems[k], entry.recentTs[k]);
  let oldest = entry.lastTs;
  for (const ts of timed.values()) oldest = Math.min(oldest, ts);
  const since: PurchaseRow[] = [];
  for (const e of live) {
    const item = model.items.index.get(e.itemId);
    if (item === undefined) continue;
    // Live events outlast the training that saw them: one the version holds already only tells its time.
    if (e.ts <= entry.lastTs && sortedHas(entry.purchased, item)) timed.set(item, Math.max(timed.get(item) ?? -Infinity, e.ts));
    else since.push(row(item, e.ts));
  }
  const rows: PurchaseRow[] = [];
  for (const item of entry.purchased) rows.push(row(item, timed.get(item) ?? oldest - 1));
  return rows.concat(since);
}
