import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvaluationReport } from '../../../src/evaluation/evaluation-report.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

/**
 * The admin endpoints the dashboard reads beside the older ones: overview counts, customer search,
 * purchase history with titles, a metric across evaluations, daily online rates, lifecycle over time.
 * Real Postgres in a fresh schema; every expected number is counted by hand from the data sent.
 */
const purchase = (userId: string, itemId: string, ts: string, quantity: number, price: number | null, orderId: string | null) => ({
  userId,
  itemId,
  ts,
  quantity,
  price,
  orderId,
});

const PURCHASES = [
  // ann: 2 orders on 2011-01-10 and 2011-03-20; spend 2*5 + 1*20 + 3*5 = 45.
  purchase('ann', 'mug', '2011-01-10T10:00:00Z', 2, 5, 'o1'),
  purchase('ann', 'pot', '2011-01-10T10:00:00Z', 1, 20, 'o1'),
  purchase('ann', 'mug', '2011-03-20T10:00:00Z', 3, 5, 'o2'),
  // Anna: one order on 2011-03-01; spend 100.
  purchase('Anna', 'lamp', '2011-03-01T09:00:00Z', 1, 100, 'o3'),
  // bob: a purchase without an order id or a price on 2011-03-31.
  purchase('bob', 'mug', '2011-03-31T12:00:00Z', 1, null, null),
  // a%b: an id with a LIKE wildcard, one order; spend 1.
  purchase('a%b', 'pot', '2011-02-15T12:00:00Z', 1, 1, 'o4'),
];

function report(strategies: Record<string, number>, k = 10, mode: 'novel' | 'all' = 'novel', cutoff = '2011-03-01T00:00:00.000Z'): EvaluationReport {
  return {
    split: { kind: 'temporal', cutoff, testEnd: null, trainUsers: 10, trainItems: 5, trainEvents: 20, testUsers: { [mode]: 4 } },
    modes: [mode],
    ks: [k],
    strategies: Object.keys(strategies),
    baseline: 'popularity',
    rows: Object.entries(strategies).map(([strategy, ndcg]) => ({ strategy, mode, k, users: 4, metrics: { ndcg, precision: ndcg / 2 }, lift: {} })),
    breakdowns: [],
  } as unknown as EvaluationReport;
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('dashboard data endpoints on Postgres', () => {
  let t: TestApp;
  const get = (url: string) => t.app.inject({ url, headers: auth('admin') });

  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await t.app.inject({ method: 'PUT', url: '/v1/items/mug', headers: auth('write'), payload: { title: 'White mug' } });
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: PURCHASES } });
    expect(res.json().inserted).toBe(PURCHASES.length);
  });
  afterAll(() => t?.dispose());

  it('When the overview is asked for, Then it counts items, customers, purchases, orders and feedback, and no model is served yet', async () => {
    const res = await get('/v1/overview');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      // Items mug, pot, lamp; customers ann, Anna, bob, a%b; orders o1..o4 (bob's purchase is in none).
      counts: { items: 3, customers: 4, purchases: 6, orders: 4, feedback: 0, firstPurchase: '2011-01-10T10:00:00.000Z', lastPurchase: '2011-03-31T12:00:00.000Z', countedAt: expect.any(String), ageSeconds: 0 },
      model: null,
    });
    expect((await t.app.inject({ url: '/v1/overview', headers: auth('write') })).statusCode).toBe(403);
  });

  it('When customers are searched by id prefix, Then the match ignores case, treats % literally and carries purchase totals', async () => {
    const ids = async (url: string) => ((await get(url)).json().customers as { id: string }[]).map((c) => c.id);
    expect(await ids('/v1/users?q=an')).toEqual(['Anna', 'ann']);
    expect(await ids('/v1/users?q=a%25')).toEqual(['a%b']);
    expect(await ids('/v1/users?q=zz')).toEqual([]);
    const { customers } = (await get('/v1/users?sort=spend&limit=3')).json();
    expect(customers).toEqual([
      { id: 'Anna', purchases: 1, orders: 1, spend: 100, lastPurchase: '2011-03-01T09:00:00.000Z' },
      { id: 'ann', purchases: 3, orders: 2, spend: 45, lastPurchase: '2011-03-20T10:00:00.000Z' },
      { id: 'a%b', purchases: 1, orders: 1, spend: 1, lastPurchase: '2011-02-15T12:00:00.000Z' },
    ]);
    expect(await ids('/v1/users?sort=recent&limit=2')).toEqual(['bob', 'ann']);
    // Pages in each order: the next page starts where the last ended, and the pages together are every customer once.
    expect(await ids('/v1/users?sort=recent&limit=2&offset=2')).toEqual(['Anna', 'a%b']);
    expect(await ids('/v1/users?sort=spend&limit=3&offset=3')).toEqual(['bob']);
    expect([...(await ids('/v1/users?limit=3')), ...(await ids('/v1/users?limit=3&offset=3'))]).toEqual(await ids('/v1/users?limit=100'));
    expect((await get('/v1/users?limit=2&offset=2')).json()).toMatchObject({ limit: 2, offset: 2 });
    expect((await get('/v1/users?offset=-1')).statusCode).toBe(400);
    expect((await get('/v1/users?limit=0')).statusCode).toBe(400);
    expect((await get('/v1/users?sort=name')).statusCode).toBe(400);
  });

  it('When some customers have bought nothing, Then sorting by spend or recency lists them after every buyer', async () => {
    expect((await t.app.inject({ method: 'PUT', url: '/v1/users/aaron', headers: auth('write'), payload: { attributes: { country: 'FR' } } })).statusCode).toBe(200);
    try {
      const ids = async (url: string) => ((await get(url)).json().customers as { id: string }[]).map((c) => c.id);
      expect(await ids('/v1/users?sort=spend&limit=100')).toEqual(['Anna', 'ann', 'a%b', 'bob', 'aaron']);
      expect((await ids('/v1/users?sort=recent&limit=100')).at(-1)).toBe('aaron');
    } finally {
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/aaron', headers: auth('admin') })).statusCode).toBe(204);
    }
  });

  it("When a purchase carries no unit price, Then the customer's spend counts the catalogue's price, in either order of the list", async () => {
    // bob's one mug has no price; the catalogue now prices mugs at 7 (ann's mugs carry their own 5).
    expect((await t.app.inject({ method: 'PUT', url: '/v1/items/mug', headers: auth('write'), payload: { title: 'White mug', price: 7 } })).statusCode).toBe(200);
    const spend = async (url: string) => new Map(((await get(url)).json().customers as { id: string; spend: number }[]).map((c) => [c.id, c.spend]));
    for (const url of ['/v1/users?limit=100', '/v1/users?sort=spend&limit=100']) {
      expect(await spend(url)).toEqual(new Map([['Anna', 100], ['ann', 45], ['bob', 7], ['a%b', 1]]));
    }
    expect([...(await spend('/v1/users?sort=spend&limit=100')).keys()]).toEqual(['Anna', 'ann', 'bob', 'a%b']);
  });

  it("When a customer's purchases are read, Then each carries the item's title when the catalogue has one", async () => {
    const { events } = (await t.app.inject({ url: '/v1/users/ann/events', headers: auth('read') })).json();
    expect(events.map((e: { itemId: string; title?: string }) => [e.itemId, e.title ?? null]).sort()).toEqual([
      ['mug', 'White mug'],
      ['mug', 'White mug'],
      ['pot', null],
    ]);
  });

  it('When the history of a metric is asked for, Then it lists the newest reports having that row, oldest first', async () => {
    await t.services.reports.insert({ id: 'e1', recipes: ['default'], request: {}, headline: { mode: 'novel', k: 10, ndcg: {} }, report: report({ default: 0.1, popularity: 0.05 }), durationMs: 1 });
    await t.services.reports.insert({ id: 'e2', recipes: ['other'], request: {}, headline: { mode: 'novel', k: 10, ndcg: {} }, report: report({ other: 0.3 }), durationMs: 1 });
    await t.services.reports.insert({ id: 'e3', recipes: ['default'], request: {}, headline: { mode: 'novel', k: 20, ndcg: {} }, report: report({ default: 0.9 }, 20), durationMs: 1 });
    await t.services.reports.insert({ id: 'e4', recipes: ['default'], request: {}, headline: { mode: 'novel', k: 10, ndcg: {} }, report: report({ default: 0.2 }, 10, 'novel', '2011-03-15T00:00:00.000Z'), durationMs: 1 });
    const res = await get('/v1/evaluations/history?strategy=default');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ strategy: 'default', metric: 'ndcg', mode: 'novel', k: 10 });
    expect(body.points.map((p: { id: string; value: number; cutoff: string }) => [p.id, p.value, p.cutoff])).toEqual([
      ['e1', 0.1, '2011-03-01T00:00:00.000Z'],
      ['e4', 0.2, '2011-03-15T00:00:00.000Z'],
    ]);
    expect((await get('/v1/evaluations/history?strategy=default&limit=1')).json().points.map((p: { id: string }) => p.id)).toEqual(['e4']);
    expect((await get('/v1/evaluations/history?strategy=default&metric=precision&k=20')).json().points.map((p: { value: number }) => p.value)).toEqual([0.45]);
    expect((await get('/v1/evaluations/history?strategy=default&metric=recall')).json().points.map((p: { value: number | null }) => p.value)).toEqual([null, null]);
    expect((await get('/v1/evaluations/history?strategy=default&metric=drop%20table')).statusCode).toBe(400);
    expect((await get('/v1/evaluations/history')).statusCode).toBe(400);
    // The single evaluation route still answers for real ids.
    expect((await get('/v1/evaluations/e1')).json().report.rows[0].strategy).toBe('default');
  });

  it('When daily online metrics are asked for, Then each day has a row per strategy and per experiment arm, with rates', async () => {
    const day = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
    const fb = (type: string, strategy: string, ts: string, arm?: string) => ({
      userId: 'ann', itemId: 'mug', type, strategy, ts, recommendationId: `r-${Math.random()}`, ...(arm ? { experimentId: 'exp1', arm } : {}),
    });
    const events = [
      fb('impression', 'hybrid', day(2)), fb('impression', 'hybrid', day(2)), fb('click', 'hybrid', day(2)),
      fb('impression', 'hybrid', day(1), 'a'), fb('impression', 'hybrid', day(1)), fb('click', 'hybrid', day(1), 'a'),
      fb('impression', 'item-knn', day(1), 'b'), fb('purchase', 'item-knn', day(1), 'b'),
      fb('impression', 'hybrid', day(40)),
    ];
    // Sent with a read key: purchase feedback from a write key would also be recorded as a purchase.
    expect((await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('read'), payload: { events } })).statusCode).toBe(200);
    const { rows } = (await get('/v1/metrics/online/daily?days=30')).json();
    const d1 = day(1).slice(0, 10);
    const d2 = day(2).slice(0, 10);
    const pick = (r: Record<string, unknown>) => [r.day, r.strategy, r.experimentId, r.arm, r.impressions, r.clicks, r.purchases, r.ctr, r.conversion];
    expect(rows.map(pick)).toEqual([
      [d2, 'hybrid', null, null, 2, 1, 0, 0.5, 0],
      [d1, 'hybrid', null, null, 2, 1, 0, 0.5, 0],
      [d1, 'item-knn', null, null, 1, 0, 1, 0, 1],
      [d1, 'hybrid', 'exp1', 'a', 1, 1, 0, 1, 0],
      [d1, 'item-knn', 'exp1', 'b', 1, 0, 1, 0, 1],
    ]);
    expect((await get('/v1/metrics/online/daily?days=0')).statusCode).toBe(400);
  });

  it('When lifecycle history is asked for, Then each month end stages every customer who had bought by then', async () => {
    const res = await get('/v1/segments/lifecycle-history?months=3');
    expect(res.statusCode).toBe(200);
    // Month ends 2011-01-31, 2011-02-28 and the latest purchase's day 2011-03-31.
    // Jan 31: ann first bought 21 days before (< 30): new.
    // Feb 28: ann (tenure 49, one purchase day, 49 days ago <= 90): active; a%b (13 days): new.
    // Mar 31: ann (2 days, interval 69, last 11 days ago): active; a%b (44 days, one day): active;
    //         Anna (30 days, not < 30): active; bob (0 days): new.
    expect(res.json().points).toEqual([
      { asOf: '2011-01-31', counts: { new: 1, active: 0, silent: 0, churned: 0 } },
      { asOf: '2011-02-28', counts: { new: 1, active: 1, silent: 0, churned: 0 } },
      { asOf: '2011-03-31', counts: { new: 1, active: 3, silent: 0, churned: 0 } },
    ]);
    expect((await get('/v1/segments/lifecycle-history?months=0')).statusCode).toBe(400);
  });
});
