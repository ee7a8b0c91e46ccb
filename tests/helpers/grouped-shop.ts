/**
 * The grouped shop of tests/unit/evaluation/tuning-per-group.test.ts, as catalog items and purchases for an app:
 * 16 customers in two tastes (styles a0..a23, b0..b23); every 10 days each buys two styles of their taste, each in
 * a variant of their own (`a3-u4`), so per product nothing carries from one customer to another, while per style
 * (the item group) every customer of a taste shares them. A 'stocktaker' buys every variant once at T0 so each is
 * a trained item.
 */
import type { TestApp } from './app.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

export async function seedGroupedShop(t: TestApp): Promise<void> {
  const items = [];
  const purchases = [];
  for (let u = 0; u < 16; u++) {
    const taste = u % 2 === 0 ? 'a' : 'b';
    for (let s = 0; s < 24; s++) items.push({ id: `${taste}${s}-u${u}`, title: `${taste}${s}`, itemGroupId: `${taste}${s}` });
    for (let day = 1 + (u % 5), n = 0; day < 120; day += 10, n++) {
      for (const s of [(u + n) % 24, (u + n + 1) % 24]) {
        purchases.push({ userId: `u${u}`, itemId: `${taste}${s}-u${u}`, orderId: `u${u}-${day}`, ts: new Date(T0 + day * DAY + u * 60_000), quantity: 1 });
      }
    }
  }
  for (const item of items) purchases.push({ userId: 'stocktaker', itemId: item.id, orderId: 'stock', ts: new Date(T0), quantity: 1 });
  await t.services.catalog.upsertItems(items);
  await t.services.events.insertPurchases(purchases);
}
