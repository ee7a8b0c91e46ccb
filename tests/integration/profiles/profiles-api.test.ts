import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../../src/data/importers/run-import.js';
import { RFM_SEGMENTS } from '../../../src/profiles/segments.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

// A tenth of the bundled Online Retail sample's customers (35; tests/fixtures/SOURCE.txt), imported and trained once
// per describe block: what is asserted is the profile code against plain SQL over whatever was imported, and the
// tenth has every kind of customer picked below (heavy, one order, three orders, orders either side of a window).
const usePostgres = await serviceAvailable(POSTGRES_URL);

/**
 * Recency, frequency and monetary of one customer, and their quintile scores, computed by plain SQL over
 * the raw purchase rows: independent of the profile code. p = (below + equal / 2) / n, score = 1 + floor(5p);
 * recency is scored on negated days. Days are UTC calendar dates; the reference date is the latest purchase.
 */
const RFM_SQL = `
  WITH per_user AS (
    SELECT user_id,
           ((SELECT max(ts) FROM purchase_events) AT TIME ZONE 'UTC')::date - (max(ts) AT TIME ZONE 'UTC')::date AS recency,
           count(DISTINCT order_id) AS frequency,
           sum(quantity * price) AS monetary
    FROM purchase_events GROUP BY user_id
  ), scored AS (
    SELECT a.user_id, a.recency, a.frequency, a.monetary,
      (SELECT (count(*) FILTER (WHERE -b.recency < -a.recency) + count(*) FILTER (WHERE b.recency = a.recency) / 2.0) / count(*) FROM per_user b) AS pr,
      (SELECT (count(*) FILTER (WHERE b.frequency < a.frequency) + count(*) FILTER (WHERE b.frequency = a.frequency) / 2.0) / count(*) FROM per_user b) AS pf,
      (SELECT (count(*) FILTER (WHERE b.monetary < a.monetary) + count(*) FILTER (WHERE b.monetary = a.monetary) / 2.0) / count(*) FROM per_user b) AS pm
    FROM per_user a
  )
  SELECT user_id, recency::int, frequency::int, round(monetary::numeric, 2)::float8 AS monetary,
         1 + floor(5 * pr)::int AS r, 1 + floor(5 * pf)::int AS f, 1 + floor(5 * pm)::int AS m
  FROM scored WHERE user_id = ANY($1::text[])`;

describe('customer profiles and segments on a slice of the sample', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await runImport({ db: t.services.db }, { format: 'online-retail', path: FIRST_START_SAMPLE });
    // The sample's cancellations are stored as returns, which profiles net (tests/integration/training/returns.test.ts);
    // the plain SQL here defines R, F and M over purchases as stored, so the returns go before training.
    await t.services.db.query('DELETE FROM return_events');
    // The written weights: what is tested here reads whatever model is served; tuning has tests of its own.
    await t.services.trainer.train({ tune: false });
  }, 240_000);
  afterAll(() => t?.dispose());

  it('When profiles of named customers are read, Then R, F, M and their scores equal a plain SQL aggregate', async () => {
    // Customers picked for variety (a heavy wholesaler, a few mid-range ones, a one-order customer) must be there.
    const { rows: named } = await t.services.db.query<{ user_id: string }>(
      `(SELECT user_id FROM purchase_events GROUP BY user_id ORDER BY count(DISTINCT order_id) DESC, user_id LIMIT 2)
       UNION ALL (SELECT user_id FROM purchase_events GROUP BY user_id HAVING count(DISTINCT order_id) = 1 ORDER BY user_id LIMIT 2)
       UNION ALL (SELECT user_id FROM purchase_events GROUP BY user_id HAVING count(DISTINCT order_id) = 3 ORDER BY user_id LIMIT 2)`,
    );
    expect(named).toHaveLength(6);
    // And every other customer of the slice: on 35 customers the six alone need not meet a tie in R, F or M.
    const { rows: everyone } = await t.services.db.query<{ user_id: string }>('SELECT DISTINCT user_id FROM purchase_events ORDER BY user_id');
    const ids = everyone.map((r) => r.user_id);
    expect(ids).toEqual(expect.arrayContaining(named.map((r) => r.user_id)));
    expect(ids.length).toBeGreaterThan(30);
    const { rows: expected } = await t.services.db.query<{ user_id: string; recency: number; frequency: number; monetary: number; r: number; f: number; m: number }>(RFM_SQL, [ids]);
    for (const want of expected) {
      const res = await t.app.inject({ url: `/v1/users/${want.user_id}/profile`, headers: auth('read') });
      expect(res.statusCode).toBe(200);
      const got = res.json();
      expect({ user: got.userId, recency: got.recencyDays, frequency: got.frequency, r: got.rScore, f: got.fScore, m: got.mScore }).toEqual({
        user: want.user_id, recency: want.recency, frequency: want.frequency, r: want.r, f: want.f, m: want.m,
      });
      // Spend is Postgres's sum of quantity x price, rounded to the cent as Postgres rounds it.
      expect(got.monetary).toBe(want.monetary);
      expect(got.source).toBe('model');
    }
  });

  it('When segments are listed, Then every customer is in exactly one segment and the shares add up', async () => {
    const res = await t.app.inject({ url: '/v1/segments', headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const { rows } = await t.services.db.query<{ n: number; revenue: number }>(
      'SELECT count(DISTINCT user_id)::int AS n, sum(quantity * price)::float8 AS revenue FROM purchase_events',
    );
    expect(body.users).toBe(rows[0].n);
    expect(body.segments.map((s: { name: string }) => s.name)).toEqual([...RFM_SEGMENTS]);
    expect(body.segments.reduce((a: number, s: { users: number }) => a + s.users, 0)).toBe(rows[0].n);
    expect(body.segments.reduce((a: number, s: { revenueShare: number }) => a + s.revenueShare, 0)).toBeCloseTo(1, 6);
    expect(body.revenue).toBeCloseTo(rows[0].revenue, 0);
    expect((await t.app.inject({ url: '/v1/segments', headers: auth('read') })).statusCode).toBe(403);
  });

  it('When a segment is listed, Then its members are paged by spend and all carry that segment', async () => {
    const all = (await t.app.inject({ url: '/v1/segments', headers: auth('admin') })).json();
    const biggest = [...all.segments].sort((a: { users: number }, b: { users: number }) => b.users - a.users)[0];
    const page = (await t.app.inject({ url: `/v1/segments/${biggest.name}/users?limit=5&offset=0`, headers: auth('admin') })).json();
    expect(page.total).toBe(biggest.users);
    expect(page.users).toHaveLength(5);
    expect(page.users.every((u: { segment: string }) => u.segment === biggest.name)).toBe(true);
    const spend = page.users.map((u: { monetary: number }) => u.monetary);
    expect(spend).toEqual([...spend].sort((a, b) => b - a));
    const unknown = await t.app.inject({ url: '/v1/segments/vips/users', headers: auth('admin') });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.message).toMatch(/known: champions/);
    const tiers = (await t.app.inject({ url: '/v1/segments/high/users?dimension=valueTier&limit=1', headers: auth('admin') })).json();
    expect(tiers.users[0].valueTier).toBe('high');
  });

  it('When a customer buys after training, Then their profile is refreshed from the new purchase', async () => {
    const { rows } = await t.services.db.query<{ user_id: string; f: number; latest: Date }>(
      `SELECT user_id, count(DISTINCT order_id)::int AS f, (SELECT max(ts) FROM purchase_events) AS latest
       FROM purchase_events GROUP BY user_id HAVING count(DISTINCT order_id) = 1 ORDER BY user_id LIMIT 1`,
    );
    const { user_id: user, latest } = rows[0];
    const before = (await t.app.inject({ url: `/v1/users/${user}/profile`, headers: auth('read') })).json();
    const ts = new Date(latest.getTime() + 86_400_000).toISOString();
    const posted = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: { events: [{ userId: user, itemId: '85123A', quantity: 2, price: 2.55, orderId: 'after-training', ts }] },
    });
    expect(posted.json().inserted).toBe(1);
    const after = (await t.app.inject({ url: `/v1/users/${user}/profile`, headers: auth('read') })).json();
    expect(after.source).toBe('refreshed');
    expect(after.frequency).toBe(before.frequency + 1);
    expect(after.recencyDays).toBe(0);
    expect(after.monetary).toBeCloseTo(before.monetary + 5.1, 1);
    expect(after.rScore).toBe(5);
  });

  it('When the user is unknown or never bought, Then 404 in the error shape', async () => {
    expect((await t.app.inject({ url: '/v1/users/nobody/profile', headers: auth('read') })).statusCode).toBe(404);
    await t.app.inject({ method: 'PUT', url: '/v1/users/browser', headers: auth('write'), payload: { attributes: {} } });
    const res = await t.app.inject({ url: '/v1/users/browser/profile', headers: auth('read') });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.message).toMatch(/no purchases/);
  });
});

describe('a shop where most customers ordered once', () => {
  const ONCE_MORE = 20;
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await runImport({ db: t.services.db }, { format: 'online-retail', path: FIRST_START_SAMPLE });
    // The sample's cancellations are stored as returns, which profiles net (tests/integration/training/returns.test.ts);
    // the plain SQL here defines R, F and M over purchases as stored, so the returns go before training.
    await t.services.db.query('DELETE FROM return_events');
    // 20 more customers with one order each: about 60% of the buyers ordered once, as 200 more made of the whole sample.
    const once = Array.from({ length: ONCE_MORE }, (_, k) => ({ userId: `once-${k}`, itemId: '85123A', quantity: 1, price: 2.55, orderId: `once-o${k}`, ts: new Date(Date.UTC(2011, 5, 1, 0, k)) }));
    await t.services.events.insertPurchases(once);
    await t.services.trainer.train({ tune: false });
  }, 240_000);
  afterAll(() => t?.dispose());

  it('When a first-time customer buys after training, Then their refreshed profile scores one order as F 1 and is new, as the next training would', async () => {
    // The shop this block is about: 40% or more of the buyers ordered once, where a mid-rank alone would score them F 2.
    const { rows: share } = await t.services.db.query<{ once: number; n: number }>(
      `SELECT count(*) FILTER (WHERE orders = 1)::int AS once, count(*)::int AS n
       FROM (SELECT user_id, count(DISTINCT order_id) AS orders FROM purchase_events GROUP BY user_id) per_user`,
    );
    expect(share[0].once / share[0].n).toBeGreaterThanOrEqual(0.4);
    const trained = (await t.app.inject({ url: '/v1/users/once-0/profile', headers: auth('read') })).json();
    expect(trained).toMatchObject({ source: expect.not.stringMatching(/refreshed/), frequency: 1, fScore: 1 });
    const { rows } = await t.services.db.query<{ latest: Date }>('SELECT max(ts) AS latest FROM purchase_events');
    const ts = new Date(rows[0].latest.getTime() + 86_400_000).toISOString();
    const posted = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [{ userId: 'newcomer', itemId: '85123A', quantity: 1, price: 2.55, orderId: 'newcomer-o1', ts }] },
    });
    expect(posted.json().inserted).toBe(1);
    const fresh = (await t.app.inject({ url: '/v1/users/newcomer/profile', headers: auth('read') })).json();
    expect(fresh).toMatchObject({ source: 'refreshed', frequency: 1, fScore: 1, rScore: 5, segment: 'new' });
  });

  it('When a version was trained on a window (from) and a customer buys after it, Then the refresh counts their orders from that window on, as the next training over it would', async () => {
    const from = new Date(Date.UTC(2011, 8, 1));
    await t.services.trainer.train({ from, tune: false });
    // A customer with orders before the window and in it.
    const { rows } = await t.services.db.query<{ user_id: string; latest: Date }>(
      `SELECT user_id, (SELECT max(ts) FROM purchase_events) AS latest FROM purchase_events GROUP BY user_id
       HAVING count(DISTINCT order_id) FILTER (WHERE ts < $1) >= 2 AND count(DISTINCT order_id) FILTER (WHERE ts >= $1) >= 1 ORDER BY user_id LIMIT 1`,
      [from],
    );
    const { user_id: user, latest } = rows[0];
    const ts = new Date(latest.getTime() + 86_400_000).toISOString();
    const posted = await t.app.inject({
      method: 'POST', url: '/v1/events', headers: auth('write'),
      payload: { events: [{ userId: user, itemId: '85123A', quantity: 1, price: 2.55, orderId: `${user}-after-window`, ts }] },
    });
    expect(posted.json().inserted).toBe(1);
    const { rows: counted } = await t.services.db.query<{ f: number }>('SELECT count(DISTINCT order_id)::int AS f FROM purchase_events WHERE user_id = $1 AND ts >= $2', [user, from]);
    const fresh = (await t.app.inject({ url: `/v1/users/${user}/profile`, headers: auth('read') })).json();
    expect(fresh.source).toBe('refreshed');
    expect(fresh.frequency).toBe(counted[0].f);
  });
});
