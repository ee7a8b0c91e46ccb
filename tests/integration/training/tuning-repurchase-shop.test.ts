import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemInput } from '../../../src/data/catalog-repository.js';
import type { PurchaseInput } from '../../../src/data/event-repository.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
/** Sources of the default recipe that score nothing but the customer's own items. */
const OWN_ITEMS_ONLY = ['buy-again', 'repurchase'];

/**
 * A replenishment shop (pet food, coffee capsules): 50 customers, 40 products; every customer re-orders
 * the same three products every week for 17 weeks and never buys anything else. Collaborative sources
 * have plenty to learn (customers share products), but no validation window holds a customer who
 * bought something new, so novel-mode NDCG is measured on nobody.
 */
function replenishmentShop(): { items: ItemInput[]; purchases: PurchaseInput[] } {
  const items: ItemInput[] = Array.from({ length: 40 }, (_, i) => ({ id: `p${i}`, title: `product ${i}`, categories: [`c${i % 4}`], price: 3 }));
  const purchases: PurchaseInput[] = [];
  for (let u = 0; u < 50; u++) {
    const staples = [...new Set([u % 40, (u * 7 + 1) % 40, (u * 13 + 5) % 40])];
    for (let w = 0; w < 17; w++) {
      const ts = new Date(T0 + (w * 7 + (u % 7)) * DAY);
      for (const i of staples) purchases.push({ userId: `c${u}`, itemId: `p${i}`, quantity: 1, price: 3, orderId: `c${u}-w${w}`, ts });
    }
  }
  return { items, purchases };
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('default recipe tuned on a shop whose customers only re-order', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb, env: { TRAIN_THREADS: '1' } });
    const { items, purchases } = replenishmentShop();
    await t.services.catalog.upsertItems(items);
    await t.services.events.insertPurchases(purchases);
  });
  afterAll(() => t?.dispose());

  it('When no validation window holds a customer who bought something new, Then tuning does not publish a hybrid that can only offer backfill', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin') });
    expect(res.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 240_000);
    expect(job.status).toBe('succeeded');

    const model = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json().versions[0];
    const { tuning, recipe } = model.info;
    // Either tuning says it could not judge new items (and keeps the written weights), or what it chose
    // still weighs at least one source that recommends products the customer has not bought.
    if (!('skipped' in tuning)) {
      for (const level of ['cold', 'warm'] as const) {
        const weighted = Object.entries(recipe.hybrid.weights[level] as Record<string, number>).filter(([, w]) => w > 0).map(([s]) => s);
        expect(weighted.filter((s) => !OWN_ITEMS_ONLY.includes(s)), `hybrid.weights.${level} = ${JSON.stringify(recipe.hybrid.weights[level])} (tuning chose "${tuning.chosen}" on ${tuning.scores.novel.users} novel validation customers)`).not.toEqual([]);
      }
    }

    // What the storefront sees: a regular's default list (purchased items left out) is personal, not
    // the popularity backfill of a hybrid that has nothing new to offer.
    const list = (await t.app.inject({ url: '/v1/users/c0/recommendations?k=10', headers: auth('read') })).json();
    expect(list.items.length).toBeGreaterThan(0);
    const sourcesSeen = new Set(list.items.flatMap((i: { sources: string[] }) => i.sources));
    expect([...sourcesSeen].filter((s) => s !== 'popularity')).not.toEqual([]);
  }, 300_000);
});
