import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../src/services.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth } from '../../helpers/app.js';
import { DB_BACKENDS, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { deleteRedisPrefix } from '../training/store-backends.js';
import { askFor, replicaConfig, startApiProcess } from './api-process.js';
import { seedShop, SHOP_RECIPE } from './shop-fixture.js';

const postgres = DB_BACKENDS[0];
const available = (await postgres.available()) && (await serviceAvailable(REDIS_URL));

interface Replica {
  services: Services;
  app: FastifyInstance;
  store: ModelStore;
  /** Loads of this process's on-request scorer, per version: its read of the hybrid's artifact (nothing else in serving reads it). */
  scorerLoads: Map<string, number>;
  /** Every artifact this process read, in order. */
  artifactReads: string[];
}

/**
 * A storefront process readies each model version before it answers with it: the version's on-request
 * scorer (customers with no precomputed entry; precomputeDays 5 leaves buyers 0-6 of each half without
 * one) is loaded before the process reports ready, and a version published by another process replaces
 * the one in hand only once its scorer is loaded. Loading it took 1.3 s at 150,000 customers, 0.6 s of
 * it in one stretch of the event loop, and the first such customer waited for all of it
 * (bench/scorer-load.ts).
 */
describe.skipIf(!available)('a storefront process readies each version before serving it', () => {
  const prefix = `${randomPrefix('readying')}:`;
  const config = replicaConfig();
  let testDb: TestDb;
  let recipesDir: string;
  const replicas: Replica[] = [];
  const versions: string[] = [];
  // Reads held: this replica's read of this artifact of this version waits until released.
  const holds: { replica: Replica; version: string; artifact: string; reached: () => void; released: Promise<void>; fails?: boolean }[] = [];
  /** Holds the replica's next read of the artifact (default: the hybrid's, i.e. its scorer load). */
  const holdRead = (replica: Replica, version: string, artifact = 'recommender:hybrid') => {
    let reached!: () => void;
    let release!: () => void;
    const hold: (typeof holds)[number] = { replica, version, artifact, reached: () => reached(), released: new Promise<void>((r) => (release = r)) };
    const isReached = new Promise<void>((r) => (reached = r));
    holds.push(hold);
    return {
      reached: isReached,
      /** Lets the read go on, or with `fails` end as a Redis that went away would end it. */
      release(fails = false) {
        if (holds.includes(hold)) holds.splice(holds.indexOf(hold), 1);
        hold.fails ||= fails;
        release();
      },
    };
  };

  const startReplica = async (storefront: boolean): Promise<Replica> => {
    const redisStore = createRedisModelStore({ url: REDIS_URL, prefix });
    const replica = { store: redisStore, scorerLoads: new Map(), artifactReads: [] as string[] } as Replica;
    const store: ModelStore = {
      ...redisStore,
      getArtifact: async (version, name) => {
        replica.artifactReads.push(name);
        if (name === 'recommender:hybrid') replica.scorerLoads.set(version, (replica.scorerLoads.get(version) ?? 0) + 1);
        const hold = holds.find((h) => h.replica === replica && h.version === version && h.artifact === name);
        if (hold) {
          hold.reached();
          await hold.released;
          if (hold.fails) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });
        }
        return redisStore.getArtifact(version, name);
      },
    };
    Object.assign(replica, await startApiProcess(config, testDb.db, store, { storefront }));
    replicas.push(replica);
    return replica;
  };
  const ask = (r: Replica, user: string) => askFor(r.app, user);

  beforeAll(async () => {
    testDb = await postgres.create();
    recipesDir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(recipesDir, 'shop.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop' }));
    const trainer = await startReplica(false);
    await seedShop(trainer.services);
    const { events, catalog, store } = trainer.services;
    for (let n = 0; n < 2; n++) {
      const { version } = await createTrainer({ events, catalog, store, defaultRecipe: 'shop', recipesDir, isolation: 'inline', threads: 1, precomputeDays: 5 }).train();
      versions.push(version);
    }
  });
  afterAll(async () => {
    for (const r of replicas) {
      await r.app.close();
      await r.store.close();
    }
    await testDb.dispose();
    await deleteRedisPrefix(prefix);
    await rm(recipesDir, { recursive: true, force: true });
  });

  it('When a storefront process is readied at start, Then its scorer is loaded before any request, and neither the first customer scored on request nor the first page of a new product loads anything', async () => {
    const [, second] = versions;
    const front = await startReplica(true);
    await front.services.serving.ready();
    expect(front.scorerLoads.get(second)).toBe(1);
    // g-user0 has no precomputed entry: scored from their purchases, by the scorer already loaded.
    expect(await ask(front, 'g-user0')).toMatchObject({ fallback: false, modelVersion: second });
    expect(front.scorerLoads.get(second)).toBe(1);

    // A product added after training: its page finds its neighbours with the content source the scorer
    // loaded, reading no artifact.
    const readsBefore = front.artifactReads.length;
    await replicas[0].services.catalog.upsertItems([{ id: 'k-carafe', title: 'glass kitchen carafe tall', categories: ['kitchen', 'glass'], price: 63 }]);
    await front.services.serving.refresh();
    const res = await front.app.inject({ url: '/v1/items/k-carafe/similar?k=3', headers: auth('read') });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { items: { itemId: string }[] }).items.map((i) => i.itemId).every((id) => id.startsWith('k'))).toBe(true);
    expect(front.artifactReads.slice(readsBefore)).toEqual([]);

    // A worker (no storefront) loads no scorer until a customer needs one.
    const worker = await startReplica(false);
    await worker.services.serving.ready();
    expect(worker.scorerLoads.get(second)).toBeUndefined();
  });

  it('When another process activates a version, Then the storefront answers with the version in hand until the new one is readied, and a customer erased meanwhile stays erased in it', async () => {
    const [first, second] = versions;
    const front = await startReplica(true);
    await front.services.serving.ready();
    expect((await ask(front, 'k-user9')).modelVersion).toBe(second);

    const scorerLoad = holdRead(front, first);
    try {
      // A rollback through another process: the store announces it to every replica.
      expect(await replicas[0].services.activateModel(first)).toBe(true);
      await scorerLoad.reached;
      // The first version's serving tables are loaded, its scorer is not: the second one still answers,
      // at once, precomputed customers and customers scored on request alike.
      expect(await ask(front, 'k-user9')).toMatchObject({ fallback: false, modelVersion: second });
      expect(await ask(front, 'k-user1')).toMatchObject({ fallback: false, modelVersion: second });
      // The erasure follower's call for a customer the first version's scorer knows (Postgres keeps their
      // purchases here: only this process is told).
      await front.services.serving.forgetUser('g-user2');
    } finally {
      scorerLoad.release();
    }
    await expect.poll(async () => (await ask(front, 'k-user9')).modelVersion).toBe(first);
    expect(front.scorerLoads.get(first)).toBe(1);
    // Scored on request by the scorer readied before the switch: no second load.
    expect(await ask(front, 'g-user0')).toMatchObject({ fallback: false, modelVersion: first });
    expect(front.scorerLoads.get(first)).toBe(1);
    // The customer forgotten while the first version was readied is a stranger to it too.
    expect(await ask(front, 'g-user2')).toMatchObject({ fallback: true, modelVersion: first });
  });

  it('When this process activates a version while it readies another, Then its requests from then on are answered with the one it activated', async () => {
    const [first, second] = versions;
    const front = await startReplica(true);
    await front.services.serving.ready();
    expect((await ask(front, 'k-user9')).modelVersion).toBe(first);

    const secondLoad = holdRead(front, second);
    let firstLoad: ReturnType<typeof holdRead> | undefined;
    let early: Promise<{ modelVersion: string }>;
    let late: Promise<{ modelVersion: string }>;
    try {
      // A training elsewhere publishes the second version; while this process readies it, an operator
      // rolls back to the first through this process.
      expect(await replicas[0].services.activateModel(second)).toBe(true);
      await secondLoad.reached;
      expect(await front.services.activateModel(first)).toBe(true);
      early = ask(front, 'k-user9');
      // The second version's readying ends; the first is loaded again and readied after it.
      firstLoad = holdRead(front, first);
      secondLoad.release();
      await firstLoad.reached;
      late = ask(front, 'k-user9');
    } finally {
      secondLoad.release();
      firstLoad?.release();
    }
    expect((await early).modelVersion).toBe(first);
    expect((await late).modelVersion).toBe(first);
  });

  it('When an erasure is told while an announced version is still being read, Then that version knows the customer as erased when it answers', async () => {
    const [first, second] = versions;
    const front = await startReplica(true);
    await front.services.serving.ready();
    expect((await ask(front, 'k-user9')).modelVersion).toBe(first);
    // g-user4 has no precomputed entry: each version scores them from their purchases, which Postgres keeps.
    const tablesLoad = holdRead(front, second, 'serving-items');
    try {
      expect(await replicas[0].services.activateModel(second)).toBe(true);
      await tablesLoad.reached;
      await front.services.serving.forgetUser('g-user4');
    } finally {
      tablesLoad.release();
    }
    await expect.poll(async () => (await ask(front, 'k-user9')).modelVersion).toBe(second);
    expect(await ask(front, 'g-user4')).toMatchObject({ fallback: true, modelVersion: second });
    expect(await ask(front, 'g-user3')).toMatchObject({ fallback: false, modelVersion: second });
  });

  it('When the scorer load fails because Redis went away while a new product is asked for, Then its page answers without a second read of the store', async () => {
    const [, second] = versions;
    const front = await startReplica(true);
    // The version's tables are in hand; its scorer loads (held) when a new product's page is asked for.
    const scorerLoad = holdRead(front, second);
    const ready = front.services.serving.ready();
    await scorerLoad.reached;
    await replicas[0].services.catalog.upsertItems([{ id: 'k-flask', title: 'glass kitchen flask', categories: ['kitchen', 'glass'], price: 64 }]);
    const page = front.app.inject({ url: '/v1/items/k-flask/similar?k=3', headers: auth('read') });
    // The page waits for the describer, which waits for the scorer load.
    await expect.poll(() => front.services.serving.modelInHand()?.newItems !== undefined).toBe(true);
    const readsBefore = front.artifactReads.length;
    scorerLoad.release(true);
    await ready;
    const res = await page;
    expect(res.statusCode).toBe(200);
    expect(front.artifactReads.slice(readsBefore)).toEqual([]);
  });

  it('When a storefront process loads its scorer again after a failure, Then a customer asked for meanwhile gets a cold start without waiting for the load, and is scored once it is loaded', async () => {
    const [, second] = versions;
    const front = await startReplica(true);
    const failing = holdRead(front, second);
    const ready = front.services.serving.ready();
    await failing.reached;
    // Redis went away while the version was readied: the scorer is not loaded.
    failing.release(true);
    await ready;
    // The request for a customer not precomputed loads it again, and that load does not end.
    const slow = holdRead(front, second);
    try {
      expect(await ask(front, 'g-user0')).toMatchObject({ fallback: true, modelVersion: second });
    } finally {
      slow.release();
    }
    await expect.poll(async () => (await ask(front, 'g-user0')).fallback).toBe(false);
  });
});
