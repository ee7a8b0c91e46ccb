import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT } from '../../../src/audiences/audience-artifact.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

/**
 * The audience postings (`serving-audience`) are the biggest artifact of a version, so the first a Redis under an
 * `allkeys-*` maxmemory policy evicts; audiences are still built without them, from the customers' entries. Their
 * loss alone must not make the version lost: readiness stays ready, RETRAIN_ON_LOST_MODEL trains nothing, the
 * metrics count no missing part, and a rollback to a version without them is not refused. On the real Redis.
 */
const redisBackend = STORE_BACKENDS.find((b) => b.name === 'redis store')!;
describe.skipIf(!(await serviceAvailable(REDIS_URL)) || !(await serviceAvailable(POSTGRES_URL)))('a version whose audience postings were evicted', () => {
  let t: TestApp;
  let testStore: TestStore;
  let recipesDir: string;
  const versions: string[] = [];

  beforeAll(async () => {
    recipesDir = await mkdtemp(join(tmpdir(), 'audience-evicted-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    testStore = await redisBackend.create();
    t = await createTestApp({ createDb: createPostgresTestDb, store: testStore.store, env: { RETRAIN_ON_LOST_MODEL: 'true' } });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    });
    for (let k = 0; k < 2; k++) versions.push((await trainer.train()).version);
    await t.services.serving.refresh();
  }, 180_000);
  afterAll(async () => {
    await t?.app.close();
    await testStore?.dispose();
    await rm(recipesDir, { recursive: true, force: true });
  });

  /** Deletes the audience postings' keys of `version` from Redis, as an eviction would, and nothing else. */
  async function evictPostings(version: string) {
    const redis = new Redis(REDIS_URL);
    try {
      const keys: string[] = [];
      for await (const batch of redis.scanStream({ match: `${testStore.prefix}*`, count: 1000 })) keys.push(...(batch as string[]).filter((key) => key.includes(`{v:${version}}`) && key.includes(AUDIENCE_ARTIFACT)));
      expect(keys.length).toBeGreaterThan(0);
      await redis.unlink(...keys);
    } finally {
      await redis.quit();
    }
    expect(await t.services.store.getArtifact(version, AUDIENCE_ARTIFACT)).toBeNull();
  }
  const ready = async () => {
    const res = await t.app.inject({ url: '/health/ready' });
    return { status: res.statusCode, body: res.json() as { checks?: Record<string, boolean> } };
  };
  const missingParts = async () => Number(/^recsvc_model_active_missing_parts (\S+)$/m.exec((await t.app.inject({ url: '/metrics' })).body)?.[1]);
  const audience = async (itemId: string) => {
    const res = await t.app.inject({ url: `/v1/items/${encodeURIComponent(itemId)}/audience?k=10&includeRecentBuyers=true`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    return (res.json() as { users: { userId: string }[] }).users;
  };

  it('When only the active version\'s audience postings are gone, Then it stays ready with that model, no training is queued, no part counts as missing, and audiences answer from the entries', async () => {
    const active = (await t.services.store.getActive())!;
    expect(active.version).toBe(versions[1]);
    // The metadata lists the postings among what was written (apart from the artifacts the version needs, which a
    // release before checks: write-model-version.ts optionalArtifacts).
    expect(Object.keys((active.info.contents as { optionalArtifacts: Record<string, number> }).optionalArtifacts)).toContain(AUDIENCE_ARTIFACT);
    await evictPostings(active.version);

    expect(await ready()).toMatchObject({ status: 200, body: { checks: { modelStore: true, activeModel: true } } });
    expect((await t.services.store.getActive())?.version).toBe(active.version);
    expect(await t.services.modelRecovery!.recover()).toBeNull();
    expect(await t.services.jobs.list()).toEqual([]);
    expect(await missingParts()).toBe(0);

    const model = (await t.services.serving.activeModel())!;
    expect(model.meta.version).toBe(active.version);
    const members = (await Promise.all(model.items.ids.map(audience))).flat();
    expect(members.length).toBeGreaterThan(0);
  });

  it('When a kept version\'s audience postings are gone, Then a rollback to it succeeds and its audiences answer from the entries', async () => {
    await evictPostings(versions[0]);
    const res = await t.app.inject({ method: 'POST', url: `/v1/models/${versions[0]}/activate`, headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    expect((await t.services.store.getActive())?.version).toBe(versions[0]);
    await t.services.serving.refresh();
    const model = (await t.services.serving.activeModel())!;
    expect(model.meta.version).toBe(versions[0]);
    expect(await ready()).toMatchObject({ status: 200, body: { checks: { activeModel: true } } });
    expect(await t.services.modelRecovery!.recover()).toBeNull();
    const members = (await Promise.all(model.items.ids.map(audience))).flat();
    expect(members.length).toBeGreaterThan(0);
  });

  it('When a customer is erased while no kept version holds its audience postings, Then the erasure succeeds, writes no postings back, and no audience names them', async () => {
    const model = (await t.services.serving.activeModel())!;
    const before = (await Promise.all(model.items.ids.map(audience))).flat().map((u) => u.userId);
    const erased = before[0];
    expect(erased).toBeTruthy();
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${encodeURIComponent(erased)}`, headers: auth('admin') })).statusCode).toBe(204);
    for (const version of versions) expect(await t.services.store.getArtifact(version, AUDIENCE_ARTIFACT)).toBeNull();
    const after = (await Promise.all(model.items.ids.map(audience))).flat().map((u) => u.userId);
    expect(after.length).toBeGreaterThan(0);
    expect(after).not.toContain(erased);
    expect(await ready()).toMatchObject({ status: 200, body: { checks: { activeModel: true } } });
  });
});
