import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

/**
 * README, MAX_BATCH_SIZE: "most records in one batch request (items, events, feedback); more is
 * `413 BATCH_TOO_LARGE`". POST /v1/events decides that from the count before validating the batch (a 10 MB
 * batch took 0.8-4.4 s of the event loop to validate, all for a 413 the count decides); POST /v1/items/batch
 * validates every item first, so an oversized batch with one bad item is a 400 about that item, and once
 * fixed a 413: the sender is told the wrong thing first.
 */
const backend = DB_BACKENDS[0];

describe.skipIf(!(await backend.available()))('item batches over MAX_BATCH_SIZE', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: backend.create, env: { MAX_BATCH_SIZE: '3' } });
  });
  afterAll(() => t?.dispose());

  it('When an item batch is over the limit and one of its items is invalid, Then 413 BATCH_TOO_LARGE as for events, and nothing is written', async () => {
    const items = [{ id: 'i1' }, { id: 'i2' }, { id: 'i3', price: -1 }, { id: 'i4' }];
    const res = await t.app.inject({ method: 'POST', url: '/v1/items/batch', headers: auth('write'), payload: { items } });
    expect(res.json().error, res.body).toMatchObject({ code: 'BATCH_TOO_LARGE', message: expect.stringMatching(/at most 3/) });
    expect(res.statusCode).toBe(413);
    expect(await t.services.catalog.getItem('i1')).toBeNull();
    // The same for events, which the route counts first.
    const events = [1, 2, 3, 4].map((n) => ({ userId: 'u', itemId: `i${n}`, quantity: n === 3 ? -1 : 1, ts: '2024-01-01' }));
    const ev = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } });
    expect(ev.statusCode).toBe(413);
  });
});
