import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExperimentRepository } from '../../../src/data/experiment-repository.js';
import { createExperimentCache } from '../../../src/serving/experiments.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { auth, createTestApp, KEYS } from '../../helpers/app.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';

const arms = [
  { name: 'a', strategy: 'hybrid', share: 0.5 },
  { name: 'b', strategy: 'popularity', share: 0.5 },
];

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the in-process copy of the active experiment', () => {
  let testDb: TestDb;
  beforeAll(async () => {
    testDb = await createPostgresTestDb();
  });
  afterAll(() => testDb.dispose());

  it('When another replica starts and stops an experiment, Then current() answers from memory at once and shows the change after the background read', async () => {
    const repo = createExperimentRepository(testDb.db);
    // refreshMs 0: every current() starts a read, none waits for it.
    const cache = createExperimentCache({ experiments: repo, refreshMs: 0 });
    expect(cache.current()).toBeUndefined();
    expect(await cache.ready()).toBeNull();

    await repo.insert({ id: 'elsewhere', arms, active: true });
    expect(cache.current()).toBeNull(); // the read it started has not answered yet
    expect((await cache.refresh())?.id).toBe('elsewhere');
    expect(cache.current()?.arms).toEqual(arms);

    await repo.stop('elsewhere');
    expect(cache.current()?.id).toBe('elsewhere');
    expect(await cache.refresh()).toBeNull();
  });

  it('When the database cannot be reached, Then the last known experiment keeps being served', async () => {
    const repo = createExperimentRepository(testDb.db);
    await repo.insert({ id: 'kept', arms, active: true });
    let down = false;
    const cache = createExperimentCache({
      experiments: { findActive: () => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : repo.findActive()) },
      refreshMs: 0,
    });
    expect((await cache.ready())?.id).toBe('kept');
    down = true;
    expect((await cache.refresh())?.id).toBe('kept');
    expect(cache.current()?.id).toBe('kept');
  });
});

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a replica that sat idle while another changed the experiment', () => {
  it('When an experiment is stopped through another replica and this one gets no request meanwhile, Then its next answer is no longer tagged', async () => {
    const testDb = await createPostgresTestDb();
    const env = { EXPERIMENT_REFRESH_MS: '200' };
    // Two replicas on one database and one model store.
    const store = await createMemoryModelStore({});
    const shared = { createDb: async () => ({ ...testDb, dispose: async () => {} }), store, env };
    const a = await createTestApp(shared);
    const b = await createTestApp(shared);
    try {
      await seedShop(a.services);
      await trainAndPublish(a.services);
      const admin = { authorization: `Bearer ${KEYS.admin}` };
      expect((await a.app.inject({ method: 'POST', url: '/v1/experiments', headers: admin, payload: { id: 'idle-test', arms } })).statusCode).toBe(201);
      const tagOn = async (t: typeof b) => ((await t.app.inject({ url: '/v1/users/g-user1/recommendations?k=3', headers: auth('read') })).json() as { experiment?: { id: string } }).experiment?.id;
      await expect.poll(() => tagOn(b), { timeout: 5000 }).toBe('idle-test');
      expect((await a.app.inject({ method: 'POST', url: '/v1/experiments/idle-test/stop', headers: admin })).statusCode).toBe(200);
      // B gets no request while its timer re-reads (every 200 ms here).
      await new Promise((r) => setTimeout(r, 800));
      expect(await tagOn(b)).toBeUndefined();
    } finally {
      await b.dispose();
      await a.dispose();
      await testDb.dispose();
    }
  }, 60_000);
});
