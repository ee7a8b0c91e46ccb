import type { Redis } from 'ioredis';

/** Deletes every key under `prefix` (a test's own namespace in the shared Redis), scanning, never FLUSHDB. */
export async function unlinkPrefixed(redis: Redis, prefix: string): Promise<void> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
  if (keys.length > 0) await redis.unlink(...keys);
}
