import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { openDatabase, openDatabaseWhenReachable } from '../../../src/data/open-database.js';
import { createServices, type Services } from '../../../src/services.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import type { Db } from '../../../src/data/db.js';
import { auth, KEYS } from '../../helpers/app.js';
import { startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../../helpers/private-servers.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';
import { faultTestsRunnable, until } from './fault-app.js';

/**
 * A server that starts while Postgres cannot be reached, on a Redis that answers (server.ts: it listens and serves
 * the model Redis holds). What it knows of erasures is in Postgres: the erasures owed (asked, not completed:
 * erasure_requests) and those completed (erased_users), against which it checks that the store still holds every
 * scrub. Here the Redis came back from a snapshot taken before one customer's erasure (g-user2), and another
 * customer's erasure is owed (g-user1: asked, its scrub never ran). Until Postgres answers, neither may be answered
 * from the model: every customer is answered as one nobody knows (the model's cold start), since which ones were
 * erased cannot be told; item lists, which name no customer, are served from the model.
 */
const runnable = await faultTestsRunnable();

describe.skipIf(!runnable)('a server started while Postgres is down, on a Redis behind on erasures', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let config: Config;
  let db: Db;
  let store: ModelStore;
  let services: Services;
  let app: FastifyInstance;

  const userList = async (id: string) => {
    const res = await app.inject({ url: `/v1/users/${id}/recommendations?k=3`, headers: auth('read') });
    const body = res.json() as { fallback: boolean; items: { itemId: string }[]; strategy: string };
    return { status: res.statusCode, fallback: body.fallback, items: body.items?.map((i) => i.itemId) };
  };

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    config = loadConfig({
      API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`, DATABASE_URL: pg.url, REDIS_URL: redis.url, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent',
      TRAIN_THREADS: '1', ERASURE_REFRESH_MS: '300', ERASURE_REDRIVE_MS: '3600000', ERASURE_CATCH_UP_RETRY_MS: '0',
    });
    // The shop trained while Postgres was up, Redis saved (a snapshot), then g-user2 erased: Postgres keeps the erasure.
    const first = await openDatabase(config);
    const firstStore = await createModelStore(config);
    try {
      const s = createServices({ config, db: first, store: firstStore });
      await seedShop(s);
      await trainAndPublish(s);
      const client = new Redis(redis.url);
      await client.save();
      client.disconnect();
      await s.eraseUser('g-user2');
      // g-user1's erasure asked and not completed (the process died before its scrub).
      await first.query(`INSERT INTO erasure_requests (user_id) VALUES ('g-user1')`);
    } finally {
      await firstStore.close();
      await first.close();
    }
    // Everything restarts: Redis from its snapshot (g-user2 back in it), Postgres down.
    await redis.kill();
    await redis.start();
    await pg.stop();

    ({ db } = await openDatabaseWhenReachable(config, { onWait: () => {} }));
    store = await createModelStore(config, { connectWaitMs: 0 });
    services = createServices({ config, db, store, storefront: true });
    app = await buildApp(services, { erasureCatchUpWaitMs: 2000 });
    await app.ready();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await store?.close();
    await db?.close();
    await Promise.all([pg?.dispose(), redis?.dispose()]);
  });

  it('When Postgres is down, Then no customer is answered from the model (cold start), and item lists are', async () => {
    // The model is served (an ordinary customer's list comes from it, not from defaults), as before.
    const ordinary = await until('g-user3 served from the model', () => userList('g-user3'), (a) => a.status === 200, 30_000);
    expect(ordinary.items?.length).toBeGreaterThan(0);
    const answers = Object.fromEntries(await Promise.all(['g-user1', 'g-user2', 'g-user3'].map(async (id) => [id, (await userList(id)).fallback] as const)));
    // Owed, erased (back in the restored Redis), ordinary: none told apart without Postgres.
    expect(answers).toEqual({ 'g-user1': true, 'g-user2': true, 'g-user3': true });
    const similar = await app.inject({ url: '/v1/items/g1/similar?k=3', headers: auth('read') });
    expect(similar.statusCode).toBe(200);
    expect(similar.json()).toMatchObject({ fallback: false });
  }, 60_000);

  it('When Postgres comes back, Then ordinary customers get their lists again, and the erased and owed ones never', async () => {
    await pg.start();
    // Ready once Postgres answers, the store was checked against the erasures and the owed list read (erasureCatchUp),
    // as a balancer sees it: customers are answered from the model from then on.
    await until('ready', async () => (await app.inject({ url: '/health/ready' })).statusCode, (s) => s === 200, 30_000);
    expect(await userList('g-user3')).toMatchObject({ status: 200, fallback: false });
    for (const id of ['g-user1', 'g-user2']) expect(await userList(id), id).toMatchObject({ status: 200, fallback: true });
  }, 60_000);
});

/**
 * The same start on the in-process model store (REDIS_URL unset): it keeps no erasure records, so its scrub at start
 * asks nothing of Postgres and succeeds; only the list of erasures owed, read from Postgres, says whom to hold back.
 */
describe.skipIf(!runnable)('a server started while Postgres is down, on the in-process store, with an erasure owed', () => {
  let pg: PrivatePostgres;
  let store: ModelStore;
  let db: Db;
  let app: FastifyInstance;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-owed-pg-down-'));

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    const config = loadConfig({
      API_KEYS: `read:${KEYS.read}`, DATABASE_URL: pg.url, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', DATA_DIR: dataDir, TRAIN_THREADS: '1',
      // The erasures read every 10 minutes (the most ERASURE_REFRESH_MS allows): readiness, not the timer, must end the hold.
      ERASURE_REDRIVE_MS: '3600000', ERASURE_CATCH_UP_RETRY_MS: '0', ERASURE_REFRESH_MS: '600000',
    });
    const first = await openDatabase(config);
    store = await createModelStore(config);
    try {
      const s = createServices({ config, db: first, store });
      await seedShop(s);
      await trainAndPublish(s);
      await first.query(`INSERT INTO erasure_requests (user_id) VALUES ('g-user1')`);
    } finally {
      await first.close();
    }
    await pg.stop();
    ({ db } = await openDatabaseWhenReachable(config, { onWait: () => {} }));
    app = await buildApp(createServices({ config, db, store, storefront: true }), { erasureCatchUpWaitMs: 2000 });
    await app.ready();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await store?.close();
    await db?.close();
    await pg?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When Postgres is down, Then the customer whose erasure is owed is not answered from the model', async () => {
    const res = await app.inject({ url: '/v1/users/g-user1/recommendations?k=3', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ fallback: true });
  }, 30_000);

  it('When Postgres comes back, Then the server reports ready only once its customers are answered from the model again', async () => {
    await pg.start();
    // Ready said 200 (database up, nothing for the in-process store to catch up) while every customer was still
    // answered with the cold start, until the erasures' next timed read (ERASURE_REFRESH_MS, up to 10 minutes).
    await until('ready', async () => (await app.inject({ url: '/health/ready' })).statusCode, (s) => s === 200, 30_000);
    const list = async (id: string) => (await app.inject({ url: `/v1/users/${id}/recommendations?k=3`, headers: auth('read') })).json() as { fallback: boolean };
    expect(await list('g-user3')).toMatchObject({ fallback: false });
    expect(await list('g-user1')).toMatchObject({ fallback: true });
  }, 60_000);
});
