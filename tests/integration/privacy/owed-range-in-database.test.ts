/**
 * The range checks of what a training, an evaluation and `npm run tune` read (the first and last purchase, the first in
 * a window) leave the customers whose erasure is owed (erasure_requests) out inside the database: the owed ids are not
 * read into the process and sent back with the statement (at 100,000 owed that cost 2.5-6 s a submission: bench/README
 * "Owed customers left out inside Postgres"). The results are the others' purchases', as before. Postgres and PGlite.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { purchaseRangeWithoutOwed, readOwedFreeInput } from '../../../src/evaluation/owed-free-input.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { seedTwoItemShop } from '../../helpers/two-item-shop.js';
import { DB_BACKENDS } from '../../helpers/services.js';

const DAY = 86_400_000;
const base = Date.UTC(2024, 2, 1, 12);
const iso = (ms: number) => new Date(ms).toISOString();
/** c7, whose erasure is owed, buys first (a day before the shop's first purchase), in a gap and last. */
const OWED = 'c7';
const owedFirst = base - DAY;
const owedGap = base + 10.5 * DAY;
const owedLast = base + 60 * DAY;
/** The others' first and last purchase: seedTwoItemShop's c0 (day 0) and c19 (day 19). */
const othersFirst = iso(base);
const othersLast = iso(base + 19 * DAY);

/** The longest array sent as a statement parameter while `fn` runs. */
async function largestArraySent(t: TestApp, fn: () => Promise<unknown>): Promise<number> {
  const query = vi.spyOn(t.services.db, 'query');
  try {
    await fn();
    return Math.max(0, ...query.mock.calls.flatMap(([, params]) => ((params ?? []) as unknown[]).map((p) => (Array.isArray(p) ? p.length : 0))));
  } finally {
    query.mockRestore();
  }
}

describe.each(DB_BACKENDS)('owed customers left out of the range checks inside the database ($name)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    if (!(await backend.available())) return;
    // The re-driver waits an hour: nothing completes the owed erasure during the test.
    t = await createTestApp({ createDb: backend.create, env: { ERASURE_REDRIVE_MS: '3600000' } });
    await seedTwoItemShop(t, base);
    const owed = [owedFirst, owedGap, owedLast].map((ts, k) => ({ userId: OWED, itemId: 'A', quantity: 1, orderId: `c7-${k}`, ts: iso(ts) }));
    expect((await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: owed } })).json().inserted).toBe(3);
  }, 120_000);
  afterAll(() => t?.dispose());

  it("When the owed customer buys first, in a gap and last, Then neither end of the range nor the window's first purchase is theirs", async (ctx) => {
    if (!t) return ctx.skip();
    const events = t.services.events;
    // Not owed yet: theirs are the ends, as with no customer left out.
    expect(await events.purchaseRange('owed')).toEqual({ first: iso(owedFirst), last: iso(owedLast) });
    expect(await events.firstPurchaseIn({ from: new Date(base + 10.25 * DAY), to: new Date(base + 10.75 * DAY) }, 'owed')).toBe(iso(owedGap));

    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now() + interval '1 hour')", [OWED]);
    try {
      expect(await events.purchaseRange('owed')).toEqual({ first: othersFirst, last: othersLast });
      // The ids given (a process's owed list) and the table agree.
      expect(await events.purchaseRange([OWED])).toEqual({ first: othersFirst, last: othersLast });
      expect(await events.firstPurchaseIn({ from: new Date(base + 10.25 * DAY), to: new Date(base + 10.75 * DAY) }, 'owed')).toBeNull();
      expect(await events.firstPurchaseIn({ to: new Date(base + 0.5 * DAY) }, 'owed')).toBe(othersFirst);
      expect(await events.firstPurchaseIn({ from: new Date(base + 10 * DAY) }, 'owed')).toBe(iso(base + 10 * DAY));
      // Every purchase stored still counts where none is left out.
      expect(await events.purchaseRange()).toEqual({ first: iso(owedFirst), last: iso(owedLast) });
      expect(await purchaseRangeWithoutOwed({ events })).toEqual({ first: othersFirst, last: othersLast, onlyOwed: false });
    } finally {
      await t.services.db.query('DELETE FROM erasure_requests WHERE user_id = $1', [OWED]);
    }
  });

  it('When 10,000 erasures are owed, Then a training window and an evaluation period are checked without their ids sent to the database', async (ctx) => {
    if (!t) return ctx.skip();
    // A backlog of owed erasures (customers who bought nothing) and c7, who bought first, in a gap and last.
    const backlog = [OWED, ...Array.from({ length: 10_000 }, (_, k) => `gone-${k}`)];
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) SELECT unnest($1::text[]), now() + interval '1 hour'", [backlog]);
    try {
      const submit = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false, ...payload } });
      const answers: Array<{ statusCode: number; json: () => { error: { message: string } } }> = [];
      const largest = await largestArraySent(t, async () => {
        // After the others' last purchase; before their first; inside the gap: each holds only c7's purchases.
        answers.push(await submit({ from: iso(base + 30 * DAY) }));
        answers.push(await submit({ to: iso(base - 0.5 * DAY) }));
        answers.push(await submit({ from: iso(base + 10.25 * DAY), to: iso(base + 10.75 * DAY) }));
        // An evaluation whose test period holds only c7's purchase.
        answers.push(await t.app.inject({
          method: 'POST', url: '/v1/evaluations', headers: auth('admin'),
          payload: { split: { kind: 'temporal', cutoff: iso(base + 30 * DAY) }, modes: ['novel'], ks: [5] },
        }));
      });
      expect(answers.map((a) => a.statusCode)).toEqual([422, 422, 422, 422]);
      expect(answers[0].json().error.message).toContain(`the last is at ${othersLast}`);
      expect(answers[1].json().error.message).toContain(`the first is at ${othersFirst}`);
      expect(answers[2].json().error.message).toContain('a gap in the data');
      expect(answers[3].json().error.message).toContain('no purchases at or after the cutoff');
      // Each check sent the 10,001 ids before.
      expect(largest).toBeLessThan(100);
    } finally {
      await t.services.db.query('DELETE FROM erasure_requests WHERE user_id = ANY($1::text[])', [backlog]);
    }
  }, 120_000);

  it('When an erasure is asked between the read of the owed ids and of the latest purchase, Then both say the same: the latest is of the customers not left out', async (ctx) => {
    if (!t) return ctx.skip();
    // c7's erasure asked (committed) right after the first statement that reads erasure_requests: what a DELETE
    // committing at that moment does. The owed ids and the latest purchase must come from one snapshot.
    const db = t.services.db;
    const query = db.query.bind(db);
    let asked = false;
    const spy = vi.spyOn(db, 'query').mockImplementation(async (sql: string, params?: unknown[]) => {
      const result = await query(sql, params);
      if (!asked && sql.includes('erasure_requests')) {
        asked = true;
        await query("INSERT INTO erasure_requests (user_id, next_at) VALUES ($1, now() + interval '1 hour')", [OWED]);
      }
      return result as never;
    });
    try {
      let latest: string | null | undefined;
      const input = await readOwedFreeInput({ events: t.services.events, catalog: t.services.catalog }, async (read) => {
        latest = await read();
        return {};
      });
      expect(asked).toBe(true);
      // c7 not left out (asked after the read): its last purchase is the latest; left out: the others' is.
      const leftOut = input.owedIds.includes(OWED);
      expect([...input.purchases.userIds].includes(OWED)).toBe(!leftOut);
      expect({ leftOut, latest }).toEqual({ leftOut, latest: leftOut ? othersLast : iso(owedLast) });
    } finally {
      spy.mockRestore();
      await t.services.db.query('DELETE FROM erasure_requests WHERE user_id = $1', [OWED]);
    }
  });
});
