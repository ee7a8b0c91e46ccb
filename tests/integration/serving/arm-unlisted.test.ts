/**
 * An arm whose strategy's list cannot be scored (the version's recommenders not loadable: evicted, or not loaded
 * in time) is answered by popularity: labelled popularity and untagged, so neither the arm's results nor its
 * strategy's rates count it (an audit found both did, through the signed recommendationId).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, SHOP_RECIPE } from './shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('arm lists that cannot be scored', () => {
  let t: TestApp;
  beforeAll(async () => {
    const memory = await createMemoryModelStore({});
    // The store lost the version's fitted hybrid (an evicted key): the on-request scorer cannot be loaded.
    const store = Object.assign(Object.create(memory) as ModelStore, {
      getArtifact: (version: string, name: string) => (name === 'recommender:hybrid' ? Promise.resolve(null) : memory.getArtifact(version, name)),
    });
    t = await createTestApp({ createDb: createPostgresTestDb, store });
    await seedShop(t.services);
    const s = t.services;
    const [events, items, users] = await Promise.all([s.events.loadPurchaseRows(), s.catalog.listItems(), s.catalog.listUsersWithAttributes()]);
    const ds = buildDataset({ events, items, users });
    const recipe = parseRecipe(SHOP_RECIPE, 'serving-test');
    const fitted = await fitRecipe(ds, recipe);
    // Single-strategy lists scored on request (the default), the recommenders kept beside the version.
    const build = buildServingModel({ ds, fitted, recipe });
    await writeModelVersion(s.store, 'v-onreq', build);
    for (const [name, r] of fitted.sources) await s.store.putArtifact('v-onreq', `recommender:${name}`, r.toArtifact());
    await s.store.putArtifact('v-onreq', 'recommender:hybrid', fitted.hybrid.toArtifact());
    await s.store.publish({ version: 'v-onreq', recipe: recipe.name, trainedAt: new Date().toISOString(), info: { serving: build.info } });
    await s.serving.refresh();
    const res = await t.app.inject({
      method: 'POST', url: '/v1/experiments', headers: auth('admin'),
      payload: { id: 'knn-test', arms: [{ name: 'control', strategy: 'hybrid', share: 0.5 }, { name: 'knn', strategy: 'item-knn', share: 0.5 }] },
    });
    expect(res.statusCode, res.body).toBe(201);
  }, 60_000);
  afterAll(() => t?.dispose());

  it("When a customer of the item-knn arm gets popularity because item-knn could not be scored, Then it is labelled popularity and is no arm's", async () => {
    let checked = 0;
    for (let j = 0; j < 12; j++) {
      const userId = `g-user${j}`;
      const list = (await t.app.inject({ url: `/v1/users/${userId}/recommendations?k=3`, headers: auth('read') })).json();
      // Assigned to the knn arm: its list is popularity standing in.
      if (list.strategy === 'hybrid') continue;
      checked++;
      expect(list.items.every((i: { sources: string[] }) => i.sources[0] === 'popularity')).toBe(true);
      expect(list).toMatchObject({ strategy: 'popularity', fallback: true });
      expect(list).not.toHaveProperty('experiment');
      expect(t.services.recommendationIds.verify(list.recommendationId)).toMatchObject({ strategy: 'popularity' });
      expect(t.services.recommendationIds.verify(list.recommendationId)?.experiment).toBeUndefined();
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('When a campaign export asks for item-knn lists that cannot be scored, Then they are labelled popularity too', async () => {
    const r = await t.services.serving.recommendForExport('g-user0', { k: 3, strategy: 'item-knn' });
    expect(r).toMatchObject({ strategy: 'popularity', fallback: true });
    expect(t.services.recommendationIds.verify(r.recommendationId)).toMatchObject({ strategy: 'popularity' });
  });
});
