import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const postgres = DB_BACKENDS[0];

/**
 * README: "A return with no such purchase left to return, or of more units than are left, is 422 UNPROCESSABLE ...
 * and nothing of the batch is stored." The route checks (unmatchedReturns) and then writes (insertReturns) in two
 * steps with nothing held between them, so two batches returning the one unit bought, sent at the same time (a
 * retrying shop backend, a customer-service tool and the warehouse), can both pass the check and both be stored.
 * The writes are held back here (a lock on return_events that still lets the checks read) until both requests
 * wait on a lock (the table's for a write, or another request's hold on the customer: an advisory lock), which is
 * an interleaving two real requests can take.
 */
describe.skipIf(!(await postgres.available()))('POST /v1/returns, two batches returning the same unit at once', () => {
  let t: TestApp;
  const send = (ts: string) =>
    t.app.inject({ method: 'POST', url: '/v1/returns', headers: auth('write'), payload: { returns: [{ userId: 'bea', itemId: 'coat', quantity: 1, ts }] } });

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    const res = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [{ userId: 'bea', itemId: 'coat', quantity: 1, price: 90, orderId: 'o1', ts: '2026-11-02T10:00:00.000Z' }] },
    });
    expect(res.statusCode).toBe(200);
  }, 60_000);
  afterAll(() => t?.dispose());

  it('When both are sent while neither is written yet, Then one is stored and the other is 422', async () => {
    const waiting = async () =>
      (await t.services.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l LEFT JOIN pg_class c ON c.oid = l.relation
         WHERE (c.relname = 'return_events' OR l.locktype = 'advisory') AND NOT l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      )).rows[0].n;
    const answers = await t.services.db.transaction(async (tx) => {
      await tx.query('LOCK TABLE return_events IN EXCLUSIVE MODE');
      const sent = [send('2026-11-03T10:00:00.000Z'), send('2026-11-03T10:05:00.000Z')];
      // Both requests wait: each has checked and waits to write, or one waits for the other's hold on the customer.
      for (let k = 0; k < 200 && (await waiting()) < 2; k++) await new Promise((r) => setTimeout(r, 50));
      return sent;
    });
    const codes = (await Promise.all(answers)).map((r) => r.statusCode).sort();
    const { rows } = await t.services.db.query<{ n: number }>("SELECT coalesce(sum(quantity), 0)::int AS n FROM return_events WHERE user_id = 'bea'");
    expect(rows[0].n).toBe(1);
    expect(codes).toEqual([200, 422]);
  }, 60_000);
});
