import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { openDatabase, openDatabaseWhenReachable } from '../../../src/data/open-database.js';
import { createServices } from '../../../src/services.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import type { Db } from '../../../src/data/db.js';
import { auth, KEYS } from '../../helpers/app.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../../helpers/private-servers.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';
import { faultTestsRunnable, until } from './fault-app.js';

/**
 * A server that starts while Postgres cannot be reached (server.ts: it listens and serves the model its store holds).
 * What it knows of erasures is in Postgres: the erasures owed (asked, not completed: erasure_requests) and those
 * completed (erased_users), against which it checks that the store still holds every scrub. Two servers start so, on
 * one Postgres (one start of it, one seed, one outage): one on a Redis that came back from a snapshot taken before one
 * customer's erasure (g-user2), the other on the in-process store (REDIS_URL unset: it keeps no erasure records, so its
 * scrub at start asks nothing of Postgres and succeeds; only the list of erasures owed says whom to hold back). Another
 * customer's erasure is owed (g-user1: asked, its scrub never ran). Until Postgres answers, neither may be answered from
 * the model: every customer is answered as one nobody knows (the model's cold start), since which ones were erased
 * cannot be told; item lists, which name no customer, are served from the model. The erasures are read by the timer
 * only every 10 minutes (ERASURE_REFRESH_MS at its most): readiness, which asks for that read, ends the hold.
 */
const runnable = await faultTestsRunnable();

describe.skipIf(!runnable)('servers started while Postgres is down, with erasures only Postgres knows of', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-owed-pg-down-'));
  const opened: { close(): Promise<void> }[] = [];
  /** The server on the Redis restored from before g-user2's erasure, and the one on the in-process store. */
  let onRedis: FastifyInstance;
  let inProcess: FastifyInstance;

  const userList = async (app: FastifyInstance, id: string) => {
    const res = await app.inject({ url: `/v1/users/${id}/recommendations?k=3`, headers: auth('read') });
    const body = res.json() as { fallback: boolean; items: { itemId: string }[]; strategy: string };
    return { status: res.statusCode, fallback: body.fallback, items: body.items?.map((i) => i.itemId) };
  };
  const fallbacks = async (app: FastifyInstance, ids: string[]) =>
    Object.fromEntries(await Promise.all(ids.map(async (id) => [id, (await userList(app, id)).fallback] as const)));

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    const common = {
      API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`, DATABASE_URL: pg.url, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent',
      TRAIN_THREADS: '1', ERASURE_REFRESH_MS: '600000', ERASURE_REDRIVE_MS: '3600000', ERASURE_CATCH_UP_RETRY_MS: '0',
    };
    const redisConfig: Config = loadConfig({ ...common, REDIS_URL: redis.url });
    const memoryConfig: Config = loadConfig({ ...common, DATA_DIR: dataDir });
    const first = await openDatabase(redisConfig);
    const firstRedisStore = await createModelStore(redisConfig);
    // The in-process store is the one the server uses after (it keeps its model in this process).
    const memoryStore: ModelStore = await createModelStore(memoryConfig);
    opened.push(memoryStore);
    try {
      // The shop trained while Postgres was up, Redis saved (a snapshot), then g-user2 erased: Postgres keeps the erasure.
      const s = createServices({ config: redisConfig, db: first, store: firstRedisStore });
      await seedShop(s);
      await trainAndPublish(s);
      const client = new Redis(redis.url);
      await client.save();
      client.disconnect();
      await s.eraseUser('g-user2');
      // The in-process store's model, trained after that erasure (its store was scrubbed of it).
      await trainAndPublish(createServices({ config: memoryConfig, db: first, store: memoryStore }));
      // g-user1's erasure asked and not completed (the process died before its scrub).
      await first.query(`INSERT INTO erasure_requests (user_id) VALUES ('g-user1')`);
    } finally {
      await firstRedisStore.close();
      await first.close();
    }
    // Everything restarts: Redis from its snapshot (g-user2 back in it), Postgres down.
    await redis.kill();
    await redis.start();
    await pg.stop();

    const start = async (config: Config, store?: ModelStore) => {
      const { db } = await openDatabaseWhenReachable(config, { onWait: () => {} });
      opened.push(db);
      const s = store ?? (await createModelStore(config, { connectWaitMs: 0 }));
      if (!store) opened.push(s);
      const app = await buildApp(createServices({ config, db, store: s, storefront: true }), { erasureCatchUpWaitMs: 2000 });
      opened.unshift(app);
      await app.ready();
      return app;
    };
    [onRedis, inProcess] = await Promise.all([start(redisConfig), start(memoryConfig, memoryStore)]);
  }, 120_000);

  afterAll(async () => {
    for (const o of opened) await o.close();
    await Promise.all([pg?.dispose(), redis?.dispose()]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When Postgres is down, Then no customer is answered from the model (cold start), and item lists are', async () => {
    // The model is served (an ordinary customer's list comes from it, not from defaults), as before.
    const ordinary = await until('g-user3 served from the model', () => userList(onRedis, 'g-user3'), (a) => a.status === 200, 30_000);
    expect(ordinary.items?.length).toBeGreaterThan(0);
    // Owed, erased (back in the restored Redis), ordinary: none told apart without Postgres.
    expect(await fallbacks(onRedis, ['g-user1', 'g-user2', 'g-user3'])).toEqual({ 'g-user1': true, 'g-user2': true, 'g-user3': true });
    const similar = await onRedis.inject({ url: '/v1/items/g1/similar?k=3', headers: auth('read') });
    expect(similar.statusCode).toBe(200);
    expect(similar.json()).toMatchObject({ fallback: false });
    // An audience cannot name its customers either: refused (it was 200 with nobody in it and fallback: false, as if
    // no customer were likely to buy the item; with recent buyers left out it needs Postgres anyway).
    const audience = await onRedis.inject({ url: '/v1/items/g1/audience?includeRecentBuyers=true', headers: auth('admin') });
    expect(audience.statusCode).toBe(503);
    expect(audience.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
    // On the in-process store, the customer whose erasure is owed (served before).
    expect(await userList(inProcess, 'g-user1')).toMatchObject({ status: 200, fallback: true });
    // Nor the segments: "ask again", not "no profiles yet" (404), which read as a shop never trained.
    const segments = await onRedis.inject({ url: '/v1/segments', headers: auth('admin') });
    expect(segments.statusCode, segments.body).toBe(503);
    expect(segments.json()).toMatchObject({ error: { code: 'DEPENDENCY_UNAVAILABLE' } });
    // Operations see the hold for what it is: the cold starts above counted as held, none as unknown users.
    const metrics = (await onRedis.inject({ url: '/metrics' })).body;
    const counted = (reason: string) => Number(new RegExp(`^recsvc_serving_fallbacks_total\\{kind="user",reason="${reason}"\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    expect(counted('customers-held')).toBeGreaterThanOrEqual(3);
    expect(counted('unknown-user')).toBe(0);
  }, 60_000);

  it('When Postgres comes back, Then each server is ready only once ordinary customers get their lists again, and the erased and owed ones never', async () => {
    await pg.start();
    // Ready once Postgres answers, the store was checked against the erasures and the owed list read (erasureCatchUp),
    // as a balancer sees it: customers are answered from the model from then on. Before, the in-process server said
    // ready (database up, nothing for its store to catch up) while every customer still got the cold start, until the
    // timer's read of the erasures (ERASURE_REFRESH_MS: here 10 minutes).
    for (const app of [onRedis, inProcess]) await until('ready', async () => (await app.inject({ url: '/health/ready' })).statusCode, (s) => s === 200, 30_000);
    expect(await fallbacks(onRedis, ['g-user1', 'g-user2', 'g-user3'])).toEqual({ 'g-user1': true, 'g-user2': true, 'g-user3': false });
    expect(await fallbacks(inProcess, ['g-user1', 'g-user3'])).toEqual({ 'g-user1': true, 'g-user3': false });
    const audience = await onRedis.inject({ url: '/v1/items/g1/audience?includeRecentBuyers=true', headers: auth('admin') });
    expect(audience.statusCode).toBe(200);
    expect((audience.json() as { users: unknown[] }).users.length).toBeGreaterThan(0);
  }, 60_000);
});
