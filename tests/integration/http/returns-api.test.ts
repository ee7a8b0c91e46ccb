import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const postgres = DB_BACKENDS[0];
const T = '2026-11-02T10:00:00.000Z';
const LATER = '2026-11-03T10:00:00.000Z';

describe.skipIf(!(await postgres.available()))('POST /v1/returns', () => {
  let t: TestApp;
  const send = (returns: object[]) => t.app.inject({ method: 'POST', url: '/v1/returns', headers: auth('write'), payload: { returns } });
  const count = async () => (await t.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM return_events')).rows[0].n;

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    // One order of a dress in two sizes, and two scarves.
    const res = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [
        { userId: 'ann', itemId: 'dress-M', quantity: 1, price: 40, orderId: 'o1', ts: T },
        { userId: 'ann', itemId: 'dress-L', quantity: 1, price: 40, orderId: 'o1', ts: T },
        { userId: 'ann', itemId: 'scarf', quantity: 2, price: 12, orderId: 'o1', ts: T },
      ] },
    });
    expect(res.statusCode).toBe(200);
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When a return names no purchase left to return, or more units than bought, Then 422 names each and nothing of the batch is stored', async () => {
    const res = await send([
      { userId: 'ann', itemId: 'dress-L', quantity: 1, ts: LATER },
      { userId: 'ann', itemId: 'hat', quantity: 1, ts: LATER },
      { userId: 'ann', itemId: 'scarf', quantity: 3, ts: LATER },
      { userId: 'ann', itemId: 'dress-M', quantity: 1, ts: '2026-11-01T10:00:00.000Z' },
      { userId: 'ann', itemId: 'dress-M', quantity: 1, orderId: 'o2', ts: LATER },
    ]);
    expect(res.statusCode).toBe(422);
    const { error } = res.json();
    expect(error.code).toBe('UNPROCESSABLE');
    expect(error.details.map((d: { path: string }) => d.path)).toEqual(['body.returns.1', 'body.returns.2', 'body.returns.3', 'body.returns.4']);
    expect(error.details[1].message).toMatch(/returns 3 units, but only 2/);
    expect(await count()).toBe(0);
  });

  it('When the L is returned, Then it is stored, a retry adds nothing, and the purchases read for training keep the M only', async () => {
    const ret = { userId: 'ann', itemId: 'dress-L', quantity: 1, orderId: 'o1', ts: LATER };
    expect((await send([ret])).json()).toEqual({ accepted: 1, inserted: 1, duplicates: 0, erased: 0 });
    expect((await send([ret])).json()).toEqual({ accepted: 1, inserted: 0, duplicates: 1, erased: 0 });
    const rows = await t.services.events.loadPurchaseRows({ userId: 'ann' });
    expect(rows.map((r) => [r.itemId, r.quantity]).sort()).toEqual([['dress-M', 1], ['scarf', 2]]);
    // Returned already: a second return of it (another event) has nothing left to take.
    expect((await send([{ ...ret, ts: '2026-11-04T10:00:00.000Z' }])).statusCode).toBe(422);
  });

  it('When one scarf of two is returned, Then the scarf stays bought with the unit kept', async () => {
    expect((await send([{ userId: 'ann', itemId: 'scarf', quantity: 1, ts: LATER }])).statusCode).toBe(200);
    const rows = await t.services.events.loadPurchaseRows({ userId: 'ann' });
    expect(rows.find((r) => r.itemId === 'scarf')?.quantity).toBe(1);
  });

  it('When a return is malformed, Then 400 in the error shape', async () => {
    for (const bad of [{ userId: 'ann', itemId: 'scarf', quantity: 0, ts: LATER }, { userId: 'ann', itemId: 'scarf', quantity: 1 }, { userId: 'ann', itemId: 'scarf', quantity: -1, ts: LATER }]) {
      const res = await send([bad]);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('When the customer is erased, Then their returns go with them', async () => {
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/ann', headers: auth('admin') })).statusCode).toBeLessThan(300);
    expect(await count()).toBe(0);
  });
});
