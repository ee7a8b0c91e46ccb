import type { FastifyInstance } from 'fastify';
import type { Worker } from 'node:worker_threads';
import { buildApp, type AppOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createServices, type Services } from '../../src/services.js';
import { createMemoryModelStore } from '../../src/store/memory-model-store.js';
import type { ModelStore } from '../../src/store/model-store.js';
import type { TestDb } from './services.js';

export const KEYS = { read: 'read-key-123456', write: 'write-key-123456', admin: 'admin-key-123456' } as const;
export const auth = (scope: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[scope]}` });

export interface TestApp {
  app: FastifyInstance;
  services: Services;
  config: Config;
  dispose(): Promise<void>;
}

/** The real app on a real database (from `createDb`) and a model store (memory unless given). */
export async function createTestApp(opts: {
  createDb: () => Promise<TestDb>;
  store?: ModelStore;
  env?: Record<string, string>;
  appOptions?: AppOptions;
  /** How long a training's writes wait for a store to come back (default: the jobs' minute). */
  trainingOutageWaitMs?: number;
  /** How long an import job's writes wait for Postgres to come back (default: the importers' minute). */
  importOutageWaitMs?: number;
  /** Starts the erasures' worker thread in place of redaction-worker.ts (a thread that never answers, say). */
  startRedactionWorker?: () => Worker;
  /** The folder the app reads recipe files from (default: the repository's models/). */
  recipesDir?: string;
}): Promise<TestApp> {
  const config = loadConfig({
    API_KEYS: `read:${KEYS.read},write:${KEYS.write},admin:${KEYS.admin}`,
    SAMPLE_DATA: 'false',
    LOG_LEVEL: 'silent',
    // Load shedding off unless a test turns it on: a test machine's event loop may stall for a second
    // (PGlite, a parallel suite), which would otherwise answer unrelated tests 503 OVERLOADED.
    UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '0',
    // No background count of feedback days unless a test turns it on: what a test counts is what it asked.
    ONLINE_METRICS_COUNT_MS: '0',
    // Nor a background sweep of old feedback: tests date feedback in the sample's time (2010-2011).
    FEEDBACK_RETENTION_DAYS: '0',
    // One training thread unless a test asks for more: the model and the tuned recipe are the same for any number
    // (README, TRAIN_THREADS; tests/unit/training/threaded-serving-build.test.ts and the tuning's thread tests check
    // it), and on the suite's tiny shops a second thread's start, per fold and per fit, costs more than it saves
    // (a training of the two-shop fixture: 2.5-2.7 s on one thread, 6-10 s on two, load average 24-29).
    TRAIN_THREADS: '1',
    ...opts.env,
  });
  const testDb = await opts.createDb();
  const store = opts.store ?? (await createMemoryModelStore({}));
  const services = createServices({ config, db: testDb.db, store, trainingOutageWaitMs: opts.trainingOutageWaitMs, importOutageWaitMs: opts.importOutageWaitMs, startRedactionWorker: opts.startRedactionWorker, recipesDir: opts.recipesDir });
  const app = await buildApp(services, opts.appOptions);
  await app.ready();
  return {
    app,
    services,
    config,
    async dispose() {
      await app.close();
      await store.close();
      await testDb.dispose();
    },
  };
}

/** Polls a job route (GET /v1/<jobs>/:id) with the admin key until the job has succeeded or failed. */
export async function finishedJob(t: TestApp, url: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await t.app.inject({ url, headers: auth('admin') });
    if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${res.body}`);
    const job = res.json();
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    if (Date.now() > deadline) throw new Error(`${url} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The item ids of a list route's answer (GET with the read key), in order; throws unless it answered 200. */
export async function listedItemIds(t: TestApp, url: string): Promise<string[]> {
  const res = await t.app.inject({ url, headers: auth('read') });
  if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${res.body}`);
  return (res.json().items as { itemId: string }[]).map((i) => i.itemId);
}
