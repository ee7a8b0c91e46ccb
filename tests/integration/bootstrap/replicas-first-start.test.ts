import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRecipe } from '../../../src/training/recipe.js';
import { bootstrap } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { createServices } from '../../../src/services.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createPostgresTestDb, POSTGRES_URL, randomPrefix, REDIS_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';

const available = (await serviceAvailable(POSTGRES_URL)) && (await serviceAvailable(REDIS_URL));
const quiet = { info() {}, warn() {}, error() {} };

describe.skipIf(!available)('first start of several replicas on one empty Postgres and Redis', () => {
  const prefix = `${randomPrefix('first')}:`;
  let testDb: TestDb;
  const opened: { close(): Promise<unknown> }[] = [];
  beforeAll(async () => {
    testDb = await createPostgresTestDb();
  });
  afterAll(async () => {
    for (const o of opened) await o.close();
    await testDb?.dispose();
    const redis = new Redis(REDIS_URL);
    await unlinkPrefixed(redis, prefix);
    await redis.quit();
  });

  it('When two replicas start at once with SAMPLE_DATA, Then one imports and trains and the other finds it done: one model version', async () => {
    const { rows } = await testDb.db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const config = loadConfig({ SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, LOG_LEVEL: 'silent', TRAIN_THREADS: '1' });
    const replica = () => {
      const db: Db = createPgDb(POSTGRES_URL, { max: 4, schema: rows[0].schema });
      const store: ModelStore = createRedisModelStore({ url: REDIS_URL, prefix });
      opened.push(store, db);
      return createServices({ config, db, store });
    };
    const [a, b] = [replica(), replica()];
    await Promise.all([bootstrap(a, quiet), bootstrap(b, quiet)]);
    const versions = await a.store.listVersions();
    expect(versions).toHaveLength(1);
    // The first start's sample trains with the recipe's written weights, untuned (as the bundled sample's 353 customers do).
    expect(versions[0].info.tuning).toBeUndefined();
    expect(versions[0].info.recipe).toMatchObject({ hybrid: { weights: (await loadRecipe('default')).hybrid.weights } });
    expect((await b.store.getActive())?.version).toBe(versions[0].version);
    // The sample is in (imported by whichever replica held the lock).
    const { purchases } = await a.events.counts();
    expect(purchases).toBeGreaterThan(0);
  }, 240_000);
});
