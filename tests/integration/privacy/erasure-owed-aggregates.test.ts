/**
 * README "Erasure": while an erasure is owed (recorded as asked, not completed), the customer is left out of what the
 * data team reads in aggregate as an erased one is: the segments report (`GET /v1/segments`: sizes, revenue, shares,
 * mean scores), the overview's counts (`GET /v1/overview`) and the lifecycle history. Each answers then what it
 * answers once the erasure completed. Real Postgres (a schema of the shared test database), the real trainer (its
 * profiles artifact), the in-process model store.
 */
import { describe, expect, it } from 'vitest';
import type { DataCounts } from '../../../src/data/customer-repository.js';
import { createServiceOverview } from '../../../src/training/service-overview.js';
import { auth } from '../../helpers/app.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, seedAndTrainShop, T0 } from '../serving/shop-fixture.js';

interface Report {
  users: number;
  revenue: number;
  segments: { name: string; users: number; revenueShare: number; meanR: number | null }[];
}
type Counts = Omit<DataCounts, 'items'>;
interface Point {
  asOf: string;
  counts: Record<string, number>;
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))("an owed erasure's customers in the segments report, the overview and the lifecycle history", () => {
  // The re-driver waits an hour: nothing completes the owed erasures until the test asks.
  const t = owedErasureApp({ prepare: seedAndTrainShop });
  const get = async <T>(url: string): Promise<T> => {
    const res = await t.app.inject({ url, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    return res.json() as T;
  };
  const report = () => get<Report>('/v1/segments');
  const counted = (c: Counts) => ({ customers: c.customers, purchases: c.purchases, orders: c.orders, feedback: c.feedback, firstPurchase: c.firstPurchase, lastPurchase: c.lastPurchase });
  const counts = async (): Promise<Counts> => counted((await get<{ counts: Counts }>('/v1/overview')).counts);
  const history = async () => (await get<{ points: Point[] }>('/v1/segments/lifecycle-history?months=3')).points;
  const total = (p: Point) => Object.values(p.counts).reduce((a, b) => a + b, 0);

  it('When erasures are owed, Then the report, the counts and the history leave their customers out, as once they completed', async () => {
    const owedIds = ['g-user11', 'k-user11'];
    const before = { report: await report(), counts: await counts(), history: await history() };
    expect(before.report.users).toBe(24);
    // The two latest buyers (day 40 + 11, the same hour): the latest purchase is theirs.
    expect(before.counts.lastPurchase).toBe(new Date(T0 + 51 * DAY + 11 * 3_600_000).toISOString());
    const spend = await Promise.all(owedIds.map(async (id) => (await get<{ monetary: number }>(`/v1/users/${id}/profile`)).monetary));
    const { rows } = await t.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = ANY($1)', [owedIds]);

    // Owed: recorded as asked (by another process, say), not due for an hour; this process learns of it from its read.
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) SELECT unnest($1::text[]), now() + interval '1 hour'", [owedIds]);
    await t.services.erasureFollower.catchUp();
    expect(owedIds.every((id) => t.services.owedErasures.has(id))).toBe(true);

    const owed = { report: await report(), counts: await counts(), history: await history() };
    expect(owed.report.users).toBe(22);
    expect(owed.report.revenue).toBeCloseTo(before.report.revenue - spend[0] - spend[1], 6);
    expect(owed.report.segments.reduce((n, s) => n + s.users, 0)).toBe(22);
    // The counts kept from the first call (30 s), with the owed customers' rows taken off.
    expect(owed.counts).toEqual({
      ...before.counts,
      customers: before.counts.customers - 2,
      purchases: before.counts.purchases - rows[0].n,
      orders: before.counts.orders - 4,
      lastPurchase: new Date(T0 + 50 * DAY + 10 * 3_600_000).toISOString(),
    });
    // Counted while they are owed (every call counts): what they add is read with the count, the same counts.
    const counting = createServiceOverview({ customers: t.services.customers, owed: t.services.owedErasures, store: t.services.store, served: async () => null, countsMaxAgeMs: 0 });
    expect(counted((await counting()).counts)).toEqual(owed.counts);
    expect(total(owed.history.at(-1)!)).toBe(total(before.history.at(-1)!) - 2);
    // Nothing was completed: their purchases are in Postgres until the erasures are.
    const still = await t.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = ANY($1)', [owedIds]);
    expect(still.rows[0].n).toBe(rows[0].n);

    // Completed by the service: the same answers (the counts still the kept ones, taken off as they were).
    await t.services.db.query('UPDATE erasure_requests SET next_at = now()');
    expect((await t.services.erasureRedriver.pass()).redriven).toBe(2);
    expect(t.services.owedErasures.size).toBe(0);
    expect(await report()).toEqual(owed.report);
    expect(await counts()).toEqual(owed.counts);
    expect(await history()).toEqual(owed.history);
  }, 60_000);
});
