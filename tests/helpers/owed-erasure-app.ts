/**
 * The set-up of the tests of erasures owed (README "Erasure"): the real app on real Postgres whose re-driver waits an
 * hour (ERASURE_REDRIVE_MS), so an erasure owed stays owed until the test completes it or calls the re-driver's pass.
 * owedErasureApp registers the file's beforeAll (start, then `prepare`: seed or train) and afterAll (dispose), and
 * returns a handle that reaches what beforeAll started.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Services } from '../../src/services.js';
import { createTestApp, type TestApp } from './app.js';
import { createPostgresTestDb, type TestDb } from './services.js';

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
    t = await createTestApp({ createDb: opts.createDb ?? (() => createPostgresTestDb()), env: { ...NOT_REDRIVEN, ...opts.env } });
    await opts.prepare?.(t.services);
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    await t?.dispose();
  });
  return startedApp(() => t);
}
