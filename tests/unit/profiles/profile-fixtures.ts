import { buildDataset, type Dataset, type ItemInfo, type PurchaseRow } from '../../../src/recommenders/dataset.js';

export const DAY = 86_400_000;

export function item(id: string, title: string, categories: string[] = [], price: number | null = null): ItemInfo {
  return { id, title, categories, price, attributes: {}, available: true };
}

/** One purchase line: `at` is an ISO timestamp. */
export function line(
  userId: string,
  orderId: string,
  at: string,
  itemId: string,
  quantity: number,
  price: number | null,
): PurchaseRow {
  return { userId, orderId, ts: Date.parse(at), itemId, quantity, price };
}

export function dataset(events: PurchaseRow[], items: ItemInfo[] = [], now?: string): Dataset {
  return buildDataset({ events, items, now: now === undefined ? undefined : Date.parse(now) });
}

/**
 * A customer `userId` with `orders` orders on consecutive days starting `firstDay` (ISO date), one line each
 * of item "x" at `price` x 1: handy for populations where only frequency or monetary should vary.
 */
export function regular(userId: string, orders: number, firstDay: string, price = 1): PurchaseRow[] {
  const start = Date.parse(`${firstDay}T12:00:00Z`);
  return Array.from({ length: orders }, (_, k) => ({
    userId,
    orderId: `${userId}-${k}`,
    ts: start + k * DAY,
    itemId: 'x',
    quantity: 1,
    price,
  }));
}
