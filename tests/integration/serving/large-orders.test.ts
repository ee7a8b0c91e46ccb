/**
 * The model store keeps a customer's newest LIVE_EVENTS_KEPT purchases since training (the live list); one
 * order of more lines than that (a wholesale customer's) drops its first lines from it. What they bought must
 * still be left out of their lists: Postgres has it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_EVENTS_KEPT } from '../../../src/store/model-store.js';
import { auth, createTestApp, listedItemIds, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from './shop-fixture.js';

const postgres = DB_BACKENDS[0];

describe.skipIf(!(await postgres.available()))('an order of more lines than the live list keeps', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    await seedShop(t.services);
    // A larger catalogue, so one order can hold more products the model knows than the live list keeps.
    await t.services.catalog.upsertItems(Array.from({ length: LIVE_EVENTS_KEPT + 10 }, (_, n) => ({ id: `x${n}`, title: `extra product ${n}`, categories: ['extra'], price: 3 })));
    await trainAndPublish(t.services);
  });
  afterAll(() => t.dispose());

  const list = (url: string) => listedItemIds(t, url);
  const order = async (userId: string, lines: string[]) => {
    const ts = new Date(T0 + 80 * DAY).toISOString();
    const events = lines.map((itemId, n) => ({ userId, itemId, quantity: 1, orderId: `big-${userId}`, ts, eventId: `big-${userId}-${n}` }));
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } });
    expect(res.statusCode, res.body).toBe(200);
  };

  it('When a known customer places one order of more lines than the live list keeps, Then none of its products is recommended to them', async () => {
    const top = (await list('/v1/users/g-user0/recommendations?k=10'))[0];
    // Their top recommendation first, then as many more as the live list keeps: the first line drops out of it.
    const lines = [top, ...Array.from({ length: LIVE_EVENTS_KEPT }, (_, n) => `x${n}`)];
    await order('g-user0', lines);
    expect((await t.services.store.getUserEvents('g-user0')).map((e) => e.itemId)).not.toContain(top);
    for (const strategy of ['hybrid', 'popularity', 'item-knn']) {
      expect(await list(`/v1/users/g-user0/recommendations?k=10&strategy=${strategy}`)).not.toContain(top);
    }
  });

  it('When a new customer places one such order, Then none of its products is recommended to them', async () => {
    const top = (await list('/v1/users/newcomer/recommendations?k=10'))[0];
    await order('newcomer', [top, ...Array.from({ length: LIVE_EVENTS_KEPT }, (_, n) => `x${n}`)]);
    expect(await list('/v1/users/newcomer/recommendations?k=10')).not.toContain(top);
  });
});
