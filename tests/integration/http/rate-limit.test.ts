import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createServices } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { auth, createTestApp, KEYS, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { privateServerSupport, startPrivateRedisCluster, type PrivateRedisCluster } from '../../helpers/private-servers.js';
import { startRedisProxy } from '../../helpers/redis-proxy.js';
import { LEASE_TIMEOUTS_TO_REOPEN } from '../../../src/http/plugins/rate-limit.js';
import { startPrivateRedis } from '../../helpers/private-servers.js';

const createDb = (await serviceAvailable(POSTGRES_URL)) ? createPostgresTestDb : createPgliteTestDb;
const redisUp = await serviceAvailable(REDIS_URL);
const support = await privateServerSupport();
const clusterPossible = support.redisCluster;
if (!clusterPossible && process.env.REQUIRE_SERVICES === 'true') throw new Error('redis-server and redis-cli are needed for a private Redis Cluster and REQUIRE_SERVICES=true');

const expectRateLimited = (res: { statusCode: number; headers: Record<string, unknown>; json(): { error: { code: string; message: string } } }) => {
  expect(res.statusCode).toBe(429);
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
  expect(res.json().error).toEqual({ code: 'RATE_LIMITED', message: expect.stringMatching(/at most \d+ per minute/) });
  // Every limiter's 429 carries the same headers, so a client reads them one way.
  expect(Number(res.headers['x-ratelimit-limit'])).toBeGreaterThan(0);
  expect(res.headers['x-ratelimit-remaining']).toBe('0');
  expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
};

/**
 * One API replica whose rate limits count in `redis` (a URL or cluster nodes) under `prefix`, 10 requests
 * per minute and IP; what it opened is pushed onto `opened` for the suite to close.
 */
async function openReplica(redis: { REDIS_URL: string } | { REDIS_CLUSTER_NODES: string }, prefix: string, opened: { close(): Promise<unknown> }[]) {
  const config = loadConfig({
    API_KEYS: `read:${KEYS.read}`,
    SAMPLE_DATA: 'false',
    LOG_LEVEL: 'silent',
    ...redis,
    RATE_LIMIT_PER_IP_PER_MINUTE: '10',
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const db = await createDb();
  const store = await createMemoryModelStore({});
  const app = await buildApp(createServices({ config, db: db.db, store }), { rateLimitPrefix: prefix });
  await app.ready();
  opened.push(app, store, { close: () => db.dispose() });
  return app;
}

describe('rate limits in process', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb, env: { RATE_LIMIT_PER_IP_PER_MINUTE: '20', RATE_LIMIT_PER_MINUTE: '50' } });
  });
  afterAll(() => t?.dispose());

  it('When one address sends 3,000 requests with a bad key, Then after the per-IP budget every one is 429 with Retry-After', async () => {
    const statuses = new Map<number, number>();
    let last;
    for (let i = 0; i < 3000; i++) {
      last = await t.app.inject({ url: '/v1/popular', headers: { authorization: 'Bearer not-a-key-123' }, remoteAddress: '203.0.113.7' });
      statuses.set(last.statusCode, (statuses.get(last.statusCode) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 20, 429: 2980 });
    expectRateLimited(last!);
  });

  it('When the bad-key address is limited, Then other addresses and valid keys from it still get through', async () => {
    expect((await t.app.inject({ url: '/v1/popular', headers: { authorization: 'Bearer nope-nope-nope' }, remoteAddress: '203.0.113.8' })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/v1/popular', headers: auth('read'), remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
  });

  it('When a key spends its budget, Then it gets 429 while another key and health checks still answer', async () => {
    const spend = async (scope: 'read' | 'write') => {
      const codes: number[] = [];
      for (let i = 0; i < 51; i++) codes.push((await t.app.inject({ url: '/v1/popular', headers: auth(scope), remoteAddress: `198.51.100.${i}` })).statusCode);
      return codes;
    };
    const codes = await spend('read');
    // One request of the previous test used the read key too.
    expect(codes.filter((c) => c === 200)).toHaveLength(49);
    expectRateLimited(await t.app.inject({ url: '/v1/popular', headers: auth('read') }));
    expect((await t.app.inject({ url: '/v1/popular', headers: auth('write') })).statusCode).toBe(200);
    for (let i = 0; i < 30; i++) {
      expect((await t.app.inject({ url: '/health/live', remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
      expect((await t.app.inject({ url: '/metrics', remoteAddress: '203.0.113.7' })).statusCode).toBe(200);
    }
  });

  // Before, each IPv6 address had a budget of its own: a client picking a new one of its network's 2^64
  // addresses per request was never limited.
  it('When one IPv6 network sends bad keys from a new address each time, Then its addresses share one budget; another network and IPv4-mapped addresses keep theirs', async () => {
    const ask = (ip: string) => t.app.inject({ url: '/v1/popular', headers: { authorization: 'Bearer not-a-key-v6' }, remoteAddress: ip });
    const codes: number[] = [];
    for (let i = 0; i < 25; i++) codes.push((await ask(`2001:db8:aa:1::${(i + 1).toString(16)}`)).statusCode);
    expect(codes.filter((c) => c === 401)).toHaveLength(20);
    expect(codes.slice(20).every((c) => c === 429)).toBe(true);
    expect((await ask('2001:db8:aa:2::1')).statusCode).toBe(401);
    // ::ffff:192.0.2.77 is the IPv4 client 192.0.2.77, counted as itself.
    for (let i = 0; i < 20; i++) expect((await ask('::ffff:192.0.2.77')).statusCode).toBe(401);
    expect((await ask('192.0.2.77')).statusCode).toBe(429);
  });

  it('When an address probes unknown routes, Then it is limited like anything else', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 25; i++) codes.push((await t.app.inject({ url: `/v1/guess-${i}`, remoteAddress: '192.0.2.44' })).statusCode);
    expect(codes.slice(0, 20).every((c) => c === 404)).toBe(true);
    expect(codes.slice(20).every((c) => c === 429)).toBe(true);
  });
});

describe("a public frontend key's budget per client", () => {
  const FRONTEND = 'frontend-key-123456';
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      createDb,
      env: { API_KEYS: `frontend:${FRONTEND},read:${KEYS.read}`, RATE_LIMIT_PER_MINUTE: '100', RATE_LIMIT_FRONTEND_PER_IP_PER_MINUTE: '10' },
    });
  });
  afterAll(() => t?.dispose());

  it("When one client loops on the storefront's frontend key past the key's whole budget, Then it is limited alone and the key still answers other shoppers", async () => {
    const ask = (key: string, ip: string) => t.app.inject({ url: '/v1/popular', headers: { authorization: `Bearer ${key}` }, remoteAddress: ip });
    const codes: number[] = [];
    // 150 asks against a key budget of 100: what the client's own budget refuses is not charged to the key.
    for (let i = 0; i < 150; i++) codes.push((await ask(FRONTEND, '203.0.113.66')).statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(10);
    expectRateLimited(await ask(FRONTEND, '203.0.113.66'));
    // Other shoppers on the same key, and a backend key from the looping address, are not held by it.
    for (let i = 0; i < 5; i++) expect((await ask(FRONTEND, `198.51.100.${i}`)).statusCode).toBe(200);
    expect((await ask(KEYS.read, '203.0.113.66')).statusCode).toBe(200);
  });
});

describe.skipIf(!redisUp)('rate limits shared through Redis', () => {
  const prefix = `${randomPrefix('rl')}:`;
  const opened: { close(): Promise<unknown> }[] = [];
  const replica = () => openReplica({ REDIS_URL }, prefix, opened);
  afterAll(async () => {
    for (const o of opened) await o.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('When two replicas share Redis, Then one address gets the per-IP budget once across both, and the counter lives under the prefix with a TTL', async () => {
    const [a, b] = [await replica(), await replica()];
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const app = i % 2 === 0 ? a : b;
      codes.push((await app.inject({ url: '/v1/popular', remoteAddress: '203.0.113.99' })).statusCode);
    }
    expect(codes).toEqual([...Array(10).fill(401), 429, 429]);
    const redis = new Redis(REDIS_URL);
    try {
      const keys = await redis.keys(`${prefix}*`);
      expect(keys).toEqual([`${prefix}ip:203.0.113.99`]);
      expect(await redis.pttl(keys[0])).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });
});

describe('rate limits when Redis does not answer', () => {
  it('When the counters cannot be reached, Then requests are neither failed nor held, and each budget is counted in this process meanwhile', async () => {
    // Port 1 on loopback: connection refused at once, as a Redis that went away.
    const config = loadConfig({
      API_KEYS: `read:${KEYS.read}`,
      SAMPLE_DATA: 'false',
      REDIS_URL: 'redis://127.0.0.1:1',
      UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
      RATE_LIMIT_PER_IP_PER_MINUTE: '5',
      RATE_LIMIT_PER_MINUTE: '8',
    });
    const db = await createDb();
    const store = await createMemoryModelStore({});
    const app = await buildApp(createServices({ config, db: db.db, store }));
    try {
      await app.ready();
      const statuses = async (n: number, headers: Record<string, string>) => {
        const out: number[] = [];
        for (let i = 0; i < n; i++) out.push((await app.inject({ url: '/v1/popular', headers })).statusCode);
        return out;
      };
      // A guessed key: 401 within the address's budget, then 429; the real key keeps its own budget.
      expect(await statuses(7, { authorization: 'Bearer guess' })).toEqual([401, 401, 401, 401, 401, 429, 429]);
      expect(await statuses(10, auth('read'))).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 429, 429]);
      const limited = await app.inject({ url: '/v1/popular', headers: auth('read') });
      expect(limited.headers['retry-after']).toBeDefined();
      expect(limited.json().error.code).toBe('RATE_LIMITED');
    } finally {
      await app.close();
      await store.close();
      await db.dispose();
    }
  });
});

describe.skipIf(!redisUp)('rate limits when a partition leaves their Redis connection dead', () => {
  it('When the counters\' socket stops answering, Then a few leases wait out the timeout, the rest are counted in process at once, and after the heal Redis counts again over a new connection', async () => {
    const prefix = `${randomPrefix('rl-dead')}:`;
    const proxy = await startRedisProxy(REDIS_URL);
    const opened: { close(): Promise<unknown> }[] = [];
    const redis = new Redis(REDIS_URL);
    try {
      // 10 per minute and IP: a lease of one count per request, so every request asks Redis.
      const app = await openReplica({ REDIS_URL: proxy.url }, prefix, opened);
      const ask = () => app.inject({ url: '/v1/popular', remoteAddress: '203.0.113.7' });
      const counted = async () => Number(await redis.get(`${prefix}ip:203.0.113.7`));
      await ask();
      expect(await counted()).toBe(1);

      proxy.partition();
      const during: number[] = [];
      for (let i = 0; i < 8; i++) during.push((await ask()).statusCode);
      // Neither failed nor held: counted in this process meanwhile (10 a minute: these are within it).
      expect(during).toEqual(Array(8).fill(401));
      // The leases that timed out in a row had the connection reopened; until a new one answers, leases
      // fail at once rather than each going into the dead socket and waiting out the timeout.
      expect(proxy.lostWrites(/evalsha|eval/i)).toBe(LEASE_TIMEOUTS_TO_REOPEN);

      proxy.heal();
      let back = false;
      for (let i = 0; i < 60 && !back; i++) {
        await ask();
        back = (await counted()) > 1;
        if (!back) await new Promise((r) => setTimeout(r, 250));
      }
      expect(back).toBe(true);
    } finally {
      for (const o of opened) await o.close();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      await proxy.close();
    }
  }, 60_000);
});

describe.skipIf(!support.redis)('rate limits through a Redis frozen for a few seconds', () => {
  it('When leases time out and the connection is reopened, Then each lease is charged once: none is sent again over the new connection', async () => {
    const redis = await startPrivateRedis();
    const prefix = `${randomPrefix('rl-frozen')}:`;
    const opened: { close(): Promise<unknown> }[] = [];
    const probe = new Redis(redis.url);
    const leaseScriptsRun = async () => [...(await probe.info('commandstats')).matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    try {
      const app = await openReplica({ REDIS_URL: redis.url }, prefix, opened);
      const ask = () => app.inject({ url: '/v1/popular', remoteAddress: '203.0.113.9' });
      const counted = async () => Number(await probe.get(`${prefix}ip:203.0.113.9`));
      await ask();
      expect(await counted()).toBe(1);
      const before = await leaseScriptsRun();
      redis.freeze();
      // Each waits out the lease's timeout and is counted in process; the last of them reopens the connection.
      for (let i = 0; i < LEASE_TIMEOUTS_TO_REOPEN; i++) expect((await ask()).statusCode).toBe(401);
      // Past the old socket's end (ioredis waits 2 s for it), with the leases still unanswered.
      await new Promise((r) => setTimeout(r, 3000));
      redis.thaw();
      await expect.poll(counted, { timeout: 10_000 }).toBeGreaterThanOrEqual(1 + LEASE_TIMEOUTS_TO_REOPEN);
      await new Promise((r) => setTimeout(r, 1000));
      // Redis ran each lease the frozen socket held once, and nothing more.
      expect(await leaseScriptsRun()).toBe(before + LEASE_TIMEOUTS_TO_REOPEN);
      expect(await counted()).toBe(1 + LEASE_TIMEOUTS_TO_REOPEN);
    } finally {
      for (const o of opened) await o.close();
      probe.disconnect();
      await redis.dispose();
    }
  }, 60_000);
});

describe.skipIf(!clusterPossible)('rate limits shared through a Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  const opened: { close(): Promise<unknown> }[] = [];
  beforeAll(async () => {
    cluster = await startPrivateRedisCluster(3);
  }, 60_000);
  afterAll(async () => {
    for (const o of opened) await o.close();
    await cluster?.dispose();
  });

  it('When two replicas share a Redis Cluster, Then one address gets the per-IP budget once across both', async () => {
    const prefix = `${randomPrefix('rlc')}:`;
    const build = () => openReplica({ REDIS_CLUSTER_NODES: cluster.nodes.join(',') }, prefix, opened);
    const [a, b] = [await build(), await build()];
    const codes: number[] = [];
    // Three addresses: three counters, in different slots. Each replica sees only half of the requests,
    // so the 429s show the counts are shared.
    for (const address of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      for (let i = 0; i < 12; i++) codes.push((await (i % 2 === 0 ? a : b).inject({ url: '/v1/popular', remoteAddress: address })).statusCode);
    }
    expect(codes).toEqual([0, 1, 2].flatMap(() => [...Array(10).fill(401), 429, 429]));
  });
});
