import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseInput } from '../../../src/data/event-repository.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, T0, trainAndPublish } from './shop-fixture.js';

/**
 * The popularity source's `attributes` are tried in the recipe's order ("first matching one wins"): with
 * ["region", "country"] a customer of region north in the UK is ranked by north's list. The hybrid's
 * popularity source does so; the segment serving picks for cold starts and backfill must be the same one.
 */
const RECIPE = {
  name: 'region-first',
  sources: { popularity: { params: { halfLifeDays: null, attributes: ['region', 'country'], minSegmentBuyers: 3, segmentShrink: 0 } } },
  hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } }, normalisation: 'max' },
  candidates: { perUser: 20 },
};

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('popularity segments follow the recipe\'s attribute order', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await t.services.catalog.upsertItems([
      { id: 'north-fav', title: 'northern wool hat', categories: [], price: 10 },
      { id: 'south-fav', title: 'southern sun hat', categories: [], price: 10 },
    ]);
    const users = [
      ...Array.from({ length: 5 }, (_, j) => ({ id: `north${j}`, attributes: { region: 'north', country: 'UK' } })),
      ...Array.from({ length: 8 }, (_, j) => ({ id: `south${j}`, attributes: { region: 'south', country: 'UK' } })),
      { id: 'newcomer', attributes: { region: 'north', country: 'UK' } },
    ];
    await t.services.catalog.upsertUsers(users);
    const purchases: PurchaseInput[] = users
      .filter((u) => u.id !== 'newcomer')
      .map((u, j) => ({ userId: u.id, itemId: u.id.startsWith('north') ? 'north-fav' : 'south-fav', quantity: 1, price: null, orderId: `o-${u.id}`, ts: new Date(T0 + j * DAY) }));
    await t.services.events.insertPurchases(purchases);
    await trainAndPublish(t.services, `v-${Date.now()}`, RECIPE);
  });
  afterAll(() => t?.dispose());

  it('When a new customer of region north (UK) asks, Then the cold start is north\'s list (popular in north), not the UK\'s', async () => {
    const res = await t.app.inject({ url: '/v1/users/newcomer/recommendations?k=2', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { items: { itemId: string; explanation?: string }[] };
    // North's 5 buyers all bought north-fav; the UK as a whole (13 buyers) prefers south-fav.
    expect(body.items[0]).toMatchObject({ itemId: 'north-fav', explanation: 'popular in north' });
  });

  it('When a visitor of region north (UK) sends only their attributes, Then the popular backfill is north\'s list too', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { attributes: { region: 'north', country: 'UK' }, k: 2 } });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { items: { itemId: string; explanation?: string }[] };
    expect(body.items[0]).toMatchObject({ itemId: 'north-fav', explanation: 'popular in north' });
  });

});
