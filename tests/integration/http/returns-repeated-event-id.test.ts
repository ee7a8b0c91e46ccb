import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const postgres = DB_BACKENDS[0];

/**
 * README: POST /v1/returns is "idempotent on `eventId` as purchases are", and of purchases "a purchase whose `eventId`
 * an earlier purchase of the same batch has is a duplicate, neither stored nor counted". A queue that delivers at
 * least once can put one return twice into a batch. The 422 check counts both copies against the one unit bought
 * and refuses the batch, where the write would have stored the first and counted the second as a duplicate.
 */
describe.skipIf(!(await postgres.available()))('POST /v1/returns with one eventId twice in a batch', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    const res = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [{ userId: 'dan', itemId: 'boot', quantity: 1, price: 70, orderId: 'o1', ts: '2026-11-02T10:00:00.000Z' }] },
    });
    expect(res.statusCode).toBe(200);
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When the one return is in the batch twice, Then it is stored once and the copy is a duplicate', async () => {
    const ret = { eventId: 'ret-1', userId: 'dan', itemId: 'boot', quantity: 1, orderId: 'o1', ts: '2026-11-03T10:00:00.000Z' };
    const res = await t.app.inject({ method: 'POST', url: '/v1/returns', headers: auth('write'), payload: { returns: [ret, ret] } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ accepted: 2, inserted: 1, duplicates: 1, erased: 0 });
  });
});
