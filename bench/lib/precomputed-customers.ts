import { Redis } from 'ioredis';
import { USERS_TABLE } from '../../src/serving/user-entry.js';
import { DEFAULT_REDIS_PREFIX } from '../../src/store/create-model-store.js';

/** `count` customers a version precomputed (its users table, default key prefix), spread over the table. */
export async function precomputedCustomers(redisUrl: string, version: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor = '0';
  const usersKey = `${DEFAULT_REDIS_PREFIX}{v:${version}}:table:${USERS_TABLE}`;
  const redis = new Redis(redisUrl);
  do {
    const [next, found] = await redis.hscan(usersKey, cursor, 'COUNT', 2000);
    cursor = next;
    for (let i = 0; i < found.length; i += 2) ids.push(found[i]);
  } while (cursor !== '0' && ids.length < count * 50);
  await redis.quit();
  const step = Math.max(1, Math.floor(ids.length / count));
  return ids.filter((_, i) => i % step === 0).slice(0, count);
}
