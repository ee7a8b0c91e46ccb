import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { modelStoreContract } from './model-store.contract.js';

// Throws instead of skipping when REQUIRE_SERVICES=true (CI).
const available = await serviceAvailable(REDIS_URL);
if (!available) console.warn(`Redis model store tests skipped: ${REDIS_URL} does not answer (set REQUIRE_SERVICES=true to fail instead)`);

describe.skipIf(!available)(available ? 'redis model store' : `redis model store (skipped: ${REDIS_URL} does not answer)`, () => {
  // Every store of this run lives under its own sub-prefix of one random run prefix, deleted afterwards.
  const runPrefix = `${randomPrefix('store')}:`;
  let redis: Redis;
  let n = 0;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${runPrefix}*`, count: 1000 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  modelStoreContract(async (opts) => createRedisModelStore({ redis, prefix: `${runPrefix}${n++}:`, ...opts }));

  it('When a version is written, Then all its keys share one hash tag and deleting it leaves no key behind', async () => {
    const prefix = `${runPrefix}tags:`;
    const store = createRedisModelStore({ redis, prefix });
    await store.putArtifact('a', 'model', new Uint8Array([1]));
    await store.putEntries('a', 'users', [['u', new Uint8Array([2])]]);
    await store.publish({ version: 'a', recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: {} });
    await store.putArtifact('b', 'model', new Uint8Array([3]));
    const versionKeys = (await redis.keys(`${prefix}{v:a}*`)).sort();
    expect(versionKeys).toEqual([`${prefix}{v:a}:artifact:model`, `${prefix}{v:a}:keys`, `${prefix}{v:a}:table:users`]);

    expect(await store.deleteVersion('b')).toBe(true);
    expect(await redis.keys(`${prefix}{v:b}*`)).toEqual([]);
    await store.close();
    // The caller's connection stays open: the store did not create it.
    expect(await redis.ping()).toBe('PONG');
  });

  it('When the store opens its own connection from a URL, Then close() quits it', async () => {
    const store = createRedisModelStore({ url: REDIS_URL, prefix: `${runPrefix}own:` });
    expect(await store.ping()).toBe(true);
    await store.close();
    expect(await store.ping()).toBe(false);
  });
});
