import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, listedItemIds, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop } from './shop-fixture.js';

/**
 * A purchase batch that names one eventId twice with different content (a client bug, or two lines of a
 * basket given the order's id): Postgres stores one of them and answers the other as a duplicate. What
 * reaches the customer's live state (their next answer, without retraining) must be what was stored: a
 * product that is not among their purchases must not be treated as bought.
 */
const backend = DB_BACKENDS[0];

describe.skipIf(!(await backend.available()))('live purchases of a batch repeating an eventId', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: backend.create });
    await seedShop(t.services);
    await t.services.trainer.train({ tune: false });
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When two purchases share one eventId, Then only the stored one counts as bought in the live state and the next answer', async () => {
    const url = '/v1/users/g-user0/recommendations?k=8';
    const before = await listedItemIds(t, url);
    expect(before).toEqual(expect.arrayContaining(['g9', 'g5']));
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: {
        events: [
          { eventId: 'order-77', userId: 'g-user0', itemId: 'g9', quantity: 1, ts: '2024-03-02T10:00:00Z' },
          { eventId: 'order-77', userId: 'g-user0', itemId: 'g5', quantity: 1, ts: '2024-03-02T10:00:00Z' },
        ],
      },
    });
    // The first event of an id is stored, the second is a duplicate (as the same id sent again would be).
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ inserted: 1, duplicates: 1 });
    const events = await t.app.inject({ url: '/v1/users/g-user0/events', headers: auth('read') });
    const stored = new Set((events.json().events as { itemId: string }[]).map((e) => e.itemId));
    const notStored = ['g9', 'g5'].filter((i) => !stored.has(i));
    expect(notStored).toEqual(['g5']);
    const live = (await t.services.store.getUserEvents('g-user0')).map((e) => e.itemId);
    expect(live.filter((i) => notStored.includes(i))).toEqual([]);
    // The product that was not stored is not bought: it stays on the customer's list.
    expect(await listedItemIds(t, url)).toContain(notStored[0]);
  });
});
