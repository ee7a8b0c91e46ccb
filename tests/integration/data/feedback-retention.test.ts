/**
 * Feedback older than FEEDBACK_RETENTION_DAYS is deleted by each API process's sweep, in batches, with the
 * customer rows only that feedback had made, and the online-metrics counts of its days: a report reads what
 * the events left give. The public frontend key writes feedback, so without it the table grows for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedBefore, countDays, countedCte, uncountedDays } from '../../../src/data/feedback-rollup.js';
import { createFeedbackRetention, deleteFeedbackBefore, retentionCutoff } from '../../../src/data/feedback-retention.js';
import { createEventRepository, type FeedbackInput } from '../../../src/data/event-repository.js';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { INGEST_LOCK } from '../../../src/data/erasure-repository.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

const DAY = 86_400_000;
const NOW = new Date('2026-03-10T15:00:00Z');
const DAYS = 10;
/** The start of 28 February: feedback before it is more than 10 days old on 10 March. */
const CUTOFF = new Date('2026-02-28T00:00:00Z');

const click = (userId: string, ts: string): FeedbackInput => ({ userId, itemId: 'i1', type: 'click', strategy: 'hybrid', ts: new Date(ts) });
const count = async (db: TestDb['db'], sql: string, params: unknown[] = []) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n;

describe('the retention cutoff', () => {
  it('When the retention is N days, Then the oldest day kept is the whole UTC day N days back', () => {
    expect(retentionCutoff(NOW, DAYS)).toEqual(CUTOFF);
    expect(retentionCutoff(new Date('2026-03-10T00:00:00Z'), DAYS)).toEqual(CUTOFF);
    expect(retentionCutoff(new Date('2026-03-10T23:59:59.999Z'), 400)).toEqual(new Date(Date.parse('2026-03-10T00:00:00Z') - 400 * DAY));
  });
});

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`feedback retention on ${backend.name}`, () => {
    let t: TestDb;
    const events = () => createEventRepository(t.db);
    beforeAll(async () => {
      t = await backend.create();
      await createCatalogRepository(t.db).upsertItems([{ id: 'i1', title: 'one' }]);
    });
    afterAll(() => t?.dispose());

    it("When a sweep deletes many batches, Then the process's other work gets turns between them (PGlite answers in process)", async () => {
      for (let n = 0; n < 3; n++) await events().insertFeedback(['2026-02-01T10:00:00Z', '2026-02-02T10:00:00Z', '2026-02-03T10:00:00Z'].map((ts) => click(`turns${n}`, ts)));
      const order: string[] = [];
      setImmediate(() => order.push('other work'));
      const swept = deleteFeedbackBefore(t.db, CUTOFF, { batch: 2 }).then((r) => order.push(`swept ${r.feedback}`));
      await swept;
      expect(order).toEqual(['other work', 'swept 9']);
    });

    it('When feedback is older than the retention, Then it is deleted in batches with the customers it alone made, and the counts of its days', async () => {
      const old = ['2026-02-27T23:59:59Z', '2026-02-20T10:00:00Z', '2026-02-03T08:00:00Z'];
      const kept = ['2026-02-28T00:00:00Z', '2026-03-09T12:00:00Z'];
      // Each customer has old feedback; all but `gone` keep something else.
      for (const user of ['gone', 'attributes', 'buyer', 'viewer', 'recent', 'shop-made']) await events().insertFeedback(old.map((ts) => click(user, ts)));
      await events().insertFeedback(kept.map((ts) => click('recent', ts)));
      // `shop-made` is written by the shop too (PUT /v1/users/:id), with no attributes: the shop's row, not the sweep's.
      await createCatalogRepository(t.db).upsertUsers([{ id: 'attributes', attributes: { country: 'FR' } }, { id: 'never-named' }, { id: 'shop-made' }]);
      await events().insertPurchases([{ userId: 'buyer', itemId: 'i1', quantity: 1, ts: new Date('2025-01-01T00:00:00Z') }]);
      await events().insertInteractions([{ userId: 'viewer', itemId: 'i1', type: 'view', ts: new Date('2025-01-01T00:00:00Z') }]);
      // Every closed day counted, as reports and the background count do.
      const since = new Date('2026-02-01T00:00:00Z');
      await countDays(t.db, since, closedBefore(NOW));
      expect(await count(t.db, 'feedback_daily_counts WHERE day < $1::date', ['2026-02-28'])).toBeGreaterThan(0);

      // Batches of 4 rows: 18 old events take five.
      const result = await deleteFeedbackBefore(t.db, CUTOFF, { batch: 4 });

      const left = await t.db.query<{ user_id: string; ts: Date }>('SELECT user_id, ts FROM feedback_events ORDER BY ts');
      expect(left.rows.map((r) => [r.user_id, new Date(r.ts).toISOString()])).toEqual(kept.map((ts) => ['recent', new Date(ts).toISOString()]));
      const users = await t.db.query<{ id: string }>('SELECT id FROM users ORDER BY id');
      // A customer row that feedback did not name this time stays, whatever it holds.
      expect(users.rows.map((r) => r.id)).toEqual(['attributes', 'buyer', 'never-named', 'recent', 'shop-made', 'viewer']);
      expect(await count(t.db, 'purchase_events')).toBe(1);
      expect(await count(t.db, 'interaction_events')).toBe(1);
      // No day before the cutoff is counted any more; a window over them reads what the events left.
      expect(await count(t.db, 'feedback_daily_counts WHERE day < $1::date', ['2026-02-28'])).toBe(0);
      expect(await count(t.db, 'feedback_counted_days WHERE day < $1::date', ['2026-02-28'])).toBe(0);
      await countDays(t.db, since, closedBefore(NOW));
      const span = { from: since, to: closedBefore(NOW) };
      const cte = countedCte(since, span, await uncountedDays(t.db, span.from, span.to));
      const { rows } = await t.db.query<{ clicks: number }>(`WITH ${cte.sql} SELECT coalesce(sum(clicks), 0)::int AS clicks FROM counted`, cte.params);
      expect(rows[0].clicks).toBe(kept.length);
      // Days: every day of February before the 28th had a row (counted, or marked by the old feedback).
      expect(result).toEqual({ feedback: 18, users: 1, days: 27 });

      // A second sweep finds nothing left to delete.
      expect(await deleteFeedbackBefore(t.db, CUTOFF, { batch: 4 })).toMatchObject({ feedback: 0, users: 0 });
    });

    it('When the retention is 0, or the sweep is aborted before it starts, Then nothing is deleted', async () => {
      await events().insertFeedback([click('forever', '2001-01-01T00:00:00Z')]);
      expect(await createFeedbackRetention({ db: t.db, days: 0, now: () => NOW }).sweep()).toEqual({ feedback: 0, users: 0, days: 0, before: null });
      const aborted = new AbortController();
      aborted.abort();
      expect(await createFeedbackRetention({ db: t.db, days: DAYS, now: () => NOW }).sweep(aborted.signal)).toMatchObject({ feedback: 0, users: 0 });
      expect(await count(t.db, "feedback_events WHERE user_id = 'forever'")).toBe(1);
      expect(await createFeedbackRetention({ db: t.db, days: DAYS, now: () => NOW }).sweep()).toEqual({ feedback: 1, users: 1, days: 1, before: CUTOFF });
    });
  });
}

// Two connections at once: a writer holding its transaction open while the sweep runs (not PGlite's one connection).
describe.skipIf(!(await DB_BACKENDS[0].available()))('feedback retention beside ingestion on postgres', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await DB_BACKENDS[0].create();
    await createCatalogRepository(t.db).upsertItems([{ id: 'i1', title: 'one' }]);
  });
  afterAll(() => t?.dispose());

  it('When a purchase naming a customer the sweep would delete is being written, Then the sweep waits for it, and keeps the customer and the purchase', async () => {
    await createEventRepository(t.db).insertFeedback([click('late', '2026-02-01T00:00:00Z')]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let writerPid!: (pid: number) => void;
    const pid = new Promise<number>((resolve) => (writerPid = resolve));
    // What ingestion does (event-repository writePurchases): the ingestion lock, the customer, then the event.
    const writing = t.db.transaction(async (tx) => {
      await tx.query(INGEST_LOCK);
      await tx.query("INSERT INTO users (id) VALUES ('late') ON CONFLICT DO NOTHING");
      await tx.query("INSERT INTO purchase_events (event_id, user_id, item_id, quantity, ts) VALUES ('late-1', 'late', 'i1', 1, now())");
      writerPid((await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      await released;
    });
    const writer = await pid;
    const sweeping = deleteFeedbackBefore(t.db, CUTOFF);
    // Until the sweep waits for the writer (polled: no time is assumed).
    const waiting = async () => (await t.db.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [writer])).rows.length > 0;
    while (!(await waiting())) await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    await writing;
    expect(await sweeping).toMatchObject({ feedback: 1, users: 0 });
    expect(await count(t.db, "users WHERE id = 'late'")).toBe(1);
    expect(await count(t.db, "purchase_events WHERE user_id = 'late'")).toBe(1);
  });
});

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`the API process's retention sweep on ${backend.name}`, () => {
    let t: TestApp;
    const lines: { msg?: string; feedback?: number; users?: number; before?: string }[] = [];
    beforeAll(async () => {
      t = await createTestApp({
        createDb: backend.create,
        env: { FEEDBACK_RETENTION_DAYS: String(DAYS) },
        appOptions: { feedbackRetentionSweepMs: 50, logger: { level: 'info', stream: { write: (line) => void lines.push(JSON.parse(line)) } } },
      });
      await t.services.catalog.upsertItems([{ id: 'i1', title: 'one' }]);
    });
    afterAll(() => t?.dispose());

    it('When an API process runs with FEEDBACK_RETENTION_DAYS, Then it deletes older feedback by itself and logs how much', async () => {
      const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();
      const events = [
        { userId: 'sweep-old', itemId: 'i1', type: 'click', ts: ago(DAYS + 5) },
        { userId: 'sweep-old', itemId: 'i1', type: 'impression', ts: ago(DAYS + 3) },
        { userId: 'sweep-new', itemId: 'i1', type: 'click', ts: ago(1) },
      ];
      const res = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('write'), payload: { events } });
      expect(res.json()).toMatchObject({ inserted: 3 });
      const logged = () => lines.find((l) => l.msg?.startsWith('feedback retention'));
      while (!logged()) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(logged()).toMatchObject({ feedback: 2, users: 1, before: retentionCutoff(new Date(), DAYS).toISOString() });
      const left = await t.services.db.query<{ user_id: string }>('SELECT user_id FROM feedback_events');
      expect(left.rows).toEqual([{ user_id: 'sweep-new' }]);
      expect((await t.app.inject({ url: '/v1/users/sweep-old', headers: auth('admin') })).statusCode).toBe(404);
    });
  });
}
