import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/app.js';
import { loadConfig } from '../../../src/config.js';
import { createServices, type Services } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { auth, KEYS } from '../../helpers/app.js';
import { createPgliteTestDb, type TestDb } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

/**
 * Two processes on one database and one model store, where the second is never told of an erasure
 * (a lost Redis message, a Redis user without pub/sub rights: here a store that tells nobody). The
 * second must still forget the erased customer, from Postgres, within ERASURE_REFRESH_MS.
 */
describe('erasures read from Postgres by a process that was not told', () => {
  let testDb: TestDb;
  let store: ModelStore;
  let a: Services;
  let b: Services;
  let appB: FastifyInstance;
  const config = loadConfig({
    API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`,
    SAMPLE_DATA: 'false',
    LOG_LEVEL: 'silent',
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
    ERASURE_REFRESH_MS: '100',
  });
  const fallback = async (user: string) => {
    const res = await appB.inject({ url: `/v1/users/${user}/recommendations?k=5`, headers: auth('read') });
    expect(res.statusCode).toBe(200);
    return res.json().fallback as boolean;
  };

  beforeAll(async () => {
    testDb = await createPgliteTestDb();
    store = await createMemoryModelStore({});
    a = createServices({ config, db: testDb.db, store });
    b = createServices({ config, db: testDb.db, store });
    appB = await buildApp(b);
    await appB.ready();
    await seedShop(a);
    await trainAndPublish(a);
    await b.serving.refresh();
  });
  afterAll(async () => {
    await appB.close();
    await store.close();
    await testDb.dispose();
  });

  it('When another process erases a customer, Then this one stops serving them within ERASURE_REFRESH_MS', async () => {
    await b.erasureFollower.poll();
    // B answers g-user3 personally, and keeps the entry it read.
    expect(await fallback('g-user3')).toBe(false);
    expect(await fallback('g-user4')).toBe(false);

    expect(await a.eraseUser('g-user3')).toBe(true);
    // B was not told: its cache answers for the erased customer until it reads the list, which it does every
    // ERASURE_REFRESH_MS (and at a request when a read is due).
    await expect.poll(() => fallback('g-user3'), { timeout: 5000, interval: 50 }).toBe(true);
    expect(await fallback('g-user4')).toBe(false);
  });
});

/**
 * The shop trained and served by one process on PGlite, whose model store is the in-process one with
 * `override` applied over it (a store that fails or is slow where the test says).
 */
async function shopProcess(override: (store: ModelStore) => Partial<ModelStore>) {
  const testDb = await createPgliteTestDb();
  const store = await createMemoryModelStore({});
  const services = createServices({
    config: loadConfig({ API_KEYS: `admin:${KEYS.admin}`, SAMPLE_DATA: 'false', LOG_LEVEL: 'silent' }),
    db: testDb.db,
    store: { ...store, ...override(store) },
  });
  await seedShop(services);
  await trainAndPublish(services);
  return { store, services, dispose: async () => (await store.close(), await testDb.dispose()) };
}

describe('an erasure whose model-store part fails', () => {
  let shop: Awaited<ReturnType<typeof shopProcess>>;
  let services: Services;
  let storeDown = false;

  beforeAll(async () => {
    // The store as the erasure sees it: down (a Redis outage) while storeDown is set.
    shop = await shopProcess((store) => ({
      redactArtifact: (...args) => (storeDown ? Promise.reject(new Error('model store unreachable')) : store.redactArtifact(...args)),
    }));
    services = shop.services;
  });
  afterAll(() => shop.dispose());

  it('When the store cannot be scrubbed, Then nothing is deleted or listed as erased; asked again, the erasure completes', async () => {
    storeDown = true;
    await expect(services.eraseUser('k-user4')).rejects.toThrow('model store unreachable');
    expect(await services.events.listUserPurchases('k-user4', { limit: 10, offset: 0 })).not.toHaveLength(0);
    expect(await services.erasureRepository.erasedSince(0)).not.toContain('k-user4');

    storeDown = false;
    expect(await services.eraseUser('k-user4')).toBe(true);
    expect(await services.events.listUserPurchases('k-user4', { limit: 10, offset: 0 })).toHaveLength(0);
    expect(await services.erasureRepository.erasedSince(0)).toEqual(['k-user4']);
  });
});

describe('an erasure while a purchase of the customer is being written', () => {
  let shop: Awaited<ReturnType<typeof shopProcess>>;
  let store: ModelStore;
  let services: Services;
  let release: () => void = () => {};
  let appending: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    // Appending live events waits until the test lets it go (a slow Redis round trip).
    shop = await shopProcess((inner) => ({
      appendUserEvents: async (...args) => {
        await appending;
        return inner.appendUserEvents(...args);
      },
    }));
    ({ store, services } = shop);
  });
  afterAll(() => shop.dispose());

  it('When the erasure comes while the purchase is still being appended to live state, Then the customer ends with no live events', async () => {
    appending = new Promise((resolve) => (release = resolve));
    const writing = services.recordPurchases([{ userId: 'k-user9', itemId: 'k3', quantity: 1, price: null, orderId: 'live-race', ts: new Date() }]);
    await new Promise((r) => setTimeout(r, 50));
    const erasing = services.eraseUser('k-user9');
    await new Promise((r) => setTimeout(r, 50));
    release();
    await writing;
    expect(await erasing).toBe(true);
    expect(await store.getUserEvents('k-user9')).toEqual([]);
    expect(await services.events.listUserPurchases('k-user9', { limit: 10, offset: 0 })).toHaveLength(0);
  });
});
