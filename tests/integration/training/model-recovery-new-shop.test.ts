import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createServices, type Services } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/**
 * A new shop (SAMPLE_DATA=false, nothing imported or trained yet) is not a lost model: its operators saw, at
 * every start, a warning that "the model store holds no version although trainings have published before (a
 * Redis restarted without persistence?)", which is false and sends them looking for a Redis that lost data.
 */
const postgresUp = await serviceAvailable(POSTGRES_URL);

describe.skipIf(!postgresUp)('model recovery on a shop that never trained', () => {
  let testDb: TestDb;
  let store: ModelStore;
  let services: Services;
  const warnings: string[] = [];

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    store = await createMemoryModelStore({});
    const config = loadConfig({ SAMPLE_DATA: 'false', LOG_LEVEL: 'silent', API_KEYS: 'admin:admin-key-123456', ONLINE_METRICS_COUNT_MS: '0', FEEDBACK_RETENTION_DAYS: '0' });
    const logger = { info() {}, error() {}, warn: (_obj: object, msg: string) => void warnings.push(msg) };
    services = createServices({ config, db: testDb.db, store, logger });
  });
  afterAll(async () => {
    await store?.close();
    await testDb?.dispose();
  });

  it('When the store holds no version and no training ever ran, Then no warning claims that trainings published before, and nothing is queued', async () => {
    expect(services.modelRecovery).not.toBeNull();
    expect(await services.modelRecovery!.recover()).toBeNull();
    expect(await services.jobs.list({ type: 'train' })).toEqual([]);
    expect(warnings.filter((w) => /published before|restarted without persistence/.test(w))).toEqual([]);
  });
});
