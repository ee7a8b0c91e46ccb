import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// Purchases without an order id are each their own order per (customer, time): the profile's frequency
// (profile.ts, dataset.ts) counts them so. The customer list showed the same customer with 0 orders.
const usePostgres = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 1, 12);

describe('customer list order counts for purchases sent without an order id', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await t.app.inject({ method: 'PUT', url: '/v1/items/A', headers: auth('write'), payload: { title: 'mug', price: 10 } });
    await t.app.inject({ method: 'PUT', url: '/v1/items/B', headers: auth('write'), payload: { title: 'plate', price: 4 } });
    // Three baskets of two lines each (same time within a basket), no order ids; and a customer with order ids.
    const events = [0, 7, 14].flatMap((d) => [
      { userId: 'no-ids', itemId: 'A', quantity: 1, price: 10, ts: new Date(base + d * DAY).toISOString() },
      { userId: 'no-ids', itemId: 'B', quantity: 1, price: 4, ts: new Date(base + d * DAY).toISOString() },
      { userId: 'with-ids', itemId: 'A', quantity: 1, price: 10, orderId: `o${d}`, ts: new Date(base + d * DAY).toISOString() },
    ]);
    // Other customers, so there is enough to train on.
    for (let k = 0; k < 6; k++) events.push({ userId: `other-${k}`, itemId: 'B', quantity: 1, price: 4, orderId: `x${k}`, ts: new Date(base + k * DAY).toISOString() });
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } });
    expect(res.json().inserted).toBe(15);
    await t.services.trainer.train({ tune: false });
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When customers are listed, Then a customer whose purchases carry no order id has as many orders as their profile counts (3), not 0', async () => {
    const list = await t.app.inject({ url: '/v1/users?sort=spend', headers: auth('admin') });
    expect(list.statusCode).toBe(200);
    const byId = new Map(list.json().customers.map((c: { id: string }) => [c.id, c]));
    const profile = (await t.app.inject({ url: '/v1/users/no-ids/profile', headers: auth('read') })).json();
    // Independently: three distinct purchase times, two lines each.
    expect(profile.frequency).toBe(3);
    expect(byId.get('with-ids')).toMatchObject({ purchases: 3, orders: 3, spend: 30 });
    expect(byId.get('no-ids')).toMatchObject({ purchases: 6, spend: 42 });
    expect(byId.get('no-ids')).toMatchObject({ orders: 3 });
  });
});
