import { createServer, type Server, type Socket } from 'node:net';
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

  it('When more buckets are live than the counters hold, Then the oldest idle ones are dropped and only lose the rest of their lease', async () => {
    const c = createLeaseCounters(redis, prefix, 4);
    for (const b of ['1', '2', '3', '4']) expect((await incr(c, `key:cap${b}`, 10_000)).current).toBe(1);
    // A fifth bucket: nothing has ended, so the two oldest are dropped to make room.
    expect((await incr(c, 'key:cap5', 10_000)).current).toBe(1);
    // A dropped bucket takes a new lease (its first lease's 9 unused counts are lost, never handed out twice) ...
    expect((await incr(c, 'key:cap1', 10_000)).current).toBe(11);
    expect(await shared('key:cap1')).toBe(20);
    // ... while a kept one goes on with its own.
    expect((await incr(c, 'key:cap3', 10_000)).current).toBe(2);
    expect(await shared('key:cap3')).toBe(10);
  });

  it('When a burst hits a small budget (leases of one), Then the waiting requests share one lease as long as their queue: two round trips, not one each', async () => {
    const c = createLeaseCounters(redis, prefix);
    const key = `${prefix}ip:burst`;
    // Round trips are counted at the client's lease command (MONITOR would echo every other test's traffic
    // too, and under a parallel run it lagged past the test's timeout).
    const client = redis as Redis & { rateLimitLease: (key: string, ...rest: unknown[]) => Promise<unknown> };
    const lease = client.rateLimitLease;
    let asked = 0;
    client.rateLimitLease = (k, ...rest) => {
      if (k === key) asked++;
      return lease.call(client, k, ...rest);
    };
    try {
      const results = await Promise.all(Array.from({ length: 200 }, () => incr(c, 'ip:burst', 600)));
      expect(results.map((r) => r.current).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(asked).toBe(2);
      expect(await shared('ip:burst')).toBe(200);
    } finally {
      client.rateLimitLease = lease;
    }
  });

  it('When the reply to a lease is handled after its window has ended, Then its unused counts are not handed out in the next window', async () => {
    const c = createLeaseCounters(redis, prefix);
    const windowMs = 300;
    // Leases of 4: the first request takes counts 1-4 and uses 1.
    const first = incr(c, 'key:late', 4_000, windowMs);
    // The event loop is busy past the window's end before the reply can be handled.
    const until = performance.now() + windowMs + 100;
    while (performance.now() < until);
    expect((await first).current).toBe(1);
    // Redis has ended that window; counts 2-4 belonged to it, so this request starts the next one.
    expect((await incr(c, 'key:late', 4_000, windowMs)).current).toBe(1);
    expect(await shared('key:late')).toBe(4);
  });

  it('When Redis accepts the connection but never answers, Then every waiting request gets an error after the command timeout, and the bucket is not left stuck', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const mute = new Redis({ host: '127.0.0.1', port, enableReadyCheck: false, enableOfflineQueue: false, commandTimeout: 100, maxRetriesPerRequest: 0 });
    mute.on('error', () => {});
    try {
      await new Promise<void>((resolve) => mute.once('ready', () => resolve()));
      const c = createLeaseCounters(mute, prefix);
      const settled = await Promise.allSettled(Array.from({ length: 5 }, () => incr(c, 'key:mute', 10_000)));
      expect(settled.map((r) => r.status)).toEqual(Array(5).fill('rejected'));
      await expect(incr(c, 'key:mute', 10_000)).rejects.toThrow(/timed out/i);
    } finally {
      mute.disconnect();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
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
