import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { seedGroupedShop } from '../../helpers/grouped-shop.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * A grouped shop (the unit test's: styles bought by every customer of a taste, each variant by one customer):
 * trained through the API with tuning, the chosen perGroup shows in GET /v1/models and the model serves.
 */
describe('a tuned per-group ALS/EASE served end to end', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPgliteTestDb, env: { DATA_DIR: mkdtempSync(path.join(tmpdir(), 'tuned-per-group-')) } });
    await seedGroupedShop(t);
  });
  afterAll(() => t?.dispose());

  it('When tuning chooses per group, Then /v1/models shows it and recommendations answer from it', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/training-jobs', headers: auth('admin'), payload: { tune: { folds: 3, days: 30, minCoverage: 0 } } });
    expect(res.statusCode, res.body).toBe(202);
    const job = await finishedJob(t, `/v1/training-jobs/${res.json().jobId}`, 300_000);
    expect(job.status, JSON.stringify(job.error)).toBe('succeeded');
    const models = (await t.app.inject({ url: '/v1/models', headers: auth('admin') })).json();
    const active = models.versions.find((v: { active: boolean }) => v.active);
    const chosen = job.result.tuning.params as Record<string, { perGroup?: boolean }>;
    for (const name of ['ease', 'als']) {
      expect(active.info.recipe.sources[name].params.perGroup).toBe(chosen[name]?.perGroup);
    }
    expect([chosen.ease?.perGroup, chosen.als?.perGroup]).toContain(true);
    await t.services.serving.refresh();
    for (const userId of ['u0', 'u1']) {
      const rec = await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=5`, headers: auth('read') });
      expect(rec.statusCode, rec.body).toBe(200);
      // A personal list of the tuned model.
      expect(rec.json()).toMatchObject({ modelVersion: job.result.version, strategy: 'hybrid', fallback: false });
      // Every item comes from a source the served recipe weighs (tuning may serve new items by one source alone).
      const hybrid = active.info.recipe.hybrid as { weights: Record<string, Record<string, number>>; repeatWeights?: Record<string, Record<string, number>> };
      const weighed = new Set([...Object.values(hybrid.weights), ...Object.values(hybrid.repeatWeights ?? {})].flatMap((w) => Object.keys(w)));
      const sources = (rec.json().items as { sources: string[] }[]).flatMap((i) => i.sources);
      expect(sources.length).toBeGreaterThan(0);
      for (const s of sources) expect(weighed, s).toContain(s);
    }
    // ALS learnt per group answers its own list (a style's variants, not the product's).
    if (chosen.als?.perGroup) {
      const sim = await t.app.inject({ url: '/v1/items/a0-u0/similar?strategy=als&k=5', headers: auth('read') });
      expect(sim.statusCode, sim.body).toBe(200);
      expect(sim.json()).toMatchObject({ modelVersion: job.result.version, strategy: 'als', fallback: false });
      expect(sim.json().items.length).toBeGreaterThan(0);
    }
  }, 600_000);
});
