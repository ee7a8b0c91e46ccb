import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedBefore, countDays, countedCte, countedSpan, daysToRecount, markRecount, uncountedDays } from '../../../src/data/feedback-rollup.js';
import { createPostgresTestDb, ONE_DB_BACKEND, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const at = (iso: string) => new Date(iso);

describe('which days are read from daily counts', () => {
  it('When it is any time of a day, Then the days before yesterday are closed', () => {
    expect(closedBefore(at('2026-03-10T00:00:00Z'))).toEqual(at('2026-03-09T00:00:00Z'));
    expect(closedBefore(at('2026-03-10T23:59:59.999Z'))).toEqual(at('2026-03-09T00:00:00Z'));
  });

  it('When a window starts inside a day, Then its counted span starts at the next whole day and ends where open days begin', () => {
    const now = at('2026-03-10T15:00:00Z');
    expect(countedSpan(at('2026-02-08T15:00:00Z'), now)).toEqual({ from: at('2026-02-09T00:00:00Z'), to: at('2026-03-09T00:00:00Z') });
    // A window starting at midnight counts that day whole.
    expect(countedSpan(at('2026-03-01T00:00:00Z'), now).from).toEqual(at('2026-03-01T00:00:00Z'));
    // A window of a day or two holds no closed day: all of it is read from the events.
    const short = countedSpan(at('2026-03-08T15:00:00Z'), now);
    expect(short.from).toEqual(short.to);
  });

  it('When feedback arrives, Then the days that may be counted already are marked, with an hour to spare for another clock', () => {
    const now = at('2026-03-10T12:00:00Z');
    const times = ['2026-03-10T01:00:00Z', '2026-03-09T05:00:00Z', '2026-03-08T23:59:59Z', '2026-03-08T00:00:00Z', '2026-01-02T10:00:00Z'].map(at);
    expect(daysToRecount(times, now)).toEqual(['2026-01-02', '2026-03-08']);
    // In the last hour of a day, yesterday may already be closed for a clock running ahead.
    expect(daysToRecount(times, at('2026-03-10T23:30:00Z'))).toEqual(['2026-01-02', '2026-03-08', '2026-03-09']);
  });
});

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`a window read from daily counts and events on ${backend.name}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await backend.create();
      await t.db.query("INSERT INTO users (id) VALUES ('u1')");
      await t.db.query("INSERT INTO items (id, title) VALUES ('i1', 'one')");
    });
    afterAll(() => t?.dispose());

    it('When a window starts inside a day, Then every event from its start on counts once, whichever part reads it', async () => {
      const now = at('2026-03-10T15:00:00Z');
      const since = at('2026-03-01T15:00:00Z');
      const { from, to } = countedSpan(since, now);
      // Around each edge: the window's start, the first and last counted day, the open days, now.
      const times = ['2026-03-01T14:59:59Z', '2026-03-01T15:00:00Z', '2026-03-01T23:59:59Z', '2026-03-02T00:00:00Z', '2026-03-05T12:00:00Z',
        '2026-03-08T23:59:59Z', '2026-03-09T00:00:00Z', '2026-03-10T14:00:00Z'];
      for (const [k, ts] of times.entries()) {
        await t.db.query("INSERT INTO feedback_events (event_id, user_id, item_id, type, ts) VALUES ($1, 'u1', 'i1', 'impression', $2)", [`w${k}`, ts]);
      }
      expect(await countDays(t.db, from, to)).toBe(7);
      expect(await uncountedDays(t.db, from, to)).toEqual([]);
      const cte = countedCte(since, { from, to }, []);
      const { rows } = await t.db.query<{ n: number; counted: number }>(
        `WITH ${cte.sql} SELECT sum(impressions)::int AS n, (SELECT sum(impressions)::int FROM feedback_daily_counts) AS counted FROM counted`,
        cte.params,
      );
      expect(rows[0].n).toBe(times.filter((ts) => at(ts) >= since).length);
      // The closed days were read from their counts: 2 March 00:00, 5 March and 8 March 23:59:59.
      expect(rows[0].counted).toBe(3);
    });
  });
}

const available = await serviceAvailable(POSTGRES_URL);
describe.skipIf(!available)('counting a day while late feedback of it is written (Postgres: two connections)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    await t.db.query("INSERT INTO users (id) VALUES ('u1')");
    await t.db.query("INSERT INTO items (id, title) VALUES ('i1', 'one')");
  });
  afterAll(() => t?.dispose());

  const day = ['2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z'].map(at) as [Date, Date];
  const insert = (db: TestDb['db'], id: string, ts: string) =>
    db.query("INSERT INTO feedback_events (event_id, user_id, item_id, type, strategy, ts) VALUES ($1, 'u1', 'i1', 'impression', 'hybrid', $2)", [id, ts]);
  const impressions = async () =>
    (await t.db.query<{ n: number }>("SELECT coalesce(sum(impressions), 0)::int AS n FROM feedback_daily_counts WHERE day = '2026-01-05'")).rows[0].n;

  it('When a late write of a day commits while a count of it is under way, Then the write does not wait, and the day is counted again with it', async () => {
    await insert(t.db, 'e1', '2026-01-05T10:00:00Z');
    expect(await countDays(t.db, ...day)).toBe(1);
    expect(await impressions()).toBe(1);
    await t.db.transaction(async (tx) => markRecount(tx, ['2026-01-05']));

    // Hold the day's counts so that a count stops at replacing them, after it has read the day's state.
    let release!: () => void;
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    const open = new Promise<void>((r) => (release = r));
    const blocker = t.db.transaction(async (tx) => {
      await tx.query("SELECT 1 FROM feedback_daily_counts WHERE day = '2026-01-05' FOR UPDATE");
      holding();
      await open;
    });
    await held;
    const counting = countDays(t.db, ...day);
    // Until the count waits for the held rows.
    for (let i = 0; i < 100; i++) {
      const { rows } = await t.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM feedback_daily_counts%'",
      );
      if (rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // The write commits while the count is under way: it does not wait for it.
    const write = t.db.transaction(async (tx) => {
      await insert(tx, 'e2', '2026-01-05T11:00:00Z');
      await markRecount(tx, ['2026-01-05']);
    });
    const first = await Promise.race([write.then(() => 'write'), new Promise((r) => setTimeout(() => r('waited'), 5000))]);
    release();
    await blocker;
    expect(first).toBe('write');
    // The count read the day before the write: it does not mark it counted, and the next one counts the write.
    expect(await counting).toBe(0);
    expect(await countDays(t.db, ...day)).toBe(1);
    expect(await impressions()).toBe(2);
  });
});
