import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createServices, type Services } from '../../../src/services.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, KEYS } from '../../helpers/app.js';
import { DB_BACKENDS, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { deleteRedisPrefix } from '../training/store-backends.js';
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
  const config = loadConfig({
    API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`,
    SAMPLE_DATA: 'false',
    LOG_LEVEL: 'silent',
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  let testDb: TestDb;
  let recipesDir: string;
  const replicas: Replica[] = [];
  const versions: string[] = [];
  // While set, this replica's read of this version's hybrid artifact (its scorer load) waits for `released`.
  let hold: { replica: Replica; version: string; reached: () => void; released: Promise<void> } | null = null;

  const startReplica = async (storefront: boolean): Promise<Replica> => {
    const redisStore = createRedisModelStore({ url: REDIS_URL, prefix });
    const replica = { store: redisStore, scorerLoads: new Map(), artifactReads: [] as string[] } as Replica;
    const store: ModelStore = {
      ...redisStore,
      getArtifact: async (version, name) => {
        replica.artifactReads.push(name);
        if (name === 'recommender:hybrid') {
          replica.scorerLoads.set(version, (replica.scorerLoads.get(version) ?? 0) + 1);
          if (hold?.replica === replica && hold.version === version) {
            const { reached, released } = hold;
            reached();
            await released;
          }
        }
        return redisStore.getArtifact(version, name);
      },
    };
    replica.services = createServices({ config, db: testDb.db, store, storefront });
    replica.app = await buildApp(replica.services);
    await replica.app.ready();
    replicas.push(replica);
    return replica;
  };
  const ask = async (r: Replica, user: string) => {
    const res = await r.app.inject({ url: `/v1/users/${user}/recommendations?k=5`, headers: auth('read') });
    expect(res.statusCode).toBe(200);
    const { items, fallback, modelVersion } = res.json() as { items: { itemId: string }[]; fallback: boolean; modelVersion: string };
    return { items: items.map((i) => i.itemId), fallback, modelVersion };
  };

  beforeAll(async () => {
    testDb = await postgres.create();
    recipesDir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(recipesDir, 'shop.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop' }));
    const trainer = await startReplica(false);
    await seedShop(trainer.services);
    const { events, catalog, store } = trainer.services;
    for (let n = 0; n < 2; n++) {
      const { version } = await createTrainer({ events, catalog, store, defaultRecipe: 'shop', recipesDir, isolation: 'inline', precomputeDays: 5 }).train();
      versions.push(version);
    }
  });
  afterAll(async () => {
    hold = null;
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

    let reached!: () => void;
    const readying = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    hold = { replica: front, version: first, reached, released: new Promise<void>((r) => (release = r)) };
    try {
      // A rollback through another process: the store announces it to every replica.
      expect(await replicas[0].services.activateModel(first)).toBe(true);
      await readying;
      // The first version's serving tables are loaded, its scorer is not: the second one still answers,
      // at once, precomputed customers and customers scored on request alike.
      expect(await ask(front, 'k-user9')).toMatchObject({ fallback: false, modelVersion: second });
      expect(await ask(front, 'k-user1')).toMatchObject({ fallback: false, modelVersion: second });
      // The erasure follower's call for a customer the first version's scorer knows (Postgres keeps their
      // purchases here: only this process is told).
      await front.services.serving.forgetUser('g-user2');
    } finally {
      release();
      hold = null;
    }
    await expect.poll(async () => (await ask(front, 'k-user9')).modelVersion).toBe(first);
    expect(front.scorerLoads.get(first)).toBe(1);
    // Scored on request by the scorer readied before the switch: no second load.
    expect(await ask(front, 'g-user0')).toMatchObject({ fallback: false, modelVersion: first });
    expect(front.scorerLoads.get(first)).toBe(1);
    // The customer forgotten while the first version was readied is a stranger to it too.
    expect(await ask(front, 'g-user2')).toMatchObject({ fallback: true, modelVersion: first });
  });

  it('When this process activates a version while it readies another, Then its next request is answered with the one it activated', async () => {
    const [first, second] = versions;
    const front = await startReplica(true);
    await front.services.serving.ready();
    expect((await ask(front, 'k-user9')).modelVersion).toBe(first);

    let reached!: () => void;
    const readying = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    hold = { replica: front, version: second, reached, released: new Promise<void>((r) => (release = r)) };
    let next: Promise<{ modelVersion: string }>;
    try {
      // A training elsewhere publishes the second version; while this process readies it, an operator
      // rolls back to the first through this process.
      expect(await replicas[0].services.activateModel(second)).toBe(true);
      await readying;
      expect(await front.services.activateModel(first)).toBe(true);
      next = ask(front, 'k-user9');
    } finally {
      release();
      hold = null;
    }
    expect((await next).modelVersion).toBe(first);
  });
});
