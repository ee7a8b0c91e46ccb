import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExperimentRepository } from '../../../src/data/experiment-repository.js';
import { createExperimentCache } from '../../../src/serving/experiments.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

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
