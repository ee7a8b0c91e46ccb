import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedBefore, countDays, countedSpan, daysToRecount, markRecount } from '../../../src/data/feedback-rollup.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

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

const available = await serviceAvailable(POSTGRES_URL);
describe.skipIf(!available)('counting a day while late feedback of it is written (Postgres: two connections)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    await t.db.query("INSERT INTO users (id) VALUES ('u1')");
    await t.db.query("INSERT INTO items (id, title) VALUES ('i1', 'one')");
  });
  afterAll(() => t?.dispose());

  const insert = (db: TestDb['db'], id: string, ts: string) =>
    db.query("INSERT INTO feedback_events (event_id, user_id, item_id, type, strategy, ts) VALUES ($1, 'u1', 'i1', 'impression', 'hybrid', $2)", [id, ts]);
  const impressions = async () =>
    (await t.db.query<{ n: number }>("SELECT coalesce(sum(impressions), 0)::int AS n FROM feedback_daily_counts WHERE day = '2026-01-05'")).rows[0].n;

  it('When a counted day is counted again while late feedback of it is being written, Then once both are done its counts hold the write', async () => {
    await insert(t.db, 'e1', '2026-01-05T10:00:00Z');
    await countDays(t.db, at('2026-01-05T00:00:00Z'), at('2026-01-06T00:00:00Z'));
    expect(await impressions()).toBe(1);

    let marked!: () => void;
    let commit!: () => void;
    const markedNow = new Promise<void>((r) => (marked = r));
    const committed = new Promise<void>((r) => (commit = r));
    const writer = t.db.transaction(async (tx) => {
      await insert(tx, 'e2', '2026-01-05T11:00:00Z');
      await markRecount(tx, ['2026-01-05']);
      marked();
      await committed;
    });
    await markedNow;
    const counting = countDays(t.db, at('2026-01-05T00:00:00Z'), at('2026-01-06T00:00:00Z'));
    // The count runs (and may finish, or wait for the writer's marks) while the write is in flight.
    await new Promise((r) => setTimeout(r, 300));
    commit();
    await writer;
    await counting;
    await countDays(t.db, at('2026-01-05T00:00:00Z'), at('2026-01-06T00:00:00Z'));
    expect(await impressions()).toBe(2);
  });
});
