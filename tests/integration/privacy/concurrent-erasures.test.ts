import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { decodeProfiles } from '../../../src/profiles/profile-codec.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

const redis = STORE_BACKENDS[1];

/**
 * Erasures rewrite shared artifacts (profiles, the user index, ALS's factors): read, change, write. On
 * Postgres with several connections and on Redis, where each step waits on the network, erasures at the
 * same moment must not write over each other's changes.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)) || !(await redis.available()))('erasures at the same moment (Postgres, Redis)', () => {
  let t: TestApp;
  let testStore: TestStore;
  let dir: string;
  let version: string;
  const victims = ['g-user1', 'g-user4', 'g-user9', 'k-user2', 'k-user5', 'k-user8'];

  beforeAll(async () => {
    testStore = await redis.create();
    t = await createTestApp({ createDb: createPostgresTestDb, store: testStore.store });
    await seedShop(t.services);
    dir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(dir, 'shop.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop' }));
    const trainer = createTrainer({ events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'shop', recipesDir: dir, isolation: 'inline', threads: 1 });
    version = (await trainer.train()).version;
  });
  afterAll(async () => {
    await t.app.close();
    await testStore.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('When six customers are erased at once, Then every one of them is gone from every shared artifact', async () => {
    const before = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
    const rows = victims.map((id) => before.indexOf(id));
    expect(rows.every((u) => u >= 0)).toBe(true);

    const results = await Promise.all(victims.map((id) => t.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') })));
    expect(results.map((r) => r.statusCode)).toEqual(victims.map(() => 204));

    const index = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!);
    for (const id of victims) expect(index).not.toContain(id);
    expect(index.filter((id) => id === '')).toHaveLength(victims.length);
    const profiled = decodeProfiles((await t.services.store.getArtifact(version, PROFILES_ARTIFACT))!).profiles.map((p) => p.userId);
    for (const id of victims) expect(profiled).not.toContain(id);
    const k = SHOP_RECIPE.sources.als.params.factors;
    const { userFactors, userLastTs } = decodeArtifact((await t.services.store.getArtifact(version, 'recommender:als'))!).arrays;
    for (const u of rows) {
      expect(Array.from(userFactors.subarray(u * k, (u + 1) * k))).toEqual(new Array(k).fill(0));
      expect(userLastTs[u]).toBe(Number.NEGATIVE_INFINITY);
    }
  });
});
