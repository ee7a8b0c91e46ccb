import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { DAY, seedShop, SHOP_RECIPE, T0 } from '../serving/shop-fixture.js';

const postgres = DB_BACKENDS[0];
const BUYERS = ['g', 'k'].flatMap((g) => [...Array(12).keys()].map((j) => `${g}-user${j}`));
const ZERO = { view: 0, add_to_cart: 0, rating: 0 };

/**
 * The serving shop (garden and kitchen halves that share no buyer), then views stored through the API:
 * garden buyers 0-5 each view the garden spade g0 and the never-bought kitchen carafe k-new minutes
 * apart, cart k-new and rate it; a visitor who never buys views g0 and k-new too.
 */
function views(): object[] {
  const at = (j: number, min: number) => new Date(T0 + 45 * DAY + j * 3_600_000 + min * 60_000).toISOString();
  return [
    ...[0, 1, 2, 3, 4, 5].flatMap((j) => [
      { type: 'view', userId: `g-user${j}`, itemId: 'g0', ts: at(j, 0) },
      { type: 'view', userId: `g-user${j}`, itemId: 'k-new', ts: at(j, 3) },
      { type: 'add_to_cart', userId: `g-user${j}`, itemId: 'k-new', ts: at(j, 4) },
      { type: 'rating', userId: `g-user${j}`, itemId: 'k-new', value: 4, ts: at(j, 5) },
    ]),
    { type: 'view', userId: 'visitor', itemId: 'g0', ts: at(20, 0) },
    { type: 'view', userId: 'visitor', itemId: 'k-new', ts: at(20, 1) },
  ];
}

describe.skipIf(!(await postgres.available()))('training with views, carts and ratings (recipe eventWeights)', () => {
  let t: TestApp;
  let dir: string;
  const versions: Record<string, string> = {};
  const train = (recipe: string) =>
    createTrainer({ events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: recipe, recipesDir: dir, threads: 1 })
      .train()
      .then((r) => r.version);
  /** Every recommender artifact of a version, decoded, without its trainedAt stamp. */
  const recommenders = async (version: string) => {
    const out: Record<string, unknown> = {};
    for (const name of Object.keys(SHOP_RECIPE.sources)) {
      const { header, arrays } = decodeArtifact((await t.services.store.getArtifact(version, `recommender:${name}`))!);
      out[name] = { params: header.params, meta: header.meta, arrays };
    }
    return out;
  };
  const serve = async (version: string, url: string) => {
    expect((await t.app.inject({ method: 'POST', url: `/v1/models/${version}/activate`, headers: auth('admin') })).statusCode).toBe(200);
    await t.services.serving.refresh();
    const res = await t.app.inject({ url, headers: auth('read') });
    expect(res.statusCode).toBe(200);
    return res.json().items as { itemId: string; score: number; sources: string[] }[];
  };

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    await seedShop(t.services);
    // The visitor is a user before the baseline: a new user row is new data of its own (ALS gives every
    // user a factor row), which is not what this suite compares.
    expect((await t.app.inject({ method: 'PUT', url: '/v1/users/visitor', headers: auth('write'), payload: { attributes: {} } })).statusCode).toBe(200);
    dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(dir, 'purchases.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'purchases', eventWeights: ZERO }));
    await writeFile(join(dir, 'views.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'views', eventWeights: { view: 0.5, add_to_cart: 0.5, rating: 0.5 } }));
    // Trained in a worker thread (the default), so the weighted signals cross to it as the dataset does.
    versions.before = await train('purchases');
    const res = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: views() } });
    expect(res.json()).toEqual({ accepted: 26, inserted: 26, duplicates: 0, erased: 0 });
    versions.zero = await train('purchases');
    versions.views = await train('views');
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('When the recipe weighs views, carts and ratings 0, Then every recommender is exactly the one trained before the views existed', async () => {
    expect(await recommenders(versions.zero)).toEqual(await recommenders(versions.before));
  });

  it('When the recipe weighs views 0, Then every buyer gets the same recommendations as from the purchase-only model', async () => {
    for (const user of BUYERS) {
      const url = `/v1/users/${user}/recommendations?k=10`;
      expect(await serve(versions.zero, url), user).toEqual(await serve(versions.before, url));
    }
  });

  it('When views weigh > 0, Then the co-viewed carafe becomes a neighbour of the spade, which no purchase links', async () => {
    // Only the items item-kNN itself lists (a short list is padded with popular items).
    const similar = (version: string) =>
      serve(version, '/v1/items/g0/similar?strategy=item-knn&k=20').then((items) => items.filter((i) => i.sources.includes('item-knn')).map((i) => i.itemId));
    expect(await similar(versions.zero)).not.toContain('k-new');
    expect(await similar(versions.views)).toContain('k-new');
    const together = await serve(versions.views, '/v1/items/g0/bought-together?k=20');
    expect(together.map((i) => i.itemId)).toContain('k-new');
  });

  it('When views weigh > 0, Then buy-again is still the purchase-only model and profiles count purchases only', async () => {
    const [views, before] = [await recommenders(versions.views), await recommenders(versions.before)];
    expect(views['buy-again']).toEqual(before['buy-again']);
    expect(views.popularity).toEqual(before.popularity);
    const profile = async (version: string, user: string) => {
      await serve(version, '/v1/popular?k=1');
      return t.app.inject({ url: `/v1/users/${user}/profile`, headers: auth('admin') });
    };
    const [a, b] = [await profile(versions.views, 'g-user0'), await profile(versions.before, 'g-user0')];
    expect(a.statusCode).toBe(200);
    expect({ ...a.json(), modelVersion: null }).toEqual({ ...b.json(), modelVersion: null });
    // The visitor only viewed: no profile, and no purchase listed.
    expect((await profile(versions.views, 'visitor')).statusCode).toBe(404);
    const events = await t.app.inject({ url: '/v1/users/g-user0/events', headers: auth('read') });
    expect(events.json().events.map((e: { itemId: string }) => e.itemId)).not.toContain('k-new');
  });

  it('When a visitor with stored views asks for session recommendations, Then the neighbours of what they viewed lead the list', async () => {
    expect((await t.app.inject({ method: 'POST', url: `/v1/models/${versions.views}/activate`, headers: auth('admin') })).statusCode).toBe(200);
    await t.services.serving.refresh();
    const ask = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload }).then((r) => r.json());
    const byViews = await ask({ userId: 'visitor', k: 5 });
    expect(byViews.strategy).toBe('context');
    expect(byViews.fallback).toBe(false);
    const sent = await ask({ viewed: ['g0', 'k-new'], k: 5 });
    expect(sent.items).toEqual(byViews.items);
    // Without views, cart or attributes there is nothing to go on but popularity.
    expect((await ask({ k: 5 })).strategy).toBe('popularity');
  });
});
