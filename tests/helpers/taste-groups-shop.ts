import type { PurchaseRow } from '../../src/recommenders/dataset.js';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2024, 0, 1);
/** The end of the shop's 120 days: tuning's windows end here in the tests that use it. */
export const END = T0 + 120 * DAY;

/**
 * The small shop the tuning tests fit on: 24 customers over 120 days in two taste groups (items a0..a11,
 * b0..b11). Every 10 days each buys two items of their group, picked by `pick` from the customer and the order's
 * number (by default rotating), and every other order rebuys their favourite, so every 30-day window before END has
 * validation users in both modes.
 */
export function tasteGroupPurchases(pick: (u: number, n: number) => [number, number] = (u, n) => [(u + n) % 12, (u + n + 1) % 12]): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  for (let u = 0; u < 24; u++) {
    const g = u % 2 === 0 ? 'a' : 'b';
    for (let day = 1 + (u % 5), n = 0; day < 120; day += 10, n++) {
      const order = `u${u}-${day}`;
      const push = (item: string) => rows.push({ userId: `u${u}`, itemId: item, orderId: order, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
      const [first, second] = pick(u, n);
      push(`${g}${first}`);
      push(`${g}${second}`);
      if (n % 2 === 0) push(`${g}-fav${u % 3}`);
    }
  }
  return rows;
}

/**
 * The shop above with a long tail: `customers` customers who bought once, early (day 1), two of their group's
 * items and five products nobody else bought (500 tail products for 100 customers).
 */
export function withLongTail(rows: PurchaseRow[], customers = 100): PurchaseRow[] {
  for (let x = 0; x < customers; x++) {
    const g = x % 2 === 0 ? 'a' : 'b';
    const push = (item: string) => rows.push({ userId: `x${x}`, itemId: item, orderId: `x${x}`, ts: T0 + DAY + x * 60_000, quantity: 1, price: null });
    for (const item of [`${g}${x % 12}`, `${g}${(x + 5) % 12}`, ...[0, 1, 2, 3, 4].map((j) => `${g}-tail${x}-${j}`)]) push(item);
  }
  return rows;
}
