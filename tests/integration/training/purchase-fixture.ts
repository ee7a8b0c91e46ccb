import type { Services } from '../../../src/services.js';
import type { PurchaseInput } from '../../../src/data/event-repository.js';

/**
 * Two disjoint shops in one database: users g0-u0..g0-u5 buy only items g0-i0..g0-i4 ("candles"),
 * users g1-* only g1-* ("garden tools"). Every user places three orders of two or three items, a day
 * apart (the last holds three items), so every source has something to learn: 36 orders, 84 events.
 */
export function twoShopPurchases(): PurchaseInput[] {
  const events: PurchaseInput[] = [];
  const start = Date.UTC(2011, 0, 3, 10);
  for (const g of [0, 1]) {
    for (let u = 0; u < 6; u++) {
      for (let o = 0; o < 3; o++) {
        const basket = [(u + o) % 5, (u + o + 1) % 5, ...(o === 2 ? [(u + 4) % 5] : [])];
        for (const i of basket) {
          events.push({
            userId: `g${g}-u${u}`,
            itemId: `g${g}-i${i}`,
            quantity: 1 + ((u + i) % 3),
            price: 2 + i,
            orderId: `g${g}-u${u}-o${o}`,
            ts: new Date(start + (o * 6 + u) * 86_400_000 + g * 3_600_000),
          });
        }
      }
    }
  }
  return events;
}

/** Stores the two shops' catalog (titles, countries) and purchases through the repositories. */
export async function seedTwoShops(services: Pick<Services, 'catalog' | 'events'>): Promise<{ events: number }> {
  const words = [['vanilla', 'candle'], ['garden', 'spade']];
  await services.catalog.upsertItems(
    [0, 1].flatMap((g) =>
      [0, 1, 2, 3, 4].map((i) => ({ id: `g${g}-i${i}`, title: `${words[g].join(' ')} ${i}`, categories: [words[g][1]], price: 2 + i })),
    ),
  );
  await services.catalog.upsertUsers(
    [0, 1].flatMap((g) => [0, 1, 2, 3, 4, 5].map((u) => ({ id: `g${g}-u${u}`, attributes: { country: g === 0 ? 'France' : 'Norway' } }))),
  );
  const events = twoShopPurchases();
  await services.events.insertPurchases(events);
  return { events: events.length };
}
