import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIENCE_ARTIFACT } from '../../../src/audiences/audience-artifact.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { STORE_BACKENDS, type TestStore } from '../training/store-backends.js';

/**
 * A version's customer entries are one Redis hash, so a Redis under an `allkeys-*` maxmemory policy (or a shard
 * restarted empty) loses all of them at once, while the version stays listed and served from memory. Audiences
 * are ranked from the stored postings and read their members' entries only for the reasons: they answered 503
 * ("ask again") at every request of that version, for good when no training follows (RETRAIN_ON_LOST_MODEL off,
 * or after a failed training). Now they answer, marked fallback; an audience export still refuses to write them.
 * On the real Redis.
 */
const redisBackend = STORE_BACKENDS.find((b) => b.name === 'redis store')!;
describe.skipIf(!(await serviceAvailable(REDIS_URL)) || !(await serviceAvailable(POSTGRES_URL)))('a version whose customer entries were evicted', () => {
  let t: TestApp;
  let testStore: TestStore;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audience-entries-evicted-'));
    await writeFile(join(dir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    testStore = await redisBackend.create();
    t = await createTestApp({ createDb: createPostgresTestDb, store: testStore.store, env: { RETRAIN_ON_LOST_MODEL: 'false', EXPORT_DIR: join(dir, 'exports') } });
    await seedShop(t.services);
    const trainer = createTrainer({
      events: t.services.events, catalog: t.services.catalog, store: t.services.store, defaultRecipe: 'serving-test', recipesDir: dir,
      isolation: 'inline', threads: 1, storeRecommenders: true, erasures: t.services.erasure,
    });
    await trainer.train();
    await t.services.serving.refresh();
  }, 180_000);
  afterAll(async () => {
    await t?.app.close();
    await testStore?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  type Answer = { fallback: boolean; users: { userId: string; tier: string; reason: string; score: number }[] };
  const audience = async (itemId: string) => {
    const res = await t.app.inject({ url: `/v1/items/${encodeURIComponent(itemId)}/audience?k=10&includeRecentBuyers=true`, headers: auth('admin') });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as Answer;
  };

  it('When the active version\'s users table is evicted, Then its audiences answer the same members marked fallback, and an audience export fails with CONFLICT instead of writing them', async () => {
    const model = (await t.services.serving.activeModel())!;
    const version = model.meta.version;
    expect(await t.services.store.getArtifact(version, AUDIENCE_ARTIFACT)).not.toBeNull();
    const before = new Map<string, Answer>();
    for (const itemId of model.items.ids) before.set(itemId, await audience(itemId));
    const withCandidates = [...before].filter(([, a]) => a.users.some((u) => u.tier === 'candidate')).map(([id]) => id);
    expect(withCandidates.length).toBeGreaterThan(0);
    for (const a of before.values()) expect(a.fallback).toBe(false);

    const redis = new Redis(REDIS_URL);
    try {
      // What an eviction does: the hash's key goes, whole.
      expect(await redis.unlink(`${testStore.prefix}{v:${version}}:table:${USERS_TABLE}`)).toBe(1);
    } finally {
      await redis.quit();
    }
    expect((await t.services.store.listVersions()).map((v) => v.version)).toContain(version);

    for (const itemId of withCandidates) {
      const after = await audience(itemId);
      expect(after.fallback).toBe(true);
      expect(after.users.map((u) => [u.userId, u.tier, u.score])).toEqual(before.get(itemId)!.users.map((u) => [u.userId, u.tier, u.score]));
      for (const u of after.users.filter((m) => m.tier === 'candidate')) expect(u.reason).toBe('scored by the hybrid model');
    }

    const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'audience', itemIds: [withCandidates[0]], k: 10, includeRecentBuyers: true, format: 'csv' } });
    expect(start.statusCode).toBe(202);
    const job = await finishedJob(t, `/v1/exports/${start.json().jobId}`, 120_000);
    expect(job.status).toBe('failed');
    expect(JSON.stringify(job.error)).toMatch(/lost the customer lists/);
  });
});
