import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { StoredReport } from '../../../src/data/report-repository.js';
import { createEvaluationGauges } from '../../../src/evaluation/evaluation-gauges.js';
import type { ModelMeta } from '../../../src/store/model-store.js';

const report = (id: string, recipe: string, ndcg: number): StoredReport =>
  ({
    id,
    recipes: [recipe],
    createdAt: '2011-12-01T00:00:00Z',
    report: { rows: [{ strategy: recipe, mode: 'novel', k: 10, users: 10, metrics: { ndcg }, lift: {} }] },
  }) as unknown as StoredReport;

describe('evaluation gauges', () => {
  // recsvc_evaluation_metric_ratio is "the latest offline evaluation of the active recipe". A scrape right
  // after a rollback to a version of another recipe showed recsvc_model_active_info{recipe="robust"} beside
  // the evaluation gauges of "default" (for up to 30 s: the refresh was cached whatever changed).
  it('When the active version changes to another recipe (a rollback), Then the next scrape shows that recipe\'s latest evaluation', async () => {
    const gauge = new Gauge({ name: 'test_eval', help: 'x', labelNames: ['strategy', 'metric', 'k', 'mode'] as const, registers: [new Registry()] });
    let active: ModelMeta = { version: 'v2', recipe: 'default', trainedAt: '2011-12-01T00:00:00Z', info: {} };
    const reports: Record<string, StoredReport> = { default: report('r1', 'default', 0.1), robust: report('r2', 'robust', 0.2) };
    const gauges = createEvaluationGauges({ reports: { latestForRecipe: async (r) => reports[r] ?? null }, store: { getActive: async () => active }, gauge });
    await gauges.refresh();
    expect((await gauge.get()).values.map((v) => v.labels.strategy)).toEqual(['default']);
    // The operator rolls back to v1, trained from the robust recipe; the model gauges say so at the next scrape.
    active = { version: 'v1', recipe: 'robust', trainedAt: '2011-11-01T00:00:00Z', info: {} };
    await gauges.refresh();
    expect((await gauge.get()).values.map((v) => v.labels.strategy)).toEqual(['robust']);
    // Within the cache and the same recipe, Postgres is not asked again.
    reports.robust = report('r3', 'robust', 0.3);
    await gauges.refresh();
    expect((await gauge.get()).values.map((v) => v.value)).toEqual([0.2]);
  });

  // Before, every scrape while Redis or Postgres was down logged the failure with its stack.
  it('When refreshes fail scrape after scrape, Then the failure is logged once, and the recovery once', async () => {
    const gauge = new Gauge({ name: 'test_eval_down', help: 'x', labelNames: ['strategy', 'metric', 'k', 'mode'] as const, registers: [new Registry()] });
    let down = true;
    const logged: string[] = [];
    const gauges = createEvaluationGauges({
      reports: { latestForRecipe: async () => report('r1', 'default', 0.1) },
      store: {
        getActive: async () => {
          if (down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
          return { version: 'v1', recipe: 'default', trainedAt: '2011-12-01T00:00:00Z', info: {} };
        },
      },
      gauge,
      log: (msg) => void logged.push(msg),
    });
    for (let scrape = 0; scrape < 5; scrape++) await gauges.refresh();
    expect(logged).toEqual(['could not refresh the evaluation gauges (said once until a refresh succeeds)']);
    down = false;
    await gauges.refresh();
    await gauges.refresh();
    expect(logged).toHaveLength(2);
    expect(logged[1]).toBe('the evaluation gauges are refreshed again');
  });
});
