/**
 * What an operator reads while a process holds every customer (serving.holdCustomers: a start with Postgres down,
 * until the erasures owed were read once) and while erasures are owed: the fallbacks counter says why customers get
 * the cold start (reason `customers-held`, not `unknown-user`), the segments report, its members, the lifecycle history
 * and a profile answer "ask again" (503) rather than "no profiles yet" (404: the shop was trained) or a count with
 * customers whose erasure may be owed, and the segment gauges count what the report
 * counts, owed customers left out. Real Postgres (a schema of the shared test database), the in-process model store.
 */
import { describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndTrainShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('customers held at start and owed erasures, as operations read them', () => {
  /** The app's log lines at warn and above. */
  const warnings: string[] = [];
  // The re-driver waits an hour: nothing completes the owed erasures during the test.
  const t = owedErasureApp({
    prepare: seedAndTrainShop,
    appOptions: { logger: { level: 'warn', stream: { write: (line: string) => void warnings.push(line) } } },
  });
  const scrape = async () => (await t.app.inject({ url: '/metrics' })).body;
  /** The value of one series (0 when absent). */
  const series = (text: string, name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? 0);
  const fallbacks = (text: string, reason: string) => series(text, `recsvc_serving_fallbacks_total{kind="user",reason="${reason}"}`);
  /** recsvc_profiles_segment_users by segment, its zero series left out. */
  const segmentGauges = (text: string) =>
    Object.fromEntries(
      [...text.matchAll(/^recsvc_profiles_segment_users\{segment="([^"]+)"\} (\d+)$/gm)].filter((m) => m[2] !== '0').map((m) => [m[1], Number(m[2])]),
    );

  it('When every customer is held, Then their cold starts are counted as held, and the segments answer 503 until the hold ends', async () => {
    const before = await scrape();
    // Every reason a fallback can have is there from the start, at zero until it happens.
    expect(before).toContain('recsvc_serving_fallbacks_total{kind="user",reason="customers-held"} 0');
    const ok = await t.app.inject({ url: '/v1/segments', headers: auth('admin') });
    expect(ok.statusCode).toBe(200);

    let release!: () => void;
    t.services.serving.holdCustomers(new Promise<void>((resolve) => (release = resolve)));
    try {
      const list = await t.app.inject({ url: '/v1/users/g-user3/recommendations?k=3', headers: auth('read') });
      expect(list.statusCode).toBe(200);
      expect(list.json()).toMatchObject({ fallback: true });
      const held = await scrape();
      expect(fallbacks(held, 'customers-held') - fallbacks(before, 'customers-held')).toBe(1);
      expect(fallbacks(held, 'unknown-user')).toBe(fallbacks(before, 'unknown-user'));
      // A scrape serves what it can and logs nothing for the held state, an expected one that the fallbacks' reason and
      // readiness show: it logged "the segments gauges were not refreshed" at each scrape.
      const logged = warnings.length;
      for (let i = 0; i < 3; i++) expect((await t.app.inject({ url: '/metrics' })).statusCode).toBe(200);
      expect(warnings.slice(logged).filter((l) => l.includes('gauges were not refreshed'))).toEqual([]);

      // Not "No customer profiles yet": the shop was trained; which customers are owed cannot be told yet.
      // The overview too: its counts would hold the customers whose erasure may be owed (reviewer r2).
      for (const url of ['/v1/segments', '/v1/segments/champions/users', '/v1/segments/lifecycle-history?months=3', '/v1/users/g-user3/profile', '/v1/overview']) {
        const res = await t.app.inject({ url, headers: auth('admin') });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(503);
        expect(res.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE', message: expect.stringContaining('erasures') } });
        expect(res.headers['retry-after']).toBeDefined();
      }
      // Nor a customer's record, purchases or the search: any of them may be owed an erasure, not known yet (reviewer r2).
      for (const url of ['/v1/users/g-user3', '/v1/users/g-user3/events', '/v1/users?q=g-user']) {
        const res = await t.app.inject({ url, headers: auth('admin') });
        expect(res.statusCode, `${url}: ${res.body}`).toBe(503);
        expect(res.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
      }
      // A campaign export or an audience filtered by a segment: the segment's members cannot be told from the owed
      // either, so "ask again", not 422 "the active model has no customer profiles" (reviewer r2's low); nothing queued.
      const exportsBefore = (await t.app.inject({ url: '/v1/exports', headers: auth('admin') })).json().jobs.length;
      const exported = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, segment: 'champions' } });
      expect(exported.statusCode, exported.body).toBe(503);
      expect(exported.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
      expect((await t.app.inject({ url: '/v1/exports', headers: auth('admin') })).json().jobs.length).toBe(exportsBefore);
      const audience = await t.app.inject({ url: '/v1/items/g1/audience?k=5&segment=champions', headers: auth('admin') });
      expect(audience.statusCode, audience.body).toBe(503);
      // Item lists and an anonymous visitor's answer keep serving.
      expect((await t.app.inject({ url: '/v1/popular?k=3', headers: auth('read') })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/v1/items/g1/similar?k=3', headers: auth('read') })).statusCode).toBe(200);
      const visitor = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { items: ['g1'], k: 3 } });
      expect(visitor.statusCode, visitor.body).toBe(200);
      expect((visitor.json() as { items: unknown[] }).items.length).toBeGreaterThan(0);
    } finally {
      release();
    }
    for (const url of ['/v1/users/g-user3', '/v1/users/g-user3/events']) {
      expect((await t.app.inject({ url, headers: auth('admin') })).statusCode, url).toBe(200);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await t.app.inject({ url: '/v1/segments', headers: auth('admin') })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/v1/overview', headers: auth('admin') })).statusCode).toBe(200);
    // A customer nobody knows is still counted as one.
    await t.app.inject({ url: '/v1/users/nobody-knows-me/recommendations?k=3', headers: auth('read') });
    const after = await scrape();
    expect(fallbacks(after, 'unknown-user') - fallbacks(before, 'unknown-user')).toBe(1);
  });

  it('When erasures are owed, Then the segment gauges count what the segments report counts', async () => {
    const report = async () => {
      const res = await t.app.inject({ url: '/v1/segments', headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { users: number; segments: { name: string; users: number }[] };
      return { users: body.users, bySegment: Object.fromEntries(body.segments.filter((s) => s.users > 0).map((s) => [s.name, s.users])) };
    };
    const all = await report();
    expect(segmentGauges(await scrape())).toEqual(all.bySegment);

    const owedIds = ['g-user11', 'k-user11'];
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) SELECT unnest($1::text[]), now() + interval '1 hour'", [owedIds]);
    await t.services.erasureFollower.catchUp();
    expect(owedIds.every((id) => t.services.owedErasures.has(id))).toBe(true);
    // A scrape first, as Prometheus would: the gauges follow the list, not only a read of the report.
    const gauged = segmentGauges(await scrape());
    const owed = await report();
    expect(owed.users).toBe(all.users - 2);
    expect(gauged).toEqual(owed.bySegment);
    expect(Object.values(gauged).reduce((a, b) => a + b, 0)).toBe(owed.users);
  });
});
