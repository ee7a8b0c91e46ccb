import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROFILES_ARTIFACT } from '../../../src/profiles/profiles-artifact.js';
import { decodeProfiles } from '../../../src/profiles/profile-codec.js';
import { SEGMENT_NAMES, type SegmentDimension } from '../../../src/profiles/profile-service.js';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { freePort, privateServerSupport } from '../../helpers/private-servers.js';
import { relatedMember, trainRelatedTierShop } from '../../helpers/related-member.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { SHOP_RECIPE, seedShop } from '../serving/shop-fixture.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { runExport } from '../../../src/exports/run-export.js';
import { exportRequest } from '../../../src/exports/export-request.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** A redis-server of the test's own that persists to an RDB file in `dir` only when told (SAVE), as a snapshot schedule does. */
async function persistentRedis() {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'erasure-rdb-'));
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', 'dump.rdb'], { stdio: 'ignore' });
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
        s.on('error', () => resolve(false));
      });
      if (up) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    /** A crash (SIGKILL: nothing saved) and a start that loads the last snapshot. */
    async crashAndRestart() {
      const c = child!;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGKILL');
      await exited;
      await start();
    },
    async dispose() {
      child?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * README "Redis down": run Redis with persistence (RDB or AOF) in production. A Redis that crashes comes
 * back with its last snapshot (or a failover promotes a replica a little behind): the writes after it are
 * gone, an erasure's scrub of the model store among them, while Postgres keeps the erasure. The service must
 * not then serve, list or export the erased customer again from what the store brought back.
 */
describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('erasure and a Redis that restarts from a snapshot taken before it', () => {
  let redis: Awaited<ReturnType<typeof persistentRedis>>;
  let testDb: TestDb;
  let first: TestApp;
  let replica: TestApp | undefined;
  let version: string;
  let recipesDir: string;
  const exportDir = mkdtempSync(path.join(tmpdir(), 'erasure-rdb-exports-'));
  const prefix = 'erasure-restored:';
  const shared = async (): Promise<TestDb> => ({ db: testDb.db, dispose: async () => {} });

  beforeAll(async () => {
    redis = await persistentRedis();
    testDb = await createPostgresTestDb();
    first = await createTestApp({ createDb: shared, env: { EXPORT_DIR: exportDir }, store: createRedisModelStore({ url: redis.url, prefix }) });
    await seedShop(first.services);
    recipesDir = mkdtempSync(path.join(tmpdir(), 'erasure-rdb-recipes-'));
    writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
    const { services } = first;
    ({ version } = await createTrainer({
      events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir, isolation: 'inline', threads: 1, erasures: services.erasure,
    }).train());
    await services.serving.refresh();
  }, 60_000);
  afterAll(async () => {
    await replica?.dispose();
    await first?.dispose();
    await testDb?.dispose();
    await redis?.dispose();
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
    rmSync(exportDir, { recursive: true, force: true });
  });

  it('When Redis comes back with a snapshot from before an acknowledged erasure, Then no export, segment list or replica started after it names the customer', async () => {
    const before = await first.app.inject({ url: '/v1/users/g-user3/recommendations?k=5', headers: auth('read') });
    expect(before.json().fallback).toBe(false);
    // The snapshot schedule's last save, before the erasure.
    const client = new Redis(redis.url);
    await client.save();
    await client.quit();

    expect((await first.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') })).statusCode).toBe(204);
    expect(await first.services.store.getEntries(version, USERS_TABLE, ['g-user3'])).toEqual([null]);

    await redis.crashAndRestart();
    // A replica (or the same service after a deploy) starting on the restarted Redis. It claims jobs from the
    // same queue, so it may run the export below: it writes to the same EXPORT_DIR, as replicas sharing a volume do.
    replica = await createTestApp({ createDb: shared, env: { EXPORT_DIR: exportDir }, store: createRedisModelStore({ url: redis.url, prefix }) });
    // A campaign export the operator runs afterwards, from the process that made the erasure.
    const exported = await first.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv' } });
    expect(exported.statusCode).toBe(202);
    expect((await finishedJob(first, `/v1/exports/${exported.json().jobId}`)).status).toBe('succeeded');
    const file = readFileSync(path.join(exportDir, `${exported.json().jobId}.csv`), 'utf8');
    expect(file).toContain('g-user4');
    expect(file).not.toContain('g-user3');
    const answer = await replica.app.inject({ url: '/v1/users/g-user3/recommendations?k=5', headers: auth('read') });
    expect(answer.statusCode).toBe(200);
    expect(answer.json().fallback).toBe(true);
    // Segment lists (and the campaign exports filtered by them) are read from the version's profiles.
    const listed = new Set<string>();
    for (const dimension of Object.keys(SEGMENT_NAMES) as SegmentDimension[]) {
      for (const name of SEGMENT_NAMES[dimension]) {
        const res = await replica.app.inject({ url: `/v1/segments/${name}/users?dimension=${dimension}&limit=1000`, headers: auth('admin') });
        for (const u of res.json().users as { userId: string }[]) listed.add(u.userId);
      }
    }
    expect(listed).toContain('g-user4');
    expect(listed).not.toContain('g-user3');
    const profiles = decodeProfiles((await replica.services.store.getArtifact(version, PROFILES_ARTIFACT))!).profiles.map((p) => p.userId);
    expect(profiles).not.toContain('g-user3');
    expect(await replica.services.store.getEntries(version, USERS_TABLE, ['g-user3'])).toEqual([null]);
  }, 60_000);
});

/**
 * The same restart under a process that keeps running: its next read of erasures (every ERASURE_REFRESH_MS
 * while it serves) scrubs what the snapshot brought back, live events included, and only that: a version
 * trained after an earlier erasure keeps the new customer back under that id.
 */
describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('erasure, a Redis restarted from an older snapshot, and a process that keeps running', () => {
  let redis: Awaited<ReturnType<typeof persistentRedis>>;
  let t: TestApp;
  let recipesDir: string;
  const exportDir = mkdtempSync(path.join(tmpdir(), 'erasure-rdb-exports-'));
  const train = async () => {
    const { services } = t;
    const { version } = await createTrainer({
      events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir, isolation: 'inline', threads: 1, erasures: services.erasure,
    }).train();
    await services.serving.refresh();
    return version;
  };
  const erase = async (user: string) => expect((await t.app.inject({ method: 'DELETE', url: `/v1/users/${user}`, headers: auth('admin') })).statusCode).toBe(204);
  const purchaseNow = (user: string, orderId: string) =>
    t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ userId: user, itemId: 'g5', quantity: 1, orderId, ts: new Date().toISOString() }] } });
  const profiled = async (version: string) => decodeProfiles((await t.services.store.getArtifact(version, PROFILES_ARTIFACT))!).profiles.map((p) => p.userId);

  beforeAll(async () => {
    redis = await persistentRedis();
    // Its read of erasures is the test's (erasureFollower.poll below): one by the timer every ERASURE_REFRESH_MS could
    // scrub the store between the restart and the look at what the snapshot brought back.
    t = await createTestApp({ createDb: createPostgresTestDb, store: createRedisModelStore({ url: redis.url, prefix: 'erasure-restored-running:' }), env: { ERASURE_REFRESH_MS: '600000' } });
    await seedShop(t.services);
    recipesDir = mkdtempSync(path.join(tmpdir(), 'erasure-rdb-recipes-'));
    writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await redis?.dispose();
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
    rmSync(exportDir, { recursive: true, force: true });
  });

  it('When Redis comes back from before an erasure under a running process, Then its next read of erasures scrubs the customer again, and nobody else', async () => {
    const { store } = t.services;
    const v1 = await train();
    // g-user5 erased, then back as a new customer, whom the next version learns.
    await erase('g-user5');
    expect((await t.app.inject({ method: 'PUT', url: '/v1/users/g-user5', headers: auth('write'), payload: { attributes: { country: 'UK' } } })).statusCode).toBe(200);
    expect((await purchaseNow('g-user5', 'back-o1')).json()).toMatchObject({ inserted: 1 });
    const v2 = await train();
    expect(await profiled(v2)).toContain('g-user5');
    // g-user3 buys after the training: live events.
    expect((await purchaseNow('g-user3', 'late-o1')).json()).toMatchObject({ inserted: 1 });
    for (let i = 0; (await store.getUserEvents('g-user3')).length === 0; i++) {
      expect(i).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 20));
    }
    const client = new Redis(redis.url);
    await client.save();
    await client.quit();

    await erase('g-user3');
    await redis.crashAndRestart();
    while (!(await store.ping())) await new Promise((r) => setTimeout(r, 50));
    // What the snapshot brought back.
    expect(await store.getEntries(v2, USERS_TABLE, ['g-user3'])).not.toEqual([null]);
    expect((await store.getUserEvents('g-user3')).length).toBeGreaterThan(0);
    // An export before the store is scrubbed again (its own catch-up left out) writes neither.
    const { serving, audiences, profiles, erasureRepository: erasures } = t.services;
    const file = path.join(exportDir, 'before-catch-up.csv');
    await runExport({ serving, audiences, profiles, store, erasures }, exportRequest.parse({ kind: 'recommendations', k: 3, format: 'csv' }), file);
    const written = readFileSync(file, 'utf8');
    expect(written).not.toContain('g-user3');
    expect(written).toContain('g-user5');

    // Its next read of the erasures scrubs the store again. Redis's ping answered, but the artifact reader's worker has
    // a connection of its own that may still be coming back ('Stream isn't writeable'): a scrub that fails for that is
    // logged and tried again at the follower's next read (every ERASURE_REFRESH_MS), as here.
    for (const deadline = Date.now() + 10_000; ; ) {
      await t.services.erasureFollower.poll();
      if ((await store.getEntries(v2, USERS_TABLE, ['g-user3']))[0] === null || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    for (const version of [v1, v2]) {
      expect(await store.getEntries(version, USERS_TABLE, ['g-user3'])).toEqual([null]);
      expect(await profiled(version)).not.toContain('g-user3');
    }
    expect(await store.getUserEvents('g-user3')).toEqual([]);
    const answer = await t.app.inject({ url: '/v1/users/g-user3/recommendations?k=5', headers: auth('read') });
    expect(answer.json().fallback).toBe(true);
    // The customer back under g-user5 after its erasure stays in the version that learned them.
    expect(await profiled(v2)).toContain('g-user5');
    expect(await store.getEntries(v2, USERS_TABLE, ['g-user5'])).not.toEqual([null]);
    // Done: the next check finds nothing to scrub.
    expect(await t.services.erasure.catchUp()).toEqual([]);
  }, 60_000);
});

/**
 * A Redis restored from before an erasure, read by a replica that heard no erasure message (a Redis user without
 * pub/sub rights; a restart drops every subscription too) and had already forgotten the customer, before another
 * process scrubbed the store again. That replica's next read of the erasures finds nothing new, nor the store
 * behind: what it read meanwhile (a product's audience, the customer's entry) held the customer until the model
 * version changed.
 */
describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('erasure, a Redis restored from before it, and a replica that read it before another process scrubbed it again', () => {
  let redis: Awaited<ReturnType<typeof persistentRedis>>;
  let testDb: TestDb;
  let a: TestApp;
  let b: TestApp;
  let recipesDir: string;
  const prefix = 'erasure-restored-unheard:';
  const shared = async (): Promise<TestDb> => ({ db: testDb.db, dispose: async () => {} });
  // The reads of erasures are made by the test, in the order it needs.
  const env = { ERASURE_REFRESH_MS: '600000' };

  beforeAll(async () => {
    redis = await persistentRedis();
    testDb = await createPostgresTestDb();
    a = await createTestApp({ createDb: shared, env, store: createRedisModelStore({ url: redis.url, prefix }) });
    b = await createTestApp({ createDb: shared, env, store: { ...createRedisModelStore({ url: redis.url, prefix }), onUserErased: undefined } });
    recipesDir = await trainRelatedTierShop(a, b, 'erasure-rdb-recipes-');
  }, 60_000);
  afterAll(async () => {
    await b?.dispose();
    await a?.dispose();
    await testDb?.dispose();
    await redis?.dispose();
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
  });

  it('When another process scrubs the restored store again, Then the replica that read it meanwhile forgets the customer at its next read of the erasures', async () => {
    const { q, userId } = await relatedMember(a.services);
    const client = new Redis(redis.url);
    await client.save();
    await client.quit();

    expect((await a.app.inject({ method: 'DELETE', url: `/v1/users/${userId}`, headers: auth('admin') })).statusCode).toBe(204);
    // B learns of it from Postgres, before it holds anything of the customer.
    await b.services.erasureFollower.poll();

    await redis.crashAndRestart();
    while (!(await a.services.store.ping()) || !(await b.services.store.ping())) await new Promise((r) => setTimeout(r, 50));
    // B reads the restored store (its services called directly: a request would start its own read of the erasures).
    // (Its recommendations already answer the customer as one the version does not know: serving keeps that.)
    const inB = async () => (await b.services.audiences.audience(q))!.users.some((u) => u.userId === userId);
    // The store's other connections reconnect after its ping does.
    await expect.poll(() => inB().catch(() => 'not yet'), { timeout: 10_000, interval: 100 }).toBe(true);

    // A scrubs the store again (its read of the erasures); then B reads the erasures as it does every ERASURE_REFRESH_MS.
    // A's artifact reads go through a worker thread's own connection, which may still be reconnecting after its
    // ping answered: a scrub refused for that is tried again, as the follower tries it again every ERASURE_REFRESH_MS.
    let scrubbed: string[] | undefined;
    for (const deadline = Date.now() + 10_000; scrubbed === undefined; ) {
      scrubbed = await a.services.erasure.catchUp().catch((err: unknown) => {
        if (Date.now() > deadline) throw err;
        return undefined;
      });
      if (scrubbed === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(scrubbed).toContain(userId);
    await b.services.erasureFollower.poll();
    expect(await inB()).toBe(false);
  }, 60_000);
});
