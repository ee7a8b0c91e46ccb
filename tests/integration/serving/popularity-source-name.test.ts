import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop } from './shop-fixture.js';

/**
 * A recipe names its sources freely and says each one's family (`recommender`), as the default recipe's
 * `trend` is a popularity source. A popularity-family source is not personal: its items are explained as
 * popular (README: "Popularity says `popular in France` / `popular overall`"), whatever the recipe calls it,
 * never with a personal phrase such as "customers with purchases like yours bought this".
 */
const RECIPE = {
  name: 'named-popularity',
  sources: {
    bestsellers: { recommender: 'popularity', params: { halfLifeDays: null, attributes: [] } },
    'item-knn': { params: { shrink: 0 } },
  },
  hybrid: { weights: { cold: { bestsellers: 1 }, warm: { bestsellers: 1, 'item-knn': 0.001 } }, normalisation: 'max' },
  candidates: { perUser: 20 },
};

/** Trains `recipeJson` on the shop and publishes it as a training does: the recipe (with each source's family) in the version's info. */
async function publish(t: TestApp, recipeJson: typeof RECIPE | typeof TREND_RECIPE): Promise<void> {
  const [events, items, users] = await Promise.all([t.services.events.loadPurchaseRows(), t.services.catalog.listItems(), t.services.catalog.listUsersWithAttributes()]);
  const ds = buildDataset({ events, items, users });
  const recipe = parseRecipe(recipeJson, recipeJson.name);
  const build = buildServingModel({ ds, fitted: await fitRecipe(ds, recipe), recipe, storeStrategyLists: true });
  const version = `v-${Date.now()}`;
  await writeModelVersion(t.services.store, version, build);
  await t.services.store.publish({ version, recipe: recipe.name, trainedAt: new Date().toISOString(), info: { recipe, serving: build.info } });
  await t.services.serving.refresh();
}

/**
 * A trend is popularity that forgets faster: `hot` beside the slower `bestsellers` is one, whatever its
 * name, and `bestsellers` (not named `popularity`) is the recipe's popularity: its country lists are the
 * segment lists of cold starts.
 */
const TREND_RECIPE = {
  name: 'named-trend',
  sources: {
    bestsellers: { recommender: 'popularity', params: { halfLifeDays: null, attributes: ['country'], minSegmentBuyers: 5 } },
    hot: { recommender: 'popularity', params: { halfLifeDays: 5, attributes: [] } },
    'item-knn': { params: { shrink: 0 } },
  },
  hybrid: { weights: { cold: { hot: 1 }, warm: { hot: 1, 'item-knn': 0.001 } }, normalisation: 'max' },
  candidates: { perUser: 20 },
};

/** The items of a list the service answers (200). */
async function listed(t: TestApp, url: string): Promise<{ itemId: string; sources: string[]; explanation?: string }[]> {
  const res = await t.app.inject({ url, headers: auth('read') });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { items: { itemId: string; sources: string[]; explanation?: string }[] }).items;
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a popularity source named by the recipe', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await seedShop(t.services);
    await publish(t, RECIPE);
  });
  afterAll(() => t?.dispose());

  it('When a customer\'s list is filled by it, Then its items are explained as popular, not as liked by customers like them', async () => {
    const items = await listed(t, '/v1/users/g-user0/recommendations?k=5');
    const popular = items.filter((i) => i.sources[0] === 'bestsellers');
    expect(popular.length).toBeGreaterThan(0);
    for (const i of popular) expect(i.explanation, i.itemId).toMatch(/^popular (in|overall|with)/);
  });
});

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a trend and a popularity source named by the recipe', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await seedShop(t.services);
    await t.services.catalog.upsertUsers([{ id: 'newcomer', attributes: { country: 'UK' } }]);
    await publish(t, TREND_RECIPE);
  });
  afterAll(() => t?.dispose());

  it('When a customer\'s list is filled by the faster-forgetting one, Then its items are trending now', async () => {
    const items = await listed(t, '/v1/users/g-user0/recommendations?k=5');
    const hot = items.filter((i) => i.sources[0] === 'hot');
    expect(hot.length).toBeGreaterThan(0);
    for (const i of hot) expect(i.explanation, i.itemId).toBe('trending now');
  });

  it('When a new customer in the UK asks, Then the cold start is the UK\'s list of the popularity source', async () => {
    const res = await t.app.inject({ url: '/v1/users/newcomer/recommendations?k=5', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const items = (res.json() as { items: { itemId: string; explanation?: string }[] }).items;
    expect(items.length).toBe(5);
    // The UK's customers bought only garden items.
    for (const i of items) expect(i.itemId, i.explanation).toMatch(/^g\d$/);
    expect(items.map((i) => i.explanation)).toContain('popular in UK');
  });
});
