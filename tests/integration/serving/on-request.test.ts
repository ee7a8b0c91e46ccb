import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop, SHOP_RECIPE } from './shop-fixture.js';

const postgres = DB_BACKENDS[0];

// The shop's buyer j last buys on day 40 + j (j = 0..11, the data ends on day 51): with
// precomputeDays 5, buyers 0-6 get no precomputed entry and are scored when they ask.
describe.skipIf(!(await postgres.available()))('customers scored on request (PRECOMPUTE_DAYS)', () => {
  let t: TestApp;
  let dir: string;
  let everyone: string;
  let recent: string;
  const ask = async (version: string, url: string) => {
    const act = await t.app.inject({ method: 'POST', url: `/v1/models/${version}/activate`, headers: auth('admin') });
    expect(act.statusCode).toBe(200);
    await t.services.serving.refresh();
    const res = await t.app.inject({ url, headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const { items, fallback, modelVersion, strategy } = res.json();
    return { items, fallback, modelVersion, strategy };
  };

  beforeAll(async () => {
    t = await createTestApp({ createDb: postgres.create });
    await seedShop(t.services);
    dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(dir, 'shop.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop' }));
    const train = (precomputeDays?: number) =>
      createTrainer({ events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'shop', recipesDir: dir, isolation: 'inline', precomputeDays })
        .train()
        .then((r) => r.version);
    everyone = await train();
    recent = await train(5);
  });
  afterAll(async () => {
    await t.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('When a model precomputes only recent customers, Then it stores entries for buyers 7-11 only', async () => {
    const entries = await t.services.store.getEntries(recent, 'serving-users', ['g-user0', 'g-user6', 'g-user7', 'k-user11']);
    expect(entries.map((e) => e !== null)).toEqual([false, false, true, true]);
    const all = await t.services.store.getEntries(everyone, 'serving-users', ['g-user0', 'g-user6']);
    expect(all.map((e) => e !== null)).toEqual([true, true]);
  });

  for (const [user, query] of [
    ['g-user0', 'k=5'],
    ['k-user3', 'k=8&excludePurchased=false'],
    ['g-user6', 'k=5&strategy=item-knn'],
    ['k-user1', 'k=5&strategy=als'],
  ] as const) {
    it(`When ${user} (not precomputed) asks for ${query}, Then the answer is personal and the one the precomputed model gives`, async () => {
      const url = `/v1/users/${user}/recommendations?${query}`;
      const precomputed = await ask(everyone, url);
      const onRequest = await ask(recent, url);
      expect(onRequest.fallback).toBe(false);
      expect(onRequest.items.length).toBeGreaterThan(0);
      expect({ ...onRequest, modelVersion: null }).toEqual({ ...precomputed, modelVersion: null });
      // Asked again, the kept entry answers the same.
      expect((await ask(recent, url)).items).toEqual(onRequest.items);
    });
  }

  it('When a customer without purchases asks, Then the answer is still the cold-start fallback', async () => {
    await t.services.catalog.upsertUsers([{ id: 'browser-only', attributes: { country: 'UK' } }]);
    const answer = await ask(recent, '/v1/users/browser-only/recommendations?k=5');
    expect(answer.fallback).toBe(true);
  });
});
