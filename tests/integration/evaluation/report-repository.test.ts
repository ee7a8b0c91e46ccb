import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReportRepository, type NewReport, type ReportRepository } from '../../../src/data/report-repository.js';
import type { EvaluationReport } from '../../../src/evaluation/evaluation-report.js';
import { ONE_DB_BACKEND, type TestDb } from '../../helpers/services.js';

/** A report body with just enough to tell reports apart; the repository stores it as given. */
function body(strategies: string[]): EvaluationReport {
  return {
    split: { kind: 'leave-last-order', cutoff: null, testEnd: null, trainUsers: 3, trainItems: 4, trainEvents: 9, testUsers: { novel: 2 } },
    modes: ['novel'],
    ks: [10],
    strategies,
    baseline: 'popularity',
    rows: [],
    breakdowns: [],
  };
}

function report(id: string, recipes: string[]): NewReport {
  const strategies = [...recipes, 'popularity'];
  return {
    id,
    recipes,
    request: { recipes, split: { kind: 'leave-last-order' }, modes: ['novel'], ks: [10] },
    headline: { mode: 'novel', k: 10, ndcg: Object.fromEntries(strategies.map((s, i) => [s, i / 10])) },
    report: body(strategies),
    durationMs: 1234,
  };
}

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`report repository on ${backend.name}`, () => {
    let testDb: TestDb;
    let reports: ReportRepository;
    beforeAll(async () => {
      testDb = await backend.create();
      reports = createReportRepository(testDb.db);
    });
    afterAll(() => testDb.dispose());

    it('When reports are stored, Then they read back whole, list newest first with a total, and the newest per recipe is found', async () => {
      // Key order matters to readers (strategies as run): "zeta" before "alpha" must survive storage.
      const first = await reports.insert(report('r1', ['zeta', 'alpha']));
      await new Promise((r) => setTimeout(r, 5));
      await reports.insert(report('r2', ['alpha']));
      expect(first).toMatchObject({ id: 'r1', recipes: ['zeta', 'alpha'], durationMs: 1234 });

      const got = await reports.get('r1');
      expect(got?.report).toEqual(body(['zeta', 'alpha', 'popularity']));
      expect(Object.keys(got!.headline.ndcg)).toEqual(['zeta', 'alpha', 'popularity']);
      expect(await reports.get('missing')).toBeNull();

      const page = await reports.list({ limit: 1, offset: 0 });
      expect(page.total).toBe(2);
      expect(page.reports.map((r) => r.id)).toEqual(['r2']);
      expect(page.reports[0]).not.toHaveProperty('report');
      expect((await reports.list({ limit: 10, offset: 1 })).reports.map((r) => r.id)).toEqual(['r1']);

      expect((await reports.latestForRecipe('alpha'))?.id).toBe('r2');
      expect((await reports.latestForRecipe('zeta'))?.id).toBe('r1');
      expect(await reports.latestForRecipe('other')).toBeNull();
    });

    it('When a report records the names its recipes give themselves, Then the newest per recipe is found by those (older reports, without them, by file name)', async () => {
      // Stored before recipe names were recorded: found by its file name, as it always was.
      await reports.insert(report('n1', ['shop']));
      expect(await reports.get('n1')).toMatchObject({ recipes: ['shop'], recipeNames: null });
      expect((await reports.latestForRecipe('shop'))?.id).toBe('n1');
      await new Promise((r) => setTimeout(r, 5));
      // shop.json says "name": "shop-v2": its model records shop-v2, its rows say shop-v2.
      const named = await reports.insert({ ...report('n2', ['shop']), recipeNames: ['shop-v2'] });
      expect(named.recipeNames).toEqual(['shop-v2']);
      expect((await reports.latestForRecipe('shop-v2'))?.id).toBe('n2');
      // A model that says "shop" is of another recipe file than the one that now says shop-v2: not n2.
      expect((await reports.latestForRecipe('shop'))?.id).toBe('n1');
    });

    it('When a report is stored again under the same id, Then it replaces the first', async () => {
      await reports.insert(report('r3', ['beta']));
      await reports.insert({ ...report('r3', ['beta']), durationMs: 99 });
      expect((await reports.get('r3'))?.durationMs).toBe(99);
      expect((await reports.list({ limit: 100, offset: 0 })).reports.filter((r) => r.id === 'r3')).toHaveLength(1);
    });

    it('When a report is stored again under the same id, Then it keeps its first created_at and its place, so a page after it reads on as before', async () => {
      const first = await reports.insert(report('e1', ['gamma']));
      await new Promise((r) => setTimeout(r, 5));
      const second = await reports.insert(report('e2', ['gamma']));
      await new Promise((r) => setTimeout(r, 5));
      await reports.insert(report('e3', ['gamma']));
      expect((await reports.list({ limit: 1, offset: 0, after: 'e2' })).reports.map((r) => r.id)).toEqual(['e1']);
      // A retried job writes its report again (a Postgres failover between the write and the job's end).
      await new Promise((r) => setTimeout(r, 5));
      const again = await reports.insert({ ...report('e2', ['gamma']), durationMs: 77 });
      expect(again).toMatchObject({ id: 'e2', durationMs: 77, createdAt: second.createdAt });
      expect((await reports.get('e2'))?.createdAt).toBe(second.createdAt);
      // Newest first as stored first: a client holding `after=e2` goes on with e1, not back to e3.
      expect((await reports.list({ limit: 3, offset: 0 })).reports.map((r) => r.id)).toEqual(['e3', 'e2', 'e1']);
      expect((await reports.list({ limit: 1, offset: 0, after: 'e2' })).reports.map((r) => r.id)).toEqual(['e1']);
      expect((await reports.get('e1'))?.createdAt).toBe(first.createdAt);
    });
  });
}
