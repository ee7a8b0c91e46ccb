import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
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
  let storedLists: string;
  let recentStored: string;
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
    // Few candidates per single strategy, so a list scored on request matches a stored one only if the recipe's
    // serving section reaches the version (serving reads it from there).
    await writeFile(join(dir, 'shop.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop', serving: { strategyCandidates: 4 } }));
    await writeFile(join(dir, 'shop-stored.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop-stored', serving: { strategyLists: 'stored', strategyCandidates: 4 } }));
    const train = (precomputeDays?: number, recipe = 'shop') =>
      createTrainer({ events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'shop', recipesDir: dir, isolation: 'inline', threads: 1, precomputeDays })
        .train({ recipe })
        .then((r) => r.version);
    everyone = await train();
    recent = await train(5);
    storedLists = await train(undefined, 'shop-stored');
    recentStored = await train(5, 'shop-stored');
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

  it('When a version scores single strategies on request (the default), Then it stores no table of them, and each answer is the stored one', async () => {
    const tables = ['serving-user-item-knn', 'serving-user-content', 'serving-user-als', 'serving-user-buy-again'];
    expect(await t.services.store.getEntries(everyone, tables[0], ['g-user0', 'k-user11'])).toEqual([null, null]);
    const sizes = async (version: string) => (await t.services.store.contentsOf!(version, { artifacts: [], tables: ['serving-users', ...tables] })).tables;
    expect(Object.values(await sizes(everyone))).toEqual([24, 0, 0, 0, 0]);
    expect(Object.values(await sizes(storedLists))).toEqual([24, 24, 24, 24, 24]);
    // ALS is pooled in this blend (its stored list ranks what the other sources found); these are not.
    for (const strategy of ['item-knn', 'content', 'cooccurrence', 'buy-again', 'repurchase']) {
      for (const user of ['g-user0', 'g-user9', 'k-user4', 'k-user11']) {
        const url = `/v1/users/${user}/recommendations?k=6&strategy=${strategy}&excludePurchased=false`;
        const stored = await ask(storedLists, url);
        const scored = await ask(everyone, url);
        expect(scored.fallback).toBe(false);
        expect({ ...scored, modelVersion: null }, url).toEqual({ ...stored, modelVersion: null });
      }
    }
    // A customer not precomputed, in a version that stores the lists: scored with their entry, the same list.
    const url = '/v1/users/g-user2/recommendations?k=6&strategy=item-knn&excludePurchased=false';
    const notPrecomputed = await ask(recentStored, url);
    expect(notPrecomputed.fallback).toBe(false);
    expect({ ...notPrecomputed, modelVersion: null }).toEqual({ ...(await ask(storedLists, url)), modelVersion: null });
    const als = await ask(everyone, '/v1/users/g-user3/recommendations?k=5&strategy=als');
    expect(als.fallback).toBe(false);
    expect(als.items[0].sources[0]).toBe('als');
  });

  it('When a customer is erased, Then the stored recommenders of every version lose their row, and the ones this process had loaded forget it in place', async () => {
    // k-user2 is not precomputed in `recent`: asking loads the version's recommenders into this process.
    expect((await ask(recent, '/v1/users/k-user2/recommendations?k=5&strategy=als')).fallback).toBe(false);
    const model = await t.services.serving.activeModel();
    const loaded = model!.onRequest;
    expect((await loaded)!.knows('k-user2')).toBe(true);
    const rowOf = async (version: string) => decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!).indexOf('k-user2');
    const als = async (version: string) => decodeArtifact((await t.services.store.getArtifact(version, 'recommender:als'))!).arrays;
    const rows = { [everyone]: await rowOf(everyone), [recent]: await rowOf(recent) };
    const before = { [everyone]: await als(everyone), [recent]: await als(recent) };
    const k = SHOP_RECIPE.sources.als.params.factors;

    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/k-user2', headers: auth('admin') })).statusCode).toBe(204);

    for (const version of [everyone, recent]) {
      const u = rows[version];
      expect(u).toBeGreaterThanOrEqual(0);
      const { userFactors, userLastTs } = await als(version);
      const old = before[version];
      expect(Array.from(userFactors.subarray(u * k, (u + 1) * k))).toEqual(new Array(k).fill(0));
      expect(Array.from(old.userFactors.subarray(u * k, (u + 1) * k)).some((v) => v !== 0)).toBe(true);
      expect(userLastTs[u]).toBe(Number.NEGATIVE_INFINITY);
      // Every other customer's row is as it was.
      expect(Array.from(userFactors.subarray(0, u * k))).toEqual(Array.from(old.userFactors.subarray(0, u * k)));
      expect(Array.from(userFactors.subarray((u + 1) * k))).toEqual(Array.from(old.userFactors.subarray((u + 1) * k)));
    }
    // The recommenders loaded before are kept (loading them again decodes every artifact of the version),
    // and no longer know the customer; the next customer scored on request is scored by them.
    expect(model!.onRequest).toBe(loaded);
    expect((await loaded)!.knows('k-user2')).toBe(false);
    expect((await ask(recent, '/v1/users/k-user3/recommendations?k=5&strategy=als')).fallback).toBe(false);
    expect(model!.onRequest).toBe(loaded);
    // The erased customer is one the version does not know.
    expect((await ask(recent, '/v1/users/k-user2/recommendations?k=5&strategy=als')).fallback).toBe(true);
  });

  it('When a customer without purchases asks, Then the answer is still the cold-start fallback', async () => {
    await t.services.catalog.upsertUsers([{ id: 'browser-only', attributes: { country: 'UK' } }]);
    const answer = await ask(recent, '/v1/users/browser-only/recommendations?k=5');
    expect(answer.fallback).toBe(true);
  });
});
