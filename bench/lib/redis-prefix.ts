import { Redis } from 'ioredis';

/** Deletes every key under `prefix` in the Redis at `url`: what a bench wrote under its random prefix. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
  if (keys.length > 0) await redis.unlink(...keys);
  await redis.quit();
}
