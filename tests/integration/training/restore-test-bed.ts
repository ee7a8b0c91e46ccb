/**
 * What the model restore's test files share: a redis-server of their own (restarted empty by the tests), a Postgres
 * test database, the shop's recipe in a directory of its own, and test apps on both (each a process of the service),
 * whose model recovery is not started: each look is the test's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';
import { createPostgresTestDb, type TestDb } from '../../helpers/services.js';
import { SHOP_RECIPE } from '../serving/shop-fixture.js';

export interface RestoreTestBed {
  /** The store's key prefix: `name:`. */
  readonly prefix: string;
  start(): Promise<{ redis: PrivateRedis; testDb: TestDb }>;
  /**
   * A process on the bed's Redis and Postgres. `kept`: MODEL_VERSIONS_KEPT (the default when absent); `retrain`:
   * RETRAIN_ON_LOST_MODEL (off: a training queued by a look would publish meanwhile).
   */
  open(opts?: { kept?: number; retrain?: boolean }): Promise<TestApp>;
  dispose(): Promise<void>;
}

export function restoreTestBed(name: string): RestoreTestBed {
  const prefix = `${name}:`;
  let redis: PrivateRedis | undefined;
  let testDb: TestDb | undefined;
  let recipesDir: string | undefined;
  const shared = async (): Promise<TestDb> => ({ db: testDb!.db, dispose: async () => {} });
  return {
    prefix,
    async start() {
      redis = await startPrivateRedis();
      testDb = await createPostgresTestDb();
      recipesDir = mkdtempSync(path.join(tmpdir(), `${name}-recipes-`));
      writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
      return { redis, testDb };
    },
    open({ kept, retrain = false } = {}) {
      const url = redis!.url;
      return createTestApp({
        createDb: shared, recipesDir, store: createRedisModelStore({ url, prefix, ...(kept === undefined ? {} : { versionsKept: kept }) }),
        // The erasure follower's reads are the test's: one by the timer could scrub or restore between the steps looked at.
        env: { REDIS_URL: url, DEFAULT_RECIPE: 'serving-test', ERASURE_REFRESH_MS: '600000', RETRAIN_ON_LOST_MODEL: String(retrain), ...(kept === undefined ? {} : { MODEL_VERSIONS_KEPT: String(kept) }) },
      });
    },
    async dispose() {
      await testDb?.dispose();
      await redis?.dispose();
      if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
    },
  };
}
