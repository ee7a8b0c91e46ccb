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

/*
 * Three customers, reference time 2024-03-31 12:00Z (2024 is a leap year: Feb has 29 days).
 * Items: A "RED HEART MUG" [kitchen], B "SET OF 3 RED CANDLES" [home, candles], C "BLUE MUG" [kitchen] at 1.5.
 *   u1: o1 03-01 A 2 x 2.0, B 1 x 4.0 | o2 03-11 A 1 x 3.0 | o3 03-31 C 4 x 1.0
 *   u2: o4 01-31 B 2 x 6.0                          (single order)
 *   u3: o5 03-21 10:00 A 1 x 2.5 | o6 03-21 15:00 C 2 x (no price: catalog 1.5)   (two orders, one day)
 * Item mean paid prices over priced lines: A (2 + 3 + 2.5) / 3 = 2.5, B (4 + 6) / 2 = 5, C 1 / 1 = 1.
 */
export const items = [
  item('A', 'RED HEART MUG', ['kitchen']),
  item('B', 'SET OF 3 RED CANDLES', ['home', 'candles']),
  item('C', 'BLUE MUG', ['kitchen'], 1.5),
];
export const events = [
  line('u1', 'o1', '2024-03-01T10:00:00Z', 'A', 2, 2.0),
  line('u1', 'o1', '2024-03-01T10:00:00Z', 'B', 1, 4.0),
  line('u1', 'o2', '2024-03-11T09:00:00Z', 'A', 1, 3.0),
  line('u1', 'o3', '2024-03-31T08:00:00Z', 'C', 4, 1.0),
  line('u2', 'o4', '2024-01-31T18:00:00Z', 'B', 2, 6.0),
  line('u3', 'o5', '2024-03-21T10:00:00Z', 'A', 1, 2.5),
  line('u3', 'o6', '2024-03-21T15:00:00Z', 'C', 2, null),
];
export const NOW = '2024-03-31T12:00:00Z';
