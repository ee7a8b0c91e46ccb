/**
 * The online report's experiment arms are read from the window's events (ARM_CUSTOMERS_SQL), its strategies
 * from the daily counts (COUNTED_CTE). Every event here is in the experiment and each arm has a strategy of
 * its own, so an arm's counts must equal its strategy's in the same report, whatever happened to the events
 * (future-dated, backfilled for a counted day, erased, a retention sweep part way, a write during the report).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { deleteFeedbackBefore } from '../../../src/data/feedback-retention.js';
import { createOnlineMetrics } from '../../../src/serving/online-metrics.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const DAY = 86_400_000;
const TYPES = ['impression', 'impression', 'impression', 'click', 'add_to_cart', 'purchase'] as const;
const ARMS = [
  { name: 'control', strategy: 'hybrid', share: 0.5 },
  { name: 'treatment', strategy: 'popularity', share: 0.5 },
];
type Sent = { userId: string; itemId: string; type: string; strategy: string; experimentId: string; arm: string; ts: string };

/** Events of both arms at noon UTC of day `k` back (k < 0: 12 h ahead of now, a clock running fast), users u0..u4 per arm. */
function dayEvents(now: number, k: number, tag: string): Sent[] {
  const out: Sent[] = [];
  for (const [a, arm] of ARMS.entries()) {
    for (let i = 0; i < 18; i++) {
      out.push({
        userId: `${arm.name}-u${(i * (a + 1) + k) % 5}`,
        itemId: `${tag}-${k}-${arm.name}-${i}`,
        type: TYPES[(((i + k) % TYPES.length) + TYPES.length) % TYPES.length],
        strategy: arm.strategy,
        experimentId: 'cons-1',
        arm: arm.name,
        ts: new Date(k < 0 ? now + 12 * 3_600_000 : Math.floor(now / DAY) * DAY - k * DAY + DAY / 2).toISOString(),
      });
    }
  }
  return out;
}

type ArmOut = { name: string; strategy: string; impressions: number; clicks: number; addToCart: number; purchases: number; customers: number };
type StrategyOut = { strategy: string; impressions: number; clicks: number; addToCart: number; purchases: number };
const counts = (x: { impressions: number; clicks: number; addToCart: number; purchases: number }) => ({ impressions: x.impressions, clicks: x.clicks, addToCart: x.addToCart, purchases: x.purchases });

/** Per arm: [its own counts, its strategy's counts] from one report. */
function pairs(body: { strategies: StrategyOut[]; experiments: { id: string; arms: ArmOut[] }[] }) {
  const e = body.experiments.find((x) => x.id === 'cons-1')!;
  return e.arms.map((a) => ({ arm: a.name, fromEvents: counts(a), fromDailyCounts: counts(body.strategies.find((s) => s.strategy === a.strategy) ?? { impressions: 0, clicks: 0, addToCart: 0, purchases: 0 }) }));
}

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`experiment arms agree with strategies in one report on ${backend.name}`, () => {
    let t: TestApp;
    const now = Date.now();
    const post = async (events: Sent[]) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(res.statusCode, res.body).toBe(200);
    };
    const report = async (days = 30) => {
      const res = await t.app.inject({ url: `/v1/metrics/online?days=${days}`, headers: auth('admin') });
      expect(res.statusCode).toBe(200);
      return res.json();
    };
    const agree = async (days = 30) => {
      for (const p of pairs(await report(days))) expect(p.fromEvents, `${p.arm}: arm (events) vs its strategy (daily counts)`).toEqual(p.fromDailyCounts);
    };

    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      await t.services.db.query('INSERT INTO experiments (id, arms, active) VALUES ($1, $2::jsonb, true)', ['cons-1', JSON.stringify(ARMS)]);
      // Today, yesterday (open), closed days back to 12, and 12 h ahead of now (a clock running fast).
      await post([0, 1, 2, 3, 5, 8, 12, -1].flatMap((k) => dayEvents(now, k, 'first')));
    });
    afterAll(() => t?.dispose());

    it('When closed days are counted and events are future-dated, Then each arm equals its strategy', async () => {
      await agree(30);
      await agree(7);
    });

    it('When feedback of a counted day arrives late, Then they still agree', async () => {
      await report(30);
      await post(dayEvents(now, 5, 'late'));
      await agree(30);
    });

    it('When a customer is erased, Then they still agree', async () => {
      await report(30);
      const res = await t.app.inject({ method: 'DELETE', url: '/v1/users/control-u1', headers: auth('admin') });
      expect(res.statusCode).toBeLessThan(300);
      await agree(30);
    });

    /** The database, with `before` run ahead of every statement of a transaction that `when` picks. */
    const intercepted = (when: (sql: string) => boolean, before: () => Promise<void>): Db => {
      const real = t.services.db;
      return {
        ...real,
        transaction: (fn) =>
          real.transaction((tx) =>
            fn({
              ...tx,
              query: async (sql, params) => {
                if (when(sql)) await before();
                return tx.query(sql, params);
              },
            }),
          ),
      };
    };

    it('When a retention sweep stops part way (a process closing between batches), Then they still agree', async () => {
      await report(30);
      // The sweep deletes feedback before a day's start in batches and forgets the days' counts after the
      // last; its abort signal is checked between batches (the next sweep goes on from there).
      const stop = new AbortController();
      const db = intercepted(
        (sql) => sql.includes('SELECT count(*)::int AS n, array_agg(DISTINCT user_id)') && !stop.signal.aborted,
        async () => stop.abort(),
      );
      const cutoff = new Date(Math.floor(now / DAY) * DAY - 4 * DAY);
      const result = await deleteFeedbackBefore(db, cutoff, { batch: 10, signal: stop.signal });
      expect(result.feedback).toBe(10);
      expect(result.days).toBe(0);
      await agree(30);
    });

    it.skipIf(backend.name !== 'postgres')('When feedback is stored while the report runs, Then its arms and strategies are of one moment', async () => {
      // Feedback stored after the report's first statement, before its second.
      let wrote = false;
      const db = intercepted(
        (sql) => sql.includes('per_customer') && !wrote,
        async () => {
          wrote = true;
          await post(dayEvents(now, 0, 'racing'));
        },
      );
      const m = createOnlineMetrics({ db, experiments: { list: async () => [{ id: 'cons-1', active: true, arms: ARMS, createdAt: new Date().toISOString(), stoppedAt: null }] } });
      const r = await m.report(30);
      expect(wrote).toBe(true);
      for (const p of pairs(r as never)) expect(p.fromEvents, p.arm).toEqual(p.fromDailyCounts);
      // The next report holds it in both.
      const after = pairs(await report(30));
      expect(after[0].fromEvents.impressions).toBeGreaterThan(pairs(r as never)[0].fromEvents.impressions);
      await agree(30);
    });

    it('When a stored event names an experiment but no arm, Then the database refuses it (an arm may be named "null")', async () => {
      // The API refuses such feedback; migration 017 keeps it out of the table too (older code, a direct write).
      const arms = [{ name: 'control', strategy: 'hybrid', share: 0.5 }, { name: 'null', strategy: 'als', share: 0.5 }];
      await t.services.db.query('INSERT INTO experiments (id, arms, active) VALUES ($1, $2::jsonb, false)', ['nul-1', JSON.stringify(arms)]);
      await expect(
        t.services.db.query(
          `INSERT INTO feedback_events (event_id, user_id, item_id, type, strategy, ts, experiment_id, arm)
           VALUES ('armless-1', 'control-u0', 'first-0-control-0', 'impression', 'als', now() - interval '1 hour', 'nul-1', NULL)`,
        ),
      ).rejects.toThrow(/feedback_events_experiment_arm/);
      const e = (await report(30)).experiments.find((x: { id: string }) => x.id === 'nul-1');
      expect(e.arms.find((a: { name: string }) => a.name === 'null')).toMatchObject({ impressions: 0, customers: 0 });
    });
  });
}


/** Six events of each arm of race-1 at noon UTC `daysBack` days back, of 3 customers an arm. */
function raceEvents(now: number, daysBack: number, tag: string) {
  return ARMS.flatMap((arm) =>
    Array.from({ length: 6 }, (_, i) => ({
      userId: `${arm.name}-u${i % 3}`, itemId: `${tag}-${arm.name}-${i}`, type: i % 3 === 0 ? 'click' : 'impression',
      strategy: arm.strategy, experimentId: 'race-1', arm: arm.name,
      ts: new Date(Math.floor(now / DAY) * DAY - daysBack * DAY + DAY / 2).toISOString(),
    })),
  );
}

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`a report's snapshot and its days counted just before, on ${backend.name}`, () => {
    let t: TestApp;
    const now = Date.now();
    const post = async (ev: unknown[]) => {
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events: ev } });
      expect(res.statusCode, res.body).toBe(200);
    };
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      await t.services.db.query('INSERT INTO experiments (id, arms, active) VALUES ($1, $2::jsonb, true)', ['race-1', JSON.stringify(ARMS)]);
      await post([...raceEvents(now, 0, 'today'), ...raceEvents(now, 5, 'closed')]);
      // A first report counts day -5.
      expect((await t.app.inject({ url: '/v1/metrics/online?days=30', headers: auth('admin') })).statusCode).toBe(200);
    });
    afterAll(() => t?.dispose());

    it('When late feedback for a counted day commits after the report counted its days, before its snapshot, Then arms and strategies still agree', async () => {
      const real = t.services.db;
      let countDaysDone = false;
      let wrote = false;
      // countDays' first read (generate_series over the counted span) finds every day counted and returns;
      // the next transaction is the report's. The late feedback commits just before it starts.
      const db: Db = {
        ...real,
        query: async (sql, params) => {
          const r = await real.query(sql, params);
          if (sql.includes('generate_series($1::date')) countDaysDone = true;
          return r as never;
        },
        transaction: async (fn) => {
          if (countDaysDone && !wrote) {
            wrote = true;
            await post(raceEvents(now, 5, 'late'));
          }
          return real.transaction(fn);
        },
      };
      const m = createOnlineMetrics({ db, experiments: { list: async () => [{ id: 'race-1', active: true, arms: ARMS, createdAt: new Date(now - 10 * DAY).toISOString(), stoppedAt: null }] } });
      const r = await m.report(30);
      expect(wrote).toBe(true);
      const e = r.experiments[0];
      const control = e.arms[0];
      const strategy = r.strategies.find((s) => s.strategy === 'hybrid')!;
      // 3 days' worth of 6 events (today, day -5, late day -5): 12 impressions 6 clicks from the events ...
      expect({ impressions: control.impressions, clicks: control.clicks }).toEqual({ impressions: 12, clicks: 6 });
      // ... and the same from the counts: the snapshot reads the day its write marked from the events.
      expect({ impressions: strategy.impressions, clicks: strategy.clicks }, 'strategy (daily counts) vs arm (events)').toEqual({ impressions: control.impressions, clicks: control.clicks });
    });
  });
}
