import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaseCounters, leaseSize, type LeaseCounters, type RateCount } from '../../../src/store/rate-limit-leases.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const available = await serviceAvailable(REDIS_URL);
if (!available) console.warn(`rate-limit lease tests skipped: ${REDIS_URL} does not answer (set REQUIRE_SERVICES=true to fail instead)`);

const MINUTE = 60_000;
const incr = (c: LeaseCounters, bucket: string, max: number, windowMs = MINUTE) =>
  new Promise<RateCount>((resolve, reject) => c.incr(bucket, (err, r) => (err ? reject(err) : resolve(r!)), windowMs, max));

describe.skipIf(!available)('rate-limit counters taken in leases from Redis', () => {
  const prefix = `${randomPrefix('lease')}:`;
  let redis: Redis;
  const shared = async (bucket: string) => Number(await redis.get(`${prefix}${bucket}`));
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  it('When the budget is large, Then one replica counts its requests in order and moves the shared counter a whole lease at a time', async () => {
    const c = createLeaseCounters(redis, prefix);
    expect(leaseSize(10_000)).toBe(10);
    const counts: number[] = [];
    for (let i = 0; i < 25; i++) counts.push((await incr(c, 'key:big', 10_000)).current);
    expect(counts).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // Three leases of 10: three round trips for 25 requests.
    expect(await shared('key:big')).toBe(30);
    expect(await redis.pttl(`${prefix}key:big`)).toBeGreaterThan(0);
  });

  it('When many requests arrive at once on a new bucket, Then each gets its own count and no lease is taken twice', async () => {
    const c = createLeaseCounters(redis, prefix);
    const results = await Promise.all(Array.from({ length: 100 }, () => incr(c, 'key:burst', 10_000)));
    expect(results.map((r) => r.current).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await shared('key:burst')).toBe(100);
  });

  it('When two replicas share a budget, Then together they never let more through than the budget, and lose at most one lease each', async () => {
    const [a, b] = [createLeaseCounters(redis, prefix), createLeaseCounters(redis, prefix)];
    const max = 2_000;
    let allowed = 0;
    for (let i = 0; i < 2_200; i++) if ((await incr(i % 2 === 0 ? a : b, 'key:shared', max)).current <= max) allowed++;
    expect(allowed).toBeLessThanOrEqual(max);
    expect(allowed).toBeGreaterThanOrEqual(max - 2 * leaseSize(max));
    expect((await incr(a, 'key:shared', max)).current).toBeGreaterThan(max);
    expect((await incr(b, 'key:shared', max)).current).toBeGreaterThan(max);
  });

  it('When a small budget is shared, Then every request is counted in Redis at once: two replicas give exactly the budget', async () => {
    const [a, b] = [createLeaseCounters(redis, prefix), createLeaseCounters(redis, prefix)];
    const counts: number[] = [];
    for (let i = 0; i < 12; i++) counts.push((await incr(i % 2 === 0 ? a : b, 'ip:small', 10)).current);
    expect(counts.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(counts.slice(10).every((n) => n > 10)).toBe(true);
  });

  it('When a budget is spent, Then later requests are over the limit without asking Redis until the window ends', async () => {
    const c = createLeaseCounters(redis, prefix);
    const counts: number[] = [];
    for (let i = 0; i < 15; i++) counts.push((await incr(c, 'ip:spent', 3)).current);
    expect(counts.slice(0, 3)).toEqual([1, 2, 3]);
    expect(counts.slice(3).every((n) => n > 3)).toBe(true);
    // The third count spent the budget: no request after it reached Redis.
    expect(await shared('ip:spent')).toBe(3);
  });

  it('When the window ends, Then the budget is whole again', async () => {
    const c = createLeaseCounters(redis, prefix);
    const windowMs = 300;
    expect((await incr(c, 'ip:window', 1, windowMs)).current).toBe(1);
    const over = await incr(c, 'ip:window', 1, windowMs);
    expect(over.current).toBeGreaterThan(1);
    expect(over.ttl).toBeLessThanOrEqual(windowMs);
    while ((await redis.exists(`${prefix}ip:window`)) === 1) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, Math.max(0, over.ttl)));
    expect((await incr(c, 'ip:window', 1, windowMs)).current).toBe(1);
  });

  it('When Redis does not answer, Then the request gets an error at once (the limiter lets it through) and the next one asks again', async () => {
    const down = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    down.on('error', () => {});
    try {
      const c = createLeaseCounters(down, prefix);
      await expect(incr(c, 'key:down', 10_000)).rejects.toThrow();
      await expect(incr(c, 'key:down', 10_000)).rejects.toThrow();
    } finally {
      down.disconnect();
    }
  });
});
