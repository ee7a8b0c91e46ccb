import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvaluationService } from '../../../src/evaluation/evaluation-service.js';
import { createServices } from '../../../src/services.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { countTestUsers, CUTOFF, twoShopsAroundCutoff } from '../evaluation/evaluation-fixture.js';

const evaluate = (t: TestApp, payload: object) => t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('admin'), payload });

async function evaluateToEnd(t: TestApp, payload: object) {
  const res = await evaluate(t, payload);
  expect(res.statusCode).toBe(202);
  expect(res.headers.location).toBe(`/v1/evaluations/${res.json().jobId}`);
  return finishedJob(t, `/v1/evaluations/${res.json().jobId}`);
}

/** Gauge samples `name{labels} value` of a Prometheus text page, as label text -> value. */
function samples(page: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of page.split('\n')) {
    const m = line.match(new RegExp(`^${name}\\{(.*)\\} (\\S+)$`));
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`evaluations API on ${backend.name}`, () => {
    let t: TestApp;
    const purchases = twoShopsAroundCutoff();
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: purchases } });
      expect(res.json()).toMatchObject({ inserted: purchases.length });
    });
    afterAll(() => t.dispose());

    it('When the fixture is counted by hand, Then it has 8 novel and 10 all-mode test users', () => {
      // Per shop: u0..u3 buy something new (4), u4 only repurchases (+1 in `all`), u5 and the late user never count.
      expect(countTestUsers(purchases, CUTOFF)).toEqual({ novel: 8, all: 10 });
    });

    it('When the default recipe is evaluated on a temporal split, Then the report has the baseline and the recipe with lifts and the right test users', async () => {
      const job = await evaluateToEnd(t, { split: { kind: 'temporal', cutoff: '2011-06-01' }, modes: ['novel', 'all'], ks: [3, 5] });
      expect(job).toMatchObject({ status: 'succeeded', progress: 1, error: null });
      expect(job.params).toEqual({ recipes: ['default'], split: { kind: 'temporal', cutoff: CUTOFF }, modes: ['novel', 'all'], ks: [3, 5] });

      const report = job.report;
      expect(report.baseline).toBe('popularity');
      expect(report.split).toMatchObject({ kind: 'temporal', cutoff: CUTOFF, testUsers: countTestUsers(purchases, CUTOFF) });
      // 12 shop users and 2 x 6 items bought before the cutoff, 3 purchases each.
      expect(report.split).toMatchObject({ trainUsers: 12, trainItems: 12, trainEvents: 36 });
      expect(report.strategies).toEqual(expect.arrayContaining(['default', 'popularity', 'item-knn', 'als']));
      for (const mode of ['novel', 'all']) {
        for (const k of [3, 5]) {
          const rows = report.rows.filter((r: { mode: string; k: number }) => r.mode === mode && r.k === k);
          const base = rows.find((r: { strategy: string }) => r.strategy === 'popularity');
          const recipe = rows.find((r: { strategy: string }) => r.strategy === 'default');
          expect(base.users).toBe(mode === 'novel' ? 8 : 10);
          expect(base.lift.ndcg === 0 || base.lift.ndcg === null).toBe(true);
          expect(Object.keys(recipe.metrics)).toEqual(expect.arrayContaining(['precision', 'recall', 'ndcg', 'map', 'hitRate', 'catalogCoverage']));
          const expectedLift = base.metrics.ndcg > 0 ? recipe.metrics.ndcg / base.metrics.ndcg - 1 : null;
          if (expectedLift === null) expect(recipe.lift.ndcg).toBeNull();
          else expect(recipe.lift.ndcg).toBeCloseTo(expectedLift, 10);
        }
      }
      expect(report.breakdowns.some((b: { dimension: string }) => b.dimension === 'history')).toBe(true);

      const list = (await t.app.inject({ url: '/v1/evaluations', headers: auth('admin') })).json();
      expect(list).toMatchObject({ total: 1, limit: 20, offset: 0 });
      expect(list.reports[0]).toMatchObject({ id: job.id, recipes: ['default'], request: job.params, headline: { mode: 'novel', k: 5 } });
      const novel5 = report.rows.filter((r: { mode: string; k: number }) => r.mode === 'novel' && r.k === 5);
      expect(list.reports[0].headline.ndcg).toEqual(Object.fromEntries(novel5.map((r: { strategy: string; metrics: { ndcg: number } }) => [r.strategy, r.metrics.ndcg])));
    });

    it('When a second evaluation runs, Then the listing shows it first and pages', async () => {
      const job = await evaluateToEnd(t, { split: { kind: 'leave-last-order' }, strategies: ['item-knn'], ks: [10] });
      expect(job.status).toBe('succeeded');
      // Only the hybrid, the asked-for source and the baseline.
      expect(job.report.strategies).toEqual(['default', 'item-knn', 'popularity']);
      const page1 = (await t.app.inject({ url: '/v1/evaluations?limit=1', headers: auth('admin') })).json();
      expect(page1.total).toBe(2);
      expect(page1.reports.map((r: { id: string }) => r.id)).toEqual([job.id]);
      expect(page1.reports[0].headline).toMatchObject({ mode: 'novel', k: 10 });
      const page2 = (await t.app.inject({ url: '/v1/evaluations?limit=1&offset=1', headers: auth('admin') })).json();
      expect(page2.reports).toHaveLength(1);
      expect(page2.reports[0].id).not.toBe(job.id);
      expect(page2.next).toBeNull();
      // By cursor: the page after the newest report is the other one, and the last.
      expect(page1.next).toBe(job.id);
      const byCursor = (await t.app.inject({ url: `/v1/evaluations?limit=1&after=${page1.next}`, headers: auth('admin') })).json();
      expect(byCursor).toMatchObject({ next: null, reports: [{ id: page2.reports[0].id }] });
      // Paged as GET /v1/users is: `cursor` in, `nextCursor` out, the same values as after/next.
      expect(page1.nextCursor).toBe(job.id);
      const byNextCursor = (await t.app.inject({ url: `/v1/evaluations?limit=1&cursor=${page1.nextCursor}`, headers: auth('admin') })).json();
      expect(byNextCursor).toMatchObject({ cursor: job.id, next: null, nextCursor: null, reports: [{ id: page2.reports[0].id }] });
      const unknownCursor = await t.app.inject({ url: '/v1/evaluations?cursor=no-such-report', headers: auth('admin') });
      expect(unknownCursor.statusCode).toBe(400);
      expect(unknownCursor.json().error.details).toEqual([expect.objectContaining({ path: 'querystring.cursor' })]);
      const unknown = await t.app.inject({ url: '/v1/evaluations?after=no-such-report', headers: auth('admin') });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().error.details).toEqual([expect.objectContaining({ path: 'querystring.after' })]);
    });

    it('When the request names an unknown recipe or strategy, Then it is refused with 422 and nothing is queued', async () => {
      const recipe = await evaluate(t, { recipes: ['no-such-recipe'], split: { kind: 'leave-last-order' } });
      expect(recipe.statusCode).toBe(422);
      expect(recipe.json().error.code).toBe('INVALID_RECIPE');
      // user-knn is a recommender family the default recipe does not use; "constructor" is a property
      // of every plain object, not a source of the recipe.
      for (const name of ['user-knn', 'constructor']) {
        const strategy = await evaluate(t, { strategies: [name], split: { kind: 'leave-last-order' } });
        expect(strategy.statusCode).toBe(422);
        expect(strategy.json().error).toMatchObject({ code: 'UNPROCESSABLE', details: [{ path: 'strategies' }] });
      }
      const baseline = await evaluate(t, { baseline: 'user-knn', split: { kind: 'leave-last-order' } });
      expect(baseline.statusCode).toBe(422);
      expect(baseline.json().error).toMatchObject({ code: 'UNPROCESSABLE', details: [{ path: 'baseline' }] });
      const tuneWithoutCutoff = await evaluate(t, { tune: true, split: { kind: 'leave-last-order' } });
      expect(tuneWithoutCutoff.statusCode).toBe(422);
      expect(tuneWithoutCutoff.json().error).toMatchObject({ code: 'UNPROCESSABLE', details: [{ path: 'tune' }] });
      expect((await t.app.inject({ url: '/v1/evaluations', headers: auth('admin') })).json().total).toBe(2);
    });

    it('When the split or ks are malformed, Then the request is refused with 400', async () => {
      const bad = [
        { split: { kind: 'temporal' } },
        { split: { kind: 'temporal', cutoff: 'last tuesday' } },
        { split: { kind: 'sideways' } },
        { split: { kind: 'validation' } },
        { split: { kind: 'leave-last-order' }, ks: [0] },
        { split: { kind: 'leave-last-order' }, ks: [101] },
        { split: { kind: 'leave-last-order' }, ks: [] },
        { split: { kind: 'leave-last-order' }, modes: ['sometimes'] },
        { split: { kind: 'leave-last-order' }, extra: true },
        { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { folds: 9 } },
        { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: 'please' },
        { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { keepRule: 'whole' } },
        { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { foldWeights: 'latest' } },
        {},
      ];
      for (const payload of bad) {
        const res = await evaluate(t, payload);
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
      }
      // A tune spec wrong inside names the field (its path) and the values it takes, not only "Invalid input".
      const rule = await evaluate(t, { split: { kind: 'temporal', cutoff: '2011-01-01' }, tune: { keepRule: 'whole' } });
      expect(rule.json().error.details).toEqual([{ path: 'body.tune.keepRule', message: expect.stringMatching(/"sum"\|"per-mode"/) }]);
    });

    it('When the cutoff leaves nothing to test or to train on, Then 422 at split.cutoff names the data\'s first or last purchase, and no job is queued', async () => {
      const jobs = async () => (await t.services.jobs.list({ limit: 1000 })).length;
      const queued = await jobs();
      for (const [cutoff, message] of [
        ['2030-01-01', /no purchases at or after the cutoff 2030-01-01T00:00:00.000Z \(the last is at [\dT:.-]+Z\): nothing to test on/],
        ['1990-01-01', /no purchases before the cutoff 1990-01-01T00:00:00.000Z \(the first is at [\dT:.-]+Z\): nothing to train on/],
      ] as const) {
        const res = await evaluate(t, { split: { kind: 'temporal', cutoff } });
        expect(res.statusCode).toBe(422);
        expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message), details: [{ path: 'split.cutoff' }] });
      }
      // At the bounds: a cutoff at the first purchase leaves nothing before it, one just after the last nothing at or after it.
      const { firstPurchase, lastPurchase } = (await t.app.inject({ url: '/v1/overview', headers: auth('admin') })).json().counts;
      const justAfterLast = new Date(Date.parse(lastPurchase) + 1).toISOString();
      for (const cutoff of [firstPurchase, justAfterLast]) expect((await evaluate(t, { split: { kind: 'temporal', cutoff } })).statusCode, cutoff).toBe(422);
      expect(await jobs()).toBe(queued);
      // A cutoff at the last purchase tests on that purchase: accepted.
      const atLast = await evaluateToEnd(t, { split: { kind: 'temporal', cutoff: lastPurchase } });
      expect(atLast.error ?? '').not.toMatch(/no purchases/);
    });

    it("When a validation split's end leaves its test period outside the data, Then 422 at split.end in the temporal cutoff's words, and no job is queued", async () => {
      const jobs = async () => (await t.services.jobs.list({ limit: 1000 })).length;
      const queued = await jobs();
      const { firstPurchase, lastPurchase } = (await t.app.inject({ url: '/v1/overview', headers: auth('admin') })).json().counts;
      for (const [end, message] of [
        // After the last purchase by more than the period: the period [2029-12-02, 2030-01-01) holds none.
        ['2030-01-01', /no purchases at or after the test period's start 2029-12-02T00:00:00.000Z \(the end 2030-01-01T00:00:00.000Z less 30 days; the last is at [\dT:.-]+Z\): nothing to test on/],
        // Before the first purchase.
        ['1990-01-01', /no purchases before the test period's start 1989-12-02T00:00:00.000Z \(the end 1990-01-01T00:00:00.000Z less 30 days; the first is at [\dT:.-]+Z\): nothing to train on/],
      ] as const) {
        const res = await evaluate(t, { split: { kind: 'validation', days: 30, end } });
        expect(res.statusCode, end).toBe(422);
        expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message), details: [{ path: 'split.end' }] });
      }
      // At the bounds: an end at the first purchase, and one whose period starts just after the last purchase.
      const period = 30 * 86_400_000;
      const startsAfterLast = new Date(Date.parse(lastPurchase) + 1 + period).toISOString();
      for (const end of [firstPurchase, startsAfterLast]) expect((await evaluate(t, { split: { kind: 'validation', days: 30, end } })).statusCode, end).toBe(422);
      // Without an end (just after the last purchase), a period longer than the data reaches back past the first: 422 at split.days.
      const long = await evaluate(t, { split: { kind: 'validation', days: 365 } });
      expect(long.statusCode).toBe(422);
      expect(long.json().error).toMatchObject({ message: expect.stringMatching(/just after the last purchase less 365 days; the first is at .*nothing to train on/), details: [{ path: 'split.days' }] });
      expect(await jobs()).toBe(queued);
      // A period that starts at the last purchase tests on it: accepted, as is one inside the data.
      const atLast = await evaluateToEnd(t, { split: { kind: 'validation', days: 30, end: new Date(Date.parse(lastPurchase) + period).toISOString() } });
      expect(atLast.error ?? '').not.toMatch(/no purchases/);
      expect((await evaluateToEnd(t, { split: { kind: 'validation', days: 30, end: '2011-06-20' } })).status).toBe('succeeded');
    });

    it('When an evaluation is unknown or the key is not admin, Then 404 and 403', async () => {
      expect((await t.app.inject({ url: '/v1/evaluations/nope', headers: auth('admin') })).statusCode).toBe(404);
      expect((await t.app.inject({ url: '/v1/evaluations', headers: auth('write') })).statusCode).toBe(403);
      const post = await t.app.inject({ method: 'POST', url: '/v1/evaluations', headers: auth('write'), payload: { split: { kind: 'leave-last-order' } } });
      expect(post.statusCode).toBe(403);
    });

    it('When the active recipe is evaluated, Then /metrics shows every row as a gauge, also after a restart', async () => {
      // A model of the default recipe made active (the gauges show its recipe's latest report), with its written weights:
      // what tuning does is the last test's to assert, and on this fixture it cost 0.4-0.9 s CPU and 1-3.6 s a training.
      const train = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: false } });
      expect((await finishedJob(t, `/v1/training-jobs/${train.json().jobId}`)).status).toBe('succeeded');
      const job = await evaluateToEnd(t, { split: { kind: 'temporal', cutoff: CUTOFF }, modes: ['novel', 'all'], ks: [2] });
      expect(job.status).toBe('succeeded');

      const expected = new Map<string, number>();
      for (const row of job.report.rows) {
        for (const [metric, value] of Object.entries(row.metrics as Record<string, number | null>)) {
          if (value !== null) expected.set(`strategy="${row.strategy}",metric="${metric}",k="2",mode="${row.mode}"`, value);
        }
      }
      const gauges = samples((await t.app.inject({ url: '/metrics' })).body, 'recsvc_evaluation_metric_ratio');
      expect(gauges.size).toBe(expected.size);
      for (const [labels, value] of expected) expect(gauges.get(labels), labels).toBeCloseTo(value, 6);

      // A fresh process on the same database and model store shows the same gauges from the stored report.
      const services = createServices({ config: t.config, db: t.services.db, store: t.services.store });
      const restarted = await buildApp({ ...services, jobRunner: null });
      try {
        const again = samples((await restarted.inject({ url: '/metrics' })).body, 'recsvc_evaluation_metric_ratio');
        expect(again).toEqual(gauges);
      } finally {
        await restarted.close();
      }
    });

    it('When an evaluation names a baseline, Then the job keeps it and every lift is against it, with its interval in the response', async () => {
      const job = await evaluateToEnd(t, { split: { kind: 'temporal', cutoff: CUTOFF }, ks: [5], strategies: [], baseline: 'item-knn' });
      expect(job.status).toBe('succeeded');
      expect(job.params.baseline).toBe('item-knn');
      expect(job.report.baseline).toBe('item-knn');
      // item-knn was not asked for as a strategy, but the baseline is always scored.
      expect(job.report.strategies).toEqual(['default', 'popularity', 'item-knn']);
      const knn = job.report.rows.find((r: { strategy: string }) => r.strategy === 'item-knn');
      expect(knn.lift.ndcg === 0 || knn.lift.ndcg === null).toBe(true);
      // The response keeps the intervals: with 8 novel test customers, fewer than 10 can have a hit, so each is null.
      for (const r of job.report.rows) expect(r.liftInterval).toEqual({ precision: null, recall: null, ndcg: null, map: null, hitRate: null });
    });

    it('When the baseline is a recipe, Then its file name or the name it gives itself both mean it', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'recipes-'));
      const raw = JSON.parse(await readFile('models/default.json', 'utf8'));
      await writeFile(join(dir, 'shop.json'), JSON.stringify({ ...raw, name: 'shop-v2', tune: undefined }));
      await writeFile(join(dir, 'plain.json'), JSON.stringify({ ...raw, name: 'plain', tune: undefined }));
      const service = createEvaluationService({ ...t.services, defaultRecipe: 'plain', recipesDir: dir, isolation: 'inline' });
      const split = { kind: 'temporal' as const, cutoff: CUTOFF };
      for (const baseline of ['shop', 'shop-v2']) {
        const params = await service.prepare({ recipes: ['plain', 'shop'], strategies: [], split, ks: [5], baseline });
        const job = await t.services.jobs.enqueue('evaluate', params as unknown as Record<string, unknown>);
        const controller = new AbortController();
        await service.handler(params as unknown as Record<string, unknown>, { job, signal: controller.signal, progress: async () => {}, note: async () => {} });
        const report = (await t.services.reports.get(job.id))!.report;
        // Rows carry the name the recipe gives itself.
        expect(report.baseline).toBe('shop-v2');
        expect(report.rows.find((r) => r.strategy === 'shop-v2')!.lift.ndcg).toBe(0);
      }
      await expect(service.prepare({ recipes: ['plain', 'shop'], split, baseline: 'nope' })).rejects.toMatchObject({ details: [{ path: 'baseline' }] });
    });

    it('When an evaluation asks to tune, Then the job keeps the tune spec and the report says what tuning did per recipe', async () => {
      const job = await evaluateToEnd(t, { split: { kind: 'temporal', cutoff: CUTOFF }, ks: [3], tune: { folds: 1, days: 60, variants: false } });
      expect(job.status).toBe('succeeded');
      expect(job.params.tune).toEqual({ folds: 1, days: 60, minCoverage: 0.3, maxCoverageCost: 0.1, variants: false, maxCustomers: 5_000 });
      // The fixture's 12 customers are few: tuning either ran on the window before the cutoff or says why not.
      const tuning = job.report.tuning.default;
      if ('skipped' in tuning) expect(tuning.skipped).toMatch(/validation window 1 of 1 has \d+ customers/);
      else expect(tuning.folds).toEqual([{ start: new Date(Date.parse(CUTOFF) - 60 * 86_400_000).toISOString(), end: CUTOFF }]);
    });
  });
}
