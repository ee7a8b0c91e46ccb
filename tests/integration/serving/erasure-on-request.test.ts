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
  /** Loads of this process's on-request scorer: its read of the hybrid's artifact (nothing else in serving reads it). */
  scorerLoads: number;
}

/**
 * Two API processes on one Postgres and one Redis model store, as a walkthrough ran them when an erasure
 * stalled both: a storefront kept asking for the customer being erased, and every request of either
 * process waited while it loaded its on-request scorer again and scored the erased customer's whole
 * history from the purchases Postgres still held. The version scores customers on request
 * (precomputeDays 5: buyers 0-6 of each half have no precomputed entry; the data ends on day 51).
 */
describe.skipIf(!available)('an erasure on two replicas that score customers on request', () => {
  const prefix = `${randomPrefix('erasure')}:`;
  const config = replicaConfig();
  let testDb: TestDb;
  let recipesDir: string;
  const replicas: Replica[] = [];
  // Replica 0's erasure of this customer waits after telling the other processes, before deleting the rows.
  let held: { userId: string; released: Promise<void> } | null = null;

  const startReplica = async (): Promise<Replica> => {
    const redisStore = createRedisModelStore({ url: REDIS_URL, prefix });
    const replica = { store: redisStore, scorerLoads: 0 } as Replica;
    const store: ModelStore = {
      ...redisStore,
      getArtifact: (version, name) => {
        if (name === 'recommender:hybrid') replica.scorerLoads++;
        return redisStore.getArtifact(version, name);
      },
      deleteUser: async (userId, drafts) => {
        await redisStore.deleteUser(userId, drafts);
        const hold = held?.userId === userId ? held : null;
        held = null;
        await hold?.released;
      },
    };
    Object.assign(replica, await startApiProcess(config, testDb.db, store));
    await replica.services.serving.refresh();
    replicas.push(replica);
    return replica;
  };
  const ask = (r: Replica, user: string) => askFor(r.app, user);
  const erase = (r: Replica, user: string) => r.app.inject({ method: 'DELETE', url: `/v1/users/${user}`, headers: auth('admin') });

  beforeAll(async () => {
    testDb = await postgres.create();
    recipesDir = await mkdtemp(join(tmpdir(), 'recipes-'));
    await writeFile(join(recipesDir, 'shop.json'), JSON.stringify({ ...SHOP_RECIPE, name: 'shop' }));
    const first = await startReplica();
    await seedShop(first.services);
    const { events, catalog, store } = first.services;
    await createTrainer({ events, catalog, store, defaultRecipe: 'shop', recipesDir, isolation: 'inline', threads: 1, precomputeDays: 5 }).train();
    await first.services.serving.refresh();
    await startReplica();
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

  it('When a customer the scorers know is erased while both replicas are asked for them, Then neither loads its scorer again, the customer gets cold starts, and others are scored as after the erasure', async () => {
    const [a, b] = replicas;
    // Both replicas score k-user2 on request (loading their scorer, which knows k-user2) and keep the entry.
    for (const r of replicas) expect((await ask(r, 'k-user2')).fallback).toBe(false);
    expect(replicas.map((r) => r.scorerLoads)).toEqual([1, 1]);

    // The storefront keeps asking for k-user2 on both replicas while A erases them (each request after
    // the event loop's I/O: an answer from memory never waits on any, and would starve the erasure's).
    let erased = false;
    const storefront = (async () => {
      while (!erased) {
        for (const r of replicas) await ask(r, 'k-user2');
        await new Promise((r) => setImmediate(r));
      }
    })();
    expect((await erase(a, 'k-user2')).statusCode).toBe(204);
    erased = true;
    await storefront;
    // B has followed the erasure (from the Redis message, and now from Postgres in any case).
    await b.services.erasureFollower.catchUp();

    for (const r of replicas) expect(await ask(r, 'k-user2')).toMatchObject({ fallback: true });
    // Customers scored on request for the first time since: as by a process that loads the scrubbed recommenders.
    const fresh = await startReplica();
    for (const user of ['k-user3', 'g-user0', 'g-user5']) {
      const expected = await ask(fresh, user);
      expect(expected.fallback).toBe(false);
      for (const r of [a, b]) expect(await ask(r, user)).toEqual(expected);
    }
    expect([a, b].map((r) => r.scorerLoads)).toEqual([1, 1]);
  });

  it('When the erasure has told a replica but not yet deleted the rows, Then that replica answers the customer with a cold start, not from the purchases Postgres still holds', async () => {
    const [a, b] = replicas;
    // k-user10 is precomputed: B answers from their entry.
    expect((await ask(b, 'k-user10')).fallback).toBe(false);
    let release!: () => void;
    held = { userId: 'k-user10', released: new Promise<void>((r) => (release = r)) };
    const told = new Promise<void>((resolve) => b.store.onUserErased?.((id) => id === 'k-user10' && resolve()));
    const erasing = erase(a, 'k-user10');
    await told;
    try {
      // Polled: B forgets the customer just after the message arrives (its listener awaits the served version).
      await expect.poll(async () => (await ask(b, 'k-user10')).fallback).toBe(true);
      expect((await testDb.db.query('SELECT 1 FROM purchase_events WHERE user_id = $1', ['k-user10'])).rows.length).toBeGreaterThan(0);
    } finally {
      release();
    }
    expect((await erasing).statusCode).toBe(204);
    expect((await ask(b, 'k-user10')).fallback).toBe(true);
    expect(b.scorerLoads).toBe(1);
  });
});
