import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// GET /v1/segments/lifecycle-history counts "customers per lifecycle stage at each month's end, from the
// purchases" (README). The purchase days behind it are kept in memory and served stale while a fresh read
// runs, and an erasure does not drop them: the first read after DELETE /v1/users/:id, however long after,
// still counts the erased customer. An erased customer must be in no report count. Fails until mended.
const usePostgres = await serviceAvailable(POSTGRES_URL);

const total = (point: { counts: Record<string, number> }) => Object.values(point.counts).reduce((a, b) => a + b, 0);

describe('lifecycle history after an erasure', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    const events = ['keep-1', 'keep-2', 'erase-me'].map((userId, k) => ({
      userId, itemId: 'A', quantity: 1, price: 3, orderId: `o${k}`, ts: `2011-06-${10 + k}T10:00:00Z`,
    }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } })).json().inserted).toBe(3);
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When a customer is erased after the history was read, Then the next read no longer counts them', async () => {
    const before = await t.app.inject({ url: '/v1/segments/lifecycle-history?months=1', headers: auth('admin') });
    expect(before.statusCode).toBe(200);
    const [point] = before.json().points;
    // Three buyers, all within 30 days of 2011-06-12: all three "new".
    expect(point).toEqual({ asOf: '2011-06-12', counts: { new: 3, active: 0, silent: 0, churned: 0 } });

    const erased = await t.app.inject({ method: 'DELETE', url: '/v1/users/erase-me', headers: auth('admin') });
    expect(erased.statusCode).toBe(204);

    const after = await t.app.inject({ url: '/v1/segments/lifecycle-history?months=1', headers: auth('admin') });
    expect(after.statusCode).toBe(200);
    expect(after.json().points.map(total)).toEqual([2]);
  });
});
