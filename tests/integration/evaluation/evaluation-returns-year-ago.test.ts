import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseInput } from '../../../src/data/event-repository.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { leanRecipeDir } from '../../helpers/lean-recipe.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const available = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;
const WEEK = 7 * DAY;
const start = Date.UTC(2025, 0, 6, 9);
const cutoff = start + 60 * WEEK;

/**
 * An evaluation that tunes first (POST /v1/evaluations with `tune`) reads the purchases net only of the returns
 * made before its tuning windows' start (evaluation-service.ts returnsWindow): with tune.yearAgo the earliest window
 * is the year-ago one, so only the returns made more than a year and a day (367 days, rolling-tune.ts
 * tuningSpanDays) before the cutoff are netted; one made inside that year is a fact of a validation window its
 * fold's training side could not know. The training side's purchase count (report.split.trainEvents) shows which
 * returns were netted: one bought 60 weeks before the cutoff and returned 380 days before it is, one bought then and
 * returned 200 days before it is not (folds x days alone, 14 days, would net both).
 */
describe.skipIf(!available)('an evaluation tuned with tune.yearAgo nets only the returns made before the year-ago window', () => {
  let t: TestApp;

  beforeAll(async () => {
    // Five sources, not nine: the subject is the read, not what tuning makes of it.
    const recipesDir = await leanRecipeDir('lean', ['content', 'als', 'cooccurrence', 'ease']);
    t = await createTestApp({ createDb: createPostgresTestDb, recipesDir });
    // 40 customers buying a basket of 3 out of 200 products every week for 62 weeks, moving on to others every
    // week: every window has customers buying products new to them.
    const purchases: PurchaseInput[] = [];
    for (let week = 0; week < 62; week++) {
      for (let user = 0; user < 40; user++) {
        for (let line = 0; line < 3; line++) {
          purchases.push({ userId: `c-${user}`, itemId: `p-${(user * 5 + line + week * 3) % 200}`, quantity: 1, price: 2, orderId: `c-${user}-w${week}`, ts: new Date(start + week * WEEK + user * 60_000) });
        }
      }
    }
    // The planted customer: two products bought in the first week, 420 days before the cutoff.
    for (const itemId of ['p-1', 'p-2']) purchases.push({ userId: 'planted', itemId, quantity: 1, price: 2, orderId: 'planted-o1', ts: new Date(start) });
    await t.services.events.insertPurchases(purchases);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  const trainEvents = async (): Promise<number> => {
    const payload = { recipes: ['lean'], split: { kind: 'temporal', cutoff: new Date(cutoff).toISOString() }, modes: ['all'], ks: [10], tune: { folds: 2, days: 7, yearAgo: true } };
    const res = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload });
    expect(res.statusCode, res.body).toBe(202);
    const job = await finishedJob(t, `/v1/evaluations/${res.json().jobId}`, 240_000);
    expect(job, JSON.stringify(job.error)).toMatchObject({ status: 'succeeded', error: null });
    // Tuning ran with the year-ago window (what the read's netting follows).
    expect(job.report.tuning.lean, JSON.stringify(job.report.tuning.lean)).toMatchObject({ kind: 'rolling-origin', yearAgo: { added: true } });
    return job.report.split.trainEvents;
  };

  it('When p-1 is returned 380 days before the cutoff and p-2 200 days before it, Then the training side loses p-1 only', async () => {
    const before = await trainEvents();
    await t.services.events.insertReturns([
      { userId: 'planted', itemId: 'p-1', quantity: 1, orderId: 'planted-o1', ts: new Date(cutoff - 380 * DAY) },
      { userId: 'planted', itemId: 'p-2', quantity: 1, orderId: 'planted-o1', ts: new Date(cutoff - 200 * DAY) },
    ]);
    expect(await trainEvents()).toBe(before - 1);
  }, 600_000);
});
