/**
 * The set-up of the tests of erasures owed (README "Erasure"): the real app on real Postgres whose re-driver waits an
 * hour (ERASURE_REDRIVE_MS), so an erasure owed stays owed until the test completes it or calls the re-driver's pass.
 * Each function registers the file's beforeAll (start, then `prepare`: seed or train) and afterAll (dispose), and
 * returns a handle that reaches what beforeAll started.
 */
import { afterAll, beforeAll } from 'vitest';
import type { AppOptions } from '../../src/app.js';
import type { Db } from '../../src/data/db.js';
import type { Services } from '../../src/services.js';
import { DEFAULT_REDIS_PREFIX } from '../../src/store/create-model-store.js';
import type { ModelStore } from '../../src/store/model-store.js';
import { createRedisModelStore } from '../../src/store/redis-model-store.js';
import { createTestApp, type TestApp } from './app.js';
import { startPrivateRedis, type PrivateRedis } from './private-servers.js';
import { createPostgresOwnDb, createPostgresTestDb, POSTGRES_URL, type TestDb } from './services.js';

/** The re-driver's timer an hour away: nothing completes an erasure owed during a test unless the test asks. */
export const NOT_REDRIVEN = { ERASURE_REDRIVE_MS: '3600000' } as const;

/** Time for the start and `prepare` (a seeded shop trained by the real trainer takes most of it). */
const START_TIMEOUT_MS = 120_000;

interface OwedErasureAppOptions {
  /** Configuration besides NOT_REDRIVEN (EXPORT_DIR, ERASURE_REFRESH_MS, PG_QUERY_TIMEOUT_MS…); may override it. */
  env?: Record<string, string>;
  /** What the app holds before the tests: seedShop, seedAndTrainShop, seedAndPublishShop (shop-fixture.ts). */
  prepare?: (services: Services) => Promise<unknown>;
  /** The database (default: a schema of the shared test database, createPostgresTestDb). */
  createDb?: () => Promise<TestDb>;
  /** The app's own options (a logger that records what it writes, say). */
  appOptions?: AppOptions;
}

/** A TestApp that reads through to `current()`: what beforeAll started, an error before that (or after its failure). */
function startedApp(current: () => TestApp | undefined): TestApp {
  const started = () => {
    const t = current();
    if (!t) throw new Error('the app is not started: its beforeAll has not run, or failed');
    return t;
  };
  return {
    get app() {
      return started().app;
    },
    get services() {
      return started().services;
    },
    get config() {
      return started().config;
    },
    dispose: () => started().dispose(),
  };
}

/**
 * One app (a schema of the shared test database, the in-process model store) whose erasures owed are not re-driven,
 * started and prepared before the file's tests and disposed after them.
 */
export function owedErasureApp(opts: OwedErasureAppOptions = {}): TestApp {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await createTestApp({ createDb: opts.createDb ?? (() => createPostgresTestDb()), env: { ...NOT_REDRIVEN, ...opts.env }, appOptions: opts.appOptions });
    await opts.prepare?.(t.services);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await t?.dispose();
  });
  return startedApp(() => t);
}

interface OwedErasureServersOptions {
  /** A database of the test's own (createPostgresOwnDb: for a test that holds the database's erasure lock) instead of a schema. */
  ownDb?: boolean;
  /** The model store's key prefix (default: the service's own, which `npm run worker` and the CLIs use). */
  prefix?: string;
  /** Configuration of every app besides NOT_REDRIVEN (each app's own `env` is laid over it). */
  env?: Record<string, string>;
}

export interface OwedErasureServers {
  /** The redis-server of the file's own (kill, start, SAVE to a snapshot: a Redis with persistence). */
  readonly redis: PrivateRedis;
  /** The database every app shares. */
  readonly db: Db;
  /**
   * Another process of the service on the database and the Redis, its re-driver an hour away unless `env` says
   * otherwise; disposed after the file's tests (a test may dispose it before).
   */
  app(env?: Record<string, string>): Promise<TestApp>;
  /**
   * The environment of a child process (`npm run worker`, a CLI) on the same database and Redis: this process's, less
   * the test run's DATABASE_URL, REDIS_URL and API_KEYS, and `extra` over it.
   */
  processEnv(extra?: Record<string, string>): NodeJS.ProcessEnv;
}

/**
 * Processes of the service on one Postgres and a redis-server of the file's own, for the tests whose erasures owed
 * meet Redis outages, other processes or `npm run worker`. beforeAll starts Redis and the database (the file's own
 * beforeAll, registered after, then starts its apps with `app()`); afterAll disposes the apps, the database and Redis.
 */
export function owedErasureServers(opts: OwedErasureServersOptions = {}): OwedErasureServers {
  let redis: PrivateRedis | undefined;
  let testDb: TestDb | undefined;
  /** A URL that reaches the database from another process (the schema's search_path, or the own database's URL). */
  let databaseUrl: string | undefined;
  const apps = new Set<TestApp>();
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the servers are not started: their beforeAll has not run, or failed');
    return value;
  };

  beforeAll(async () => {
    redis = await startPrivateRedis();
    if (opts.ownDb) {
      const own = await createPostgresOwnDb();
      [testDb, databaseUrl] = [own, own.url];
    } else {
      testDb = await createPostgresTestDb();
      const { rows } = await testDb.db.query<{ schema: string }>('SELECT current_schema() AS schema');
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('options', `-c search_path=${rows[0].schema}`);
      databaseUrl = url.toString();
    }
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    for (const t of apps) await t.dispose().catch(() => {});
    await testDb?.dispose();
    await redis?.dispose();
  });

  return {
    get redis() {
      return started(redis);
    },
    get db() {
      return started(testDb).db;
    },
    async app(env = {}) {
      const db = started(testDb).db;
      const store: ModelStore = createRedisModelStore({ url: started(redis).url, prefix: opts.prefix ?? DEFAULT_REDIS_PREFIX });
      // The database is the file's: an app's dispose leaves it to the others.
      const t = await createTestApp({ createDb: async () => ({ db, dispose: async () => {} }), store, env: { ...NOT_REDRIVEN, ...opts.env, ...env } });
      apps.add(t);
      return {
        ...t,
        async dispose() {
          if (apps.delete(t)) await t.dispose();
        },
      };
    },
    processEnv(extra = {}) {
      const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...inherited } = process.env;
      return { ...inherited, DATABASE_URL: started(databaseUrl), REDIS_URL: started(redis).url, ...extra };
    },
  };
}
