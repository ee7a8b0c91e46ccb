import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// A refreshed profile measures recency from the latest purchase the shop has (README "Profiles", the
// `asOf` of a profile), but scores that recency against the trained customers' recencies, which were
// measured from the training's latest purchase. Once another customer's purchase moves the reference
// date, the refreshed customer is compared with recencies that are too small by the shift, and loses
// R score (and segment) to customers who bought long before them. Fails until mended.
const usePostgres = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
// The training's latest purchase: c9's, 2011-06-30 12:00 UTC.
const trainedEnd = Date.UTC(2011, 5, 30, 12);

describe("a refreshed customer's R score after the shop's reference date moves", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    // Ten customers, one order each, 10 days apart: c0 bought 90 days before the end, c9 on it.
    const events = Array.from({ length: 10 }, (_, k) => ({
      userId: `c${k}`, itemId: k % 2 ? 'A' : 'B', quantity: 1, price: 5, orderId: `o${k}`, ts: new Date(trainedEnd - (9 - k) * 10 * DAY).toISOString(),
    }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } })).json().inserted).toBe(10);
    await t.services.trainer.train({ tune: false });
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When a first-time buyer after training is followed 29 days later by another new customer, Then the first stays R 5 and "new": only one customer bought more recently', async () => {
    const first = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [{ userId: 'newcomer', itemId: 'A', quantity: 1, price: 5, orderId: 'n1', ts: new Date(trainedEnd + DAY).toISOString() }] },
    });
    expect(first.json().inserted).toBe(1);
    const before = (await t.app.inject({ url: '/v1/users/newcomer/profile', headers: auth('read') })).json();
    expect(before).toMatchObject({ source: 'refreshed', recencyDays: 0, frequency: 1, rScore: 5, fScore: 1, segment: 'new' });

    const later = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [{ userId: 'other', itemId: 'B', quantity: 1, price: 5, orderId: 'x1', ts: new Date(trainedEnd + 30 * DAY).toISOString() }] },
    });
    expect(later.json().inserted).toBe(1);
    const after = (await t.app.inject({ url: '/v1/users/newcomer/profile', headers: auth('read') })).json();
    // Reference date: the other customer's purchase, 29 days after the newcomer's.
    expect(after.asOf).toBe(new Date(trainedEnd + 30 * DAY).toISOString());
    expect(after.recencyDays).toBe(29);
    // Measured from that date, c9..c0 are 30..120 days away: the newcomer is more recent than all ten.
    // Mid-rank among the 12 customers: p = (10 below + 1/2) / 12 = 0.875, R = 1 + floor(5p) = 5; F 1 -> "new".
    // (Scored against the recencies as trained, 0..90 days, 29 days sits below c9..c7: R 4, "promising".)
    expect({ rScore: after.rScore, segment: after.segment }).toEqual({ rScore: 5, segment: 'new' });
  });
});
