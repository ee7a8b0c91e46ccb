import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecyclePoint } from '../../../src/profiles/lifecycle-history.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { relatedMember, trainRelatedTierShop } from '../../helpers/related-member.js';
import { deleteRedisPrefix } from '../training/store-backends.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/** A process's store on the shared Redis that hears no erasure message (a Redis user without pub/sub rights, a message lost in a reconnect). */
const unsubscribed = (store: ModelStore): ModelStore => ({ ...store, onUserErased: undefined });

/** Every customer counted at the last point of the lifecycle history. */
const counted = (points: LifecyclePoint[]) => Object.values(points[points.length - 1].counts).reduce((a, b) => a + b, 0);

/**
 * Two API processes on one Postgres and one Redis; the second hears no erasure message, so it learns of an
 * erasure by its reads of `erased_users`, which README promises within ERASURE_REFRESH_MS ("a replica that
 * missed the Redis message forgets the customer within it"). Those reads were started only by a request to
 * it (stale while revalidating): a replica nobody asked for a while still held the customer, and the first
 * request after the quiet spell was answered from that before the read it started had run.
 */
describe.skipIf(!(await serviceAvailable(REDIS_URL)) || !(await serviceAvailable(POSTGRES_URL)))('an erasure and a replica that heard no message of it', () => {
  let testDb: TestDb;
  let a: TestApp;
  let b: TestApp;
  let recipesDir: string;
  const prefix = `${randomPrefix('unheard')}:`;
  const shared = async (): Promise<TestDb> => ({ db: testDb.db, dispose: async () => {} });

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    a = await createTestApp({ createDb: shared, store: createRedisModelStore({ url: REDIS_URL, prefix }) });
    b = await createTestApp({ createDb: shared, store: unsubscribed(createRedisModelStore({ url: REDIS_URL, prefix })), env: { ERASURE_REFRESH_MS: '200' } });
    recipesDir = await trainRelatedTierShop(a, b, 'erasure-unheard-recipes-');
  }, 120_000);
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
    await testDb?.dispose();
    await deleteRedisPrefix(prefix);
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
  });

  it('When another process erases a customer and nobody asks this one anything, Then this one forgets them within ERASURE_REFRESH_MS all the same (audiences of either tier, lifecycle history)', async () => {
    const { q, userId } = await relatedMember(b.services);
    const listed = async () => (await b.services.audiences.audience(q))!.users.some((u) => u.userId === userId);
    const countedBefore = counted(await b.services.lifecycleHistory(12));

    expect((await a.app.inject({ method: 'DELETE', url: `/v1/users/${userId}`, headers: auth('admin') })).statusCode).toBe(204);

    // No request reaches B (its services are called directly, past its request hook): it forgets all the same.
    await expect.poll(listed, { timeout: 15_000, interval: 100 }).toBe(false);
    await expect.poll(async () => counted(await b.services.lifecycleHistory(12)), { timeout: 15_000, interval: 100 }).toBe(countedBefore - 1);
    // And the first request after the quiet spell is answered without them.
    const res = await b.app.inject({ method: 'POST', url: '/v1/audiences', headers: auth('admin'), payload: { itemIds: q.itemIds, k: 1000, includeRecentBuyers: true } });
    expect(res.statusCode).toBe(200);
    expect((res.json().users as { userId: string }[]).some((u) => u.userId === userId)).toBe(false);
  }, 60_000);
});
