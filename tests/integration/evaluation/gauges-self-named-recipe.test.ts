import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationService } from '../../../src/evaluation/evaluation-service.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { CUTOFF, twoShopsAroundCutoff } from './evaluation-fixture.js';

/**
 * README: `recsvc_evaluation_metric_ratio` shows "the latest stored evaluation of the active model's recipe".
 * A recipe file may give itself another name than its file's (README, evaluations' `baseline`); the active
 * model records the name the recipe gives itself, the stored report the file names it was asked by.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('evaluation gauges of a recipe whose name differs from its file name', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    const purchases = twoShopsAroundCutoff();
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: purchases } });
    expect(res.json()).toMatchObject({ inserted: purchases.length });
    dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    const raw = JSON.parse(await readFile('models/default.json', 'utf8'));
    await writeFile(join(dir, 'shop.json'), JSON.stringify({ ...raw, name: 'shop-v2', tune: undefined }));
  });
  afterAll(() => t.dispose());

  it('When the active model was trained from shop.json (name "shop-v2") and shop is evaluated, Then /metrics shows the report as evaluation gauges', async () => {
    const trainer = createTrainer({ events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'shop', recipesDir: dir, isolation: 'inline', threads: 1 });
    const trained = await trainer.train({ recipe: 'shop' });
    expect(trained.recipe).toBe('shop-v2');
    expect((await t.services.store.getActive())?.recipe).toBe('shop-v2');

    const service = createEvaluationService({ ...t.services, gauges: t.services.evaluationGauges, defaultRecipe: 'shop', recipesDir: dir, isolation: 'inline' });
    const params = await service.prepare({ recipes: ['shop'], strategies: [], split: { kind: 'temporal', cutoff: CUTOFF }, ks: [2] });
    const job = await t.services.jobs.enqueue('evaluate', params as unknown as Record<string, unknown>);
    await service.handler(params as unknown as Record<string, unknown>, { job, signal: new AbortController().signal, progress: async () => {}, note: async () => {} });
    const report = (await t.services.reports.get(job.id))!.report;
    expect(report.rows.map((r) => r.strategy)).toContain('shop-v2');

    await t.services.evaluationGauges.refresh(true);
    const page = (await t.app.inject({ url: '/metrics' })).body;
    const series = page.split('\n').filter((l) => l.startsWith('recsvc_evaluation_metric_ratio{'));
    // The active recipe's stored evaluation: one series per row and metric with a value, among them the hybrid's NDCG@2.
    expect(series.some((l) => l.includes('strategy="shop-v2"') && l.includes('metric="ndcg"'))).toBe(true);
  });
});
