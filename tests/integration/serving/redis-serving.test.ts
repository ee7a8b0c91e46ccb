import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';
import { createServing } from '../../../src/serving/create-serving.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { DAY, seedShop, T0, trainAndPublish } from './shop-fixture.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';

const available = await serviceAvailable(REDIS_URL);

describe.skipIf(!available)('serving from the Redis model store', () => {
  const prefix = `${randomPrefix('serving')}:`;
  let redis: Redis;
  let t: TestApp;
  let version: string;
  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    t = await createTestApp({ createDb: createPgliteTestDb, store: createRedisModelStore({ redis, prefix }) });
    await seedShop(t.services);
    version = await trainAndPublish(t.services);
  });
  afterAll(async () => {
    await t.dispose();
    await unlinkPrefixed(redis, prefix);
    await redis.quit();
  });

  const recommend = async (user: string) => {
    const res = await t.app.inject({ url: `/v1/users/${user}/recommendations?k=10`, headers: auth('read') });
    expect(res.statusCode).toBe(200);
    return recommendationResponse.parse(res.json());
  };

  it('When a known user asks, Then the answer comes from the Redis-stored version, and a purchase posted since changes it', async () => {
    const before = await recommend('k-user2');
    expect(before).toMatchObject({ modelVersion: version, fallback: false, strategy: 'hybrid' });
    expect(before.items).toHaveLength(10);
    const bought = before.items[0].itemId;
    const post = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: auth('write'),
      payload: { events: [{ userId: 'k-user2', itemId: bought, quantity: 1, ts: new Date(T0 + 80 * DAY).toISOString() }] },
    });
    expect(post.statusCode).toBe(200);
    const after = await recommend('k-user2');
    expect(after.items.map((i) => i.itemId)).not.toContain(bought);
    expect(after.items).toHaveLength(10);
  });

  it('When a user is erased through another process sharing the store, Then this process stops answering for them personally', async () => {
    // A second API process on the same Redis model store (its own database: it only serves).
    const other = await createTestApp({ createDb: createPgliteTestDb, store: createRedisModelStore({ redis, prefix }) });
    try {
      const ask = async () => (await other.app.inject({ url: '/v1/users/k-user9/recommendations?k=5', headers: auth('read') })).json() as { fallback: boolean };
      expect((await ask()).fallback).toBe(false);
      expect((await ask()).fallback).toBe(false);
      const del = await t.app.inject({ method: 'DELETE', url: '/v1/users/k-user9', headers: auth('admin') });
      expect(del.statusCode).toBe(204);
      let answer = await ask();
      for (let i = 0; i < 40 && !answer.fallback; i++) {
        await new Promise((r) => setTimeout(r, 50));
        answer = await ask();
      }
      expect(answer.fallback).toBe(true);
    } finally {
      await other.dispose();
    }
  });

  it('When a user is unknown to the Redis-stored model, Then the answer is a fallback, not an error', async () => {
    expect(await recommend('stranger')).toMatchObject({ fallback: true, modelVersion: version });
  });

  it('When another process publishes a version, Then a replica serves it at once on the announcement, not at its next periodic check', async () => {
    // A replica whose periodic check would come only after 10 minutes: only the announcement can move it.
    const store = createRedisModelStore({ redis, prefix });
    const replica = createServing({ store, db: t.services.db, catalog: t.services.catalog, recheckMs: 600_000 });
    try {
      const ask = async () => (await replica.recommendForUser('k-user3', { k: 5 })).modelVersion;
      expect(await ask()).toBe(version);
      const next = await trainAndPublish(t.services, `v-next-${Date.now()}`);
      let served = await ask();
      for (let i = 0; i < 60 && served !== next; i++) {
        await new Promise((r) => setTimeout(r, 50));
        served = await ask();
      }
      expect(served).toBe(next);
      // A rollback through another process travels the same way.
      expect(await t.services.activateModel(version)).toBe(true);
      for (let i = 0; i < 60 && served !== version; i++) {
        await new Promise((r) => setTimeout(r, 50));
        served = await ask();
      }
      expect(served).toBe(version);
    } finally {
      await store.close();
    }
  });
});
