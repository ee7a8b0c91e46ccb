import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserErasure } from '../../../src/privacy/user-erasure.js';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { ARTIFACT_USER_IDS, decodeUserIdsArtifact } from '../../../src/serving/serving-artifacts.js';
import type { ArtifactPatch, ModelStore, PatchCondition } from '../../../src/store/model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

/**
 * An erasure patches the profiles and the ALS rows in place from offsets it read first. Should the artifact be
 * rewritten at another length meanwhile (written again after an eviction, another layout), those offsets no longer
 * say where the customer is: the patch must write nothing (the store checks the length read, as the audience
 * postings' patch already asked) and the erasure fail, to be asked again, instead of overwriting other bytes.
 */
const redisBackend = STORE_BACKENDS.find((b) => b.name === 'redis store')!;

/** The store, with `name` rewritten 8 bytes longer just before the erasure's first patch of it. */
function rewrittenBeforePatch(store: ModelStore, name: string, rewritten: { bytes?: Uint8Array; before?: Uint8Array }): ModelStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const real = Reflect.get(target, prop, receiver) as unknown;
      if (typeof real !== 'function') return real;
      if (prop === 'patchArtifact') {
        return async (version: string, artifact: string, patches: readonly ArtifactPatch[], opts?: PatchCondition) => {
          if (artifact === name && !rewritten.bytes) {
            const bytes = (await target.getArtifact(version, artifact))!;
            const longer = new Uint8Array(bytes.length + 8);
            longer.set(bytes);
            longer.fill(7, bytes.length);
            expect(await target.redactArtifact(version, artifact, longer)).toBe(true);
            rewritten.bytes = longer;
            rewritten.before = bytes.slice();
          }
          return target.patchArtifact!(version, artifact, patches, opts);
        };
      }
      return (real as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

describe.skipIf(!(await serviceAvailable(REDIS_URL)) || !(await serviceAvailable(POSTGRES_URL)))('an erasure\'s in-place patch of an artifact rewritten at another length since it was read', () => {
  let t: TestApp;
  let testStore: TestStore;
  let recipesDir: string;
  let version: string;
  let ids: string[];

  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'erasure-patch-length-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    testStore = await redisBackend.create();
    t = await createTestApp({ createDb: createPostgresTestDb, store: testStore.store });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    });
    version = (await trainer.train()).version;
    ids = decodeUserIdsArtifact((await t.services.store.getArtifact(version, ARTIFACT_USER_IDS))!).filter((id) => id !== '');
    expect(ids.length).toBeGreaterThan(2);
  }, 180_000);
  afterAll(async () => {
    await t?.app.close();
    await testStore?.dispose();
    await rm(recipesDir, { recursive: true, force: true });
  });

  for (const [k, name] of [PROFILES_ARTIFACT, 'recommender:als'].entries()) {
    it(`When ${name} is rewritten at another length between the erasure's read and its patch, Then nothing is patched into it and the erasure fails, to be asked again`, async () => {
      const { store } = t.services;
      expect(store.patchArtifact).toBeDefined();
      const rewritten: { bytes?: Uint8Array; before?: Uint8Array } = {};
      const erasure = createUserErasure({ events: t.services.events, erasures: t.services.erasureRepository, store: rewrittenBeforePatch(store, name, rewritten), forget: async () => {} });
      await expect(erasure.erase(ids[k])).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
      expect(rewritten.bytes).toBeDefined();
      expect(Array.from((await store.getArtifact(version, name))!)).toEqual(Array.from(rewritten.bytes!));
      // As it was, for the next case (its layout's length is not the stored one's: every patch of it would be refused).
      await store.redactArtifact(version, name, rewritten.before!);
    });
  }
});
