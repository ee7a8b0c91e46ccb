import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ItemInput, UserInput } from '../../../src/data/catalog-repository.js';
import type { PurchaseInput } from '../../../src/data/event-repository.js';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { buildServingModel } from '../../../src/serving/serving-model-builder.js';
import type { Services } from '../../../src/services.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { writeModelVersion } from '../../../src/training/write-model-version.js';

export const DAY = 86_400_000;
export const T0 = Date.UTC(2024, 0, 1);

const GARDEN_TOOLS = ['spade', 'rake', 'hoe', 'fork', 'trowel'];
const POT_COLOURS = ['red', 'blue', 'green', 'white', 'black'];
const GLASS = ['tumbler', 'jug', 'bowl', 'vase', 'decanter'];
const KNIVES = ['paring', 'bread', 'chef', 'carving', 'utility'];

/**
 * A small shop in two halves that share no buyer: garden (g0-g9: five tools at 4-8, five pots at 12-16,
 * UK buyers) and kitchen (k0-k9: five glass items at 60-64, five knives at 30-34, FR buyers). Twelve
 * buyers per half; buyer j buys items j, j+1 (mod 10) on day 10 + j and j+2, j+3 on day 40 + j, and odd
 * garden buyers also buy `g-gone` (available: false) in their first order. `k-new` is never bought.
 */
export function shopData(): { items: ItemInput[]; users: UserInput[]; purchases: PurchaseInput[] } {
  const items: ItemInput[] = [];
  for (let n = 0; n < 10; n++) {
    items.push(
      n < 5
        ? { id: `g${n}`, title: `wooden garden ${GARDEN_TOOLS[n]}`, categories: ['garden', 'tools'], price: 4 + n }
        : { id: `g${n}`, title: `ceramic flower pot ${POT_COLOURS[n - 5]}`, categories: ['garden', 'pots'], price: 7 + n },
      n < 5
        ? { id: `k${n}`, title: `glass kitchen ${GLASS[n]}`, categories: ['kitchen', 'glass'], price: 60 + n }
        : { id: `k${n}`, title: `steel kitchen knife ${KNIVES[n - 5]}`, categories: ['kitchen', 'knives'], price: 25 + n },
    );
  }
  items.push({ id: 'g-gone', title: 'wooden garden shovel', categories: ['garden', 'tools'], price: 5, available: false });
  items.push({ id: 'k-new', title: 'glass kitchen carafe', categories: ['kitchen', 'glass'], price: 61 });

  const users: UserInput[] = [];
  const purchases: PurchaseInput[] = [];
  for (const [g, country] of [['g', 'UK'], ['k', 'FR']] as const) {
    for (let j = 0; j < 12; j++) {
      const userId = `${g}-user${j}`;
      users.push({ id: userId, attributes: { country } });
      const buy = (order: number, day: number, itemId: string) =>
        purchases.push({ userId, itemId, quantity: 1, price: null, orderId: `${userId}-o${order}`, ts: new Date(T0 + day * DAY + j * 3_600_000) });
      buy(1, 10 + j, `${g}${j % 10}`);
      buy(1, 10 + j, `${g}${(j + 1) % 10}`);
      if (g === 'g' && j % 2 === 1) buy(1, 10 + j, 'g-gone');
      buy(2, 40 + j, `${g}${(j + 2) % 10}`);
      buy(2, 40 + j, `${g}${(j + 3) % 10}`);
    }
  }
  return { items, users, purchases };
}

/** Every source with small-fixture parameters (segments from 5 buyers, pairs from 2 orders). */
export const SHOP_RECIPE = {
  name: 'serving-test',
  sources: {
    popularity: { params: { halfLifeDays: null, attributes: ['country'], minSegmentBuyers: 5 } },
    'buy-again': { params: {} },
    // Weighted nowhere in the blend: served as a strategy of its own only.
    repurchase: { params: {} },
    content: { params: {} },
    'item-knn': { params: { shrink: 0 } },
    als: { params: { factors: 4, iterations: 5 } },
    cooccurrence: { params: { minSupport: 2 } },
  },
  hybrid: {
    weights: {
      cold: { popularity: 0.5, content: 0.5, 'item-knn': 0.5 },
      warm: { 'item-knn': 1, cooccurrence: 0.5, content: 0.3, als: 0.3, popularity: 0.1, 'buy-again': 0.2 },
    },
    fullHistoryOrders: 10,
    normalisation: 'max',
  },
  candidates: { perUser: 50 },
};

/** Stores the shop in the database directly (no live events: this is the training history). */
export async function seedShop(services: Services): Promise<void> {
  const { items, users, purchases } = shopData();
  await services.catalog.upsertItems(items);
  await services.catalog.upsertUsers(users);
  await services.events.insertPurchases(purchases);
}

/**
 * Stores the shop and trains SHOP_RECIPE with the real trainer on this thread (its profiles artifact and audience
 * postings; no fitted recommenders stored), then serves it.
 */
export async function seedAndTrainShop(services: Services): Promise<void> {
  const recipesDir = await mkdtemp(join(tmpdir(), 'shop-recipes-'));
  try {
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    await seedShop(services);
    await createTrainer({
      events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: false, erasures: services.erasure,
    }).train();
    await services.serving.refresh();
  } finally {
    await rm(recipesDir, { recursive: true, force: true });
  }
}

/** Stores the shop and publishes a model trained on it (trainAndPublish, SHOP_RECIPE); returns its version. */
export async function seedAndPublishShop(services: Services): Promise<string> {
  await seedShop(services);
  return trainAndPublish(services);
}

/**
 * Trains on what the database holds, as training does (dataset -> fitRecipe -> buildServingModel ->
 * write under a new version -> publish with the recipe in its info), and makes serving pick the new
 * version up at once.
 */
export async function trainAndPublish(services: Services, version = `v-${Date.now()}`, recipeJson: object = SHOP_RECIPE): Promise<string> {
  // Taken before the catalogue is read, as training does (the catalog overlay's first pass reads what it could not see).
  const catalogSnapshot = await services.catalog.snapshot();
  const [events, items, users] = await Promise.all([
    services.events.loadPurchaseRows(),
    services.catalog.listItems(),
    services.catalog.listUsersWithAttributes(),
  ]);
  const ds = buildDataset({ events, items, users });
  const recipe = parseRecipe(recipeJson, 'serving-test');
  const fitted = await fitRecipe(ds, recipe);
  // Without the fitted recommenders beside it (as versions trained before they were kept), so the
  // version stores its single-strategy lists: serving could not score them on request.
  const build = buildServingModel({ ds, fitted, recipe, storeStrategyLists: true });
  await writeModelVersion(services.store, version, build);
  // The recipe in the version's info, as a training publishes it: serving reads each source's family there.
  await services.store.publish({ version, recipe: recipe.name, trainedAt: new Date().toISOString(), info: { recipe, serving: build.info, catalogSnapshot } });
  await services.serving.refresh();
  return version;
}
