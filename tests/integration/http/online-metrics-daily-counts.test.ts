/**
 * Online metrics read closed days from their daily counts (src/data/feedback-rollup.ts) and the rest from
 * the feedback events. Whatever was counted when, every report must be what the events stored now give:
 * expected values are counted here from the events the test sent, never read back from the service.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS, ONE_DB_BACKEND } from '../../helpers/services.js';

const DAY = 86_400_000;
const TYPES = ['impression', 'click', 'add_to_cart', 'purchase'] as const;
type Sent = { userId: string; itemId: string; type: (typeof TYPES)[number]; strategy?: string; experimentId?: string; arm?: string; campaignId?: string; ts: string };

/**
 * Feedback `k` days and 3 hours before now for k in `days` (3 hours keeps every event clear of a window's
 * edge, now - N days, while the test runs), mixing strategies (none and '' among them: an empty one is stored as none), arms and campaigns.
 */
function spread(now: number, days: number[], users: string[], tag: string): Sent[] {
  const strategies = [undefined, '', 'hybrid', 'item-knn', 'als'];
  const out: Sent[] = [];
  let n = 0;
  for (const k of days) {
    for (let i = 0; i < 23; i++, n++) {
      const strategy = strategies[(i * 7 + k) % strategies.length];
      const inArm = (i + k) % 3 === 0;
      out.push({
        userId: users[(i + k) % users.length],
        itemId: `${tag}-${k}-${i}`,
        type: TYPES[(i * 3 + k) % 7 < 4 ? 0 : (i + k) % 4],
        ...(strategy === undefined ? {} : { strategy }),
        ...(inArm ? { experimentId: 'exp-1', arm: i % 2 === 0 ? 'control' : 'test' } : {}),
        ...((i + 2 * k) % 5 === 0 ? { campaignId: `camp-${k % 2}` } : {}),
        // Inside day k back, whatever the time of day: 3 h before `now` crossed into the day before when
        // the suite ran between 00:00 and 03:00 UTC (a closed day more than the tests expect).
        ts: new Date(Math.floor(now / DAY) * DAY - k * DAY + Math.floor((now % DAY) * (0.5 - i / 100))).toISOString(),
      });
    }
  }
  return out;
}

type Counts = { impressions: number; clicks: number; addToCart: number; purchases: number };
const field = { impression: 'impressions', click: 'clicks', add_to_cart: 'addToCart', purchase: 'purchases' } as const;
const rates = (c: Counts) => ({ ...c, ctr: c.impressions > 0 ? c.clicks / c.impressions : null, conversion: c.impressions > 0 ? c.purchases / c.impressions : null });

/** Counts of `events` grouped by `keyOf` (undefined: left out). */
function countBy(events: Sent[], keyOf: (e: Sent) => string | undefined): Map<string, Counts> {
  const out = new Map<string, Counts>();
  for (const e of events) {
    const key = keyOf(e);
    if (key === undefined) continue;
    const c = out.get(key) ?? { impressions: 0, clicks: 0, addToCart: 0, purchases: 0 };
    c[field[e.type]]++;
    out.set(key, c);
  }
  return out;
}

/** What GET /v1/metrics/online?days=N gives for these events (strategies and campaigns, busiest first). */
function expectedReport(events: Sent[], since: number) {
  const inWindow = events.filter((e) => Date.parse(e.ts) >= since);
  const strategies = [...countBy(inWindow, (e) => JSON.stringify(e.strategy || null))].map(([k, c]) => ({ strategy: JSON.parse(k) as string | null, ...rates(c) }));
  const campaigns = [...countBy(inWindow, (e) => e.campaignId)].map(([campaignId, c]) => ({ campaignId, ...rates(c) }));
  return { strategies: sortedBy(strategies, (s) => JSON.stringify(s.strategy)), campaigns: sortedBy(campaigns, (c) => c.campaignId) };
}

/** What /daily gives: per day one row per strategy and one per arm (order aside). */
function expectedDaily(events: Sent[], since: number) {
  const inWindow = events.filter((e) => Date.parse(e.ts) >= since);
  const day = (e: Sent) => e.ts.slice(0, 10);
  const byStrategy = [...countBy(inWindow, (e) => JSON.stringify([day(e), e.strategy || null]))].map(([k, c]) => {
    const [d, strategy] = JSON.parse(k) as [string, string | null];
    return { day: d, strategy, experimentId: null, arm: null, ...rates(c) };
  });
  // One row per day and arm, whatever strategies its lists carried: the strategy when there was one, else null.
  const byArm = [...countBy(inWindow, (e) => (e.experimentId ? JSON.stringify([day(e), e.experimentId, e.arm]) : undefined))].map(([k, c]) => {
    const [d, experimentId, arm] = JSON.parse(k) as [string, string, string];
    const strategies = new Set(inWindow.filter((e) => day(e) === d && e.experimentId === experimentId && e.arm === arm).map((e) => e.strategy || null));
    return { day: d, strategy: strategies.size === 1 ? [...strategies][0] : null, experimentId, arm, ...rates(c) };
  });
  return sortedBy([...byStrategy, ...byArm], rowKey);
}

const rowKey = (r: { day: string; strategy: string | null; experimentId: string | null; arm: string | null }) => JSON.stringify([r.day, r.strategy, r.experimentId, r.arm]);
const sortedBy = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`online metrics from daily counts on ${backend.name}`, () => {
    let t: TestApp;
    const now = Date.now();
    const users = ['dc-u1', 'dc-u2', 'dc-u3'];
    // Today and yesterday (open), and closed days up to 20 days back.
    let stored = spread(now, [0, 1, 2, 3, 5, 8, 9, 13, 20], users, 'first');

    const post = async (events: Sent[]) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(res.statusCode).toBe(200);
      expect(res.json().inserted).toBe(events.length);
    };
    const report = async (days: number) => {
      const res = await t.app.inject({ url: `/v1/metrics/online?days=${days}`, headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      return { since: Date.parse(body.since), strategies: sortedBy(body.strategies, (s: { strategy: string | null }) => JSON.stringify(s.strategy)), campaigns: sortedBy(body.campaigns, (c: { campaignId: string }) => c.campaignId) };
    };
    const daily = async (days: number) => {
      const res = await t.app.inject({ url: `/v1/metrics/online/daily?days=${days}`, headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      return { since: Date.parse(res.json().since), rows: sortedBy(res.json().rows, rowKey) };
    };
    const countedDays = async () =>
      (await t.services.db.query<{ day: string }>("SELECT DISTINCT to_char(day, 'YYYY-MM-DD') AS day FROM feedback_daily_counts ORDER BY 1")).rows.map((r) => r.day);

    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      await post(stored);
    });
    afterAll(() => t?.dispose());

    it('When closed days are counted, Then every window and the daily rows are what the events give, asked once or again', async () => {
      for (const days of [1, 7, 14, 30]) {
        for (let ask = 0; ask < 2; ask++) {
          const { since, ...body } = await report(days);
          expect(body).toEqual(expectedReport(stored, since));
          const d = await daily(days);
          expect(d.rows).toEqual(expectedDaily(stored, d.since));
        }
      }
      // The closed days with feedback were counted (today's and yesterday's are read from the events).
      const closed = [...new Set(stored.map((e) => e.ts.slice(0, 10)))].filter((day) => Date.parse(day) < Math.floor(now / DAY) * DAY - DAY);
      expect(await countedDays()).toEqual(closed.sort());
    });

    it('When feedback of a counted day arrives late, Then the next report counts it', async () => {
      await report(30);
      const late = spread(now, [9, 13], users, 'late');
      await post(late);
      stored = [...stored, ...late];
      const { since, ...body } = await report(30);
      expect(body).toEqual(expectedReport(stored, since));
      const d = await daily(30);
      expect(d.rows).toEqual(expectedDaily(stored, d.since));
    });

    it('When a customer is erased, Then their feedback leaves the counts of the days already counted', async () => {
      await report(30);
      const erase = await t.app.inject({ method: 'DELETE', url: `/v1/users/${users[0]}`, headers: auth('admin') });
      expect(erase.statusCode).toBeLessThan(300);
      stored = stored.filter((e) => e.userId !== users[0]);
      const { since, ...body } = await report(30);
      expect(body).toEqual(expectedReport(stored, since));
      const d = await daily(30);
      expect(d.rows).toEqual(expectedDaily(stored, d.since));
    });
  });
}

describe.skipIf(!(await DB_BACKENDS[0].available()))('closed days counted in the background', () => {
  let t: TestApp | undefined;
  afterAll(() => t?.dispose());

  it('When an API process runs with ONLINE_METRICS_COUNT_MS, Then the closed days of the last year are counted without a report asking, and a report over the year is what the events give', async () => {
    t = await createTestApp({ createDb: DB_BACKENDS[0].create, env: { ONLINE_METRICS_COUNT_MS: '200' } });
    const now = Date.now();
    // Open days (today, yesterday), closed days across the year, and one day beyond the longest window.
    const events = spread(now, [0, 1, 2, 40, 200, 363, 400], ['bg-u1', 'bg-u2'], 'bg');
    const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
    expect(res.statusCode).toBe(200);
    const closedInYear = [...new Set(events.map((e) => e.ts.slice(0, 10)))]
      .filter((day) => Date.parse(day) < Math.floor(now / DAY) * DAY - DAY && Date.parse(day) >= now - 365 * DAY)
      .sort();
    expect(closedInYear).toHaveLength(4);
    const counted = async () =>
      (await t!.services.db.query<{ day: string }>("SELECT DISTINCT to_char(day, 'YYYY-MM-DD') AS day FROM feedback_daily_counts ORDER BY 1")).rows.map((r) => r.day);
    const deadline = Date.now() + 20_000;
    while ((await counted()).length < closedInYear.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await counted()).toEqual(closedInYear);
    const body = (await t.app.inject({ url: '/v1/metrics/online?days=365', headers: auth('admin') })).json();
    expect(sortedBy(body.strategies, (x: { strategy: string | null }) => JSON.stringify(x.strategy))).toEqual(expectedReport(events, Date.parse(body.since)).strategies);
  }, 60_000);
});

