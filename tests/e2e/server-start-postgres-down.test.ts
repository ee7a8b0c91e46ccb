import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createPgDb } from '../../src/data/db.js';
import { openDatabase } from '../../src/data/open-database.js';
import { createServices } from '../../src/services.js';
import { createModelStore } from '../../src/store/create-model-store.js';
import { freePort, privateServerSupport, startPrivatePostgres, startPrivateRedis, type PrivatePostgres, type PrivateRedis } from '../helpers/private-servers.js';
import { DAY, seedShop, T0, trainAndPublish } from '../integration/serving/shop-fixture.js';
import { FIRST_START_SAMPLE } from '../helpers/first-start-sample.js';
import { nodeArgs } from '../helpers/built-entry.js';

/**
 * `npm start` and `npm run worker` started while Postgres cannot be reached (a database restarting, a
 * deployment that starts everything at once). They exited with code 1, so an orchestrator restarted them
 * until Postgres was back, with its growing back-off, and a storefront got nothing from a model Redis
 * held all along. Against a private Postgres (stopped) and a private Redis holding a trained model.
 */
const support = await privateServerSupport();
const runnable = support.postgres && support.redis;
if (!runnable && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** Starting a process and training take seconds each on a busy two-core machine. */
const SLOW = 120_000;
const ADMIN = 'admin-key-for-a-late-postgres';

interface Proc {
  child: ChildProcess;
  output: string;
}

describe.skipIf(!runnable)('npm start and npm run worker while Postgres cannot be reached', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let api: Proc;
  let worker: Proc;
  let base: string;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'recsvc-late-pg-'));

  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(new URL(route, base), {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const until = async <T,>(read: () => Promise<T>, done: (v: T) => boolean, ms: number): Promise<T> => {
    const deadline = Date.now() + ms;
    let v = await read();
    while (!done(v) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      v = await read();
    }
    return v;
  };
  const purchase = (eventId: string) => ({ events: [{ eventId, userId: 'g-user1', itemId: 'g7', quantity: 1, ts: new Date(T0 + 90 * DAY).toISOString() }] });

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    // A shop trained while Postgres was up: its model is in Redis.
    const config = loadConfig({ DATABASE_URL: pg.url, REDIS_URL: redis.url, SAMPLE_DATA: 'false', DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
    const db = await openDatabase(config);
    const store = await createModelStore(config);
    try {
      const services = createServices({ config, db, store });
      await seedShop(services);
      await trainAndPublish(services);
    } finally {
      await store.close();
      await db.close();
    }
    await pg.stop();

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // Only the keys of this machine's environment that are not the service's own configuration.
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    // ERASURE_CATCH_UP_RETRY_MS=0 (here and below): the server asks the Postgres that is down once for the erasure
    // catch-up before it listens, not for 5 s of retries; what is tested is what it does once it listens.
    const start = (script: string, extra: NodeJS.ProcessEnv = {}): Proc => {
      const child = spawn(process.execPath, nodeArgs(script), {
        env: {
          ...env, DATABASE_URL: pg.url, REDIS_URL: redis.url, API_KEYS: `admin:${ADMIN}`, JOB_RUNNER: 'worker', SAMPLE_DATA: 'false', DATA_DIR: dataDir,
          TRAIN_THREADS: '1', LOG_LEVEL: 'info', ERASURE_CATCH_UP_RETRY_MS: '0', ...extra,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const proc: Proc = { child, output: '' };
      child.stdout!.on('data', (b) => (proc.output += b));
      child.stderr!.on('data', (b) => (proc.output += b));
      return proc;
    };
    api = start('src/server.ts', { PORT: String(port) });
    worker = start('src/cli/worker-command.ts');
  }, SLOW);

  afterAll(async () => {
    for (const proc of [api, worker]) proc?.child.kill('SIGKILL');
    await pg?.dispose();
    await redis?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('When Postgres is down at start, Then the server listens unready, serves customers from the model in Redis, answers a write 503, and neither process exits', async () => {
    const live = await until(() => fetch(new URL('/health/live', base)).then((r) => r.status, () => 0), (s) => s === 200, SLOW);
    expect(live, api.output).toBe(200);

    const ready = await fetch(new URL('/health/ready', base));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: 'unavailable', checks: { database: false, modelStore: true } });
    // The storefront's probe and its answers: the model comes from Redis (loaded after the server listens:
    // the probe says 503 until it is in hand). Customers get its cold start until the erasures are read from Postgres
    // (tests/integration/faults/start-postgres-down-erasures.test.ts).
    expect(await until(() => fetch(new URL('/health/serving', base)).then((r) => r.status, () => 0), (s) => s === 200, SLOW)).toBe(200);
    const recs = await call('GET', '/v1/users/g-user1/recommendations?k=3');
    expect(recs.status).toBe(200);
    expect((recs.json.items as unknown[]).length).toBe(3);
    expect(recs.json.modelVersion).toEqual(expect.any(String));

    const refused = await call('POST', '/v1/events', purchase('while-postgres-is-down'));
    expect(refused).toMatchObject({ status: 503, json: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
    // Its log line says why; the answer names no host.
    expect(JSON.stringify(refused.json)).not.toContain(String(pg.port));

    // The first line is the configuration, as JSON, as every later one.
    expect(JSON.parse(api.output.split('\n')[0])).toMatchObject({ msg: 'configuration' });
    // Each says why it waits, naming the variable to check.
    await until(async () => worker.output, (out) => out.includes('waiting for the database'), 30_000);
    for (const { output } of [api, worker]) expect(output.split('\n').find((l) => l.includes('waiting for the database'))).toContain(`(DATABASE_URL) cannot be reached`);
    expect(api.child.exitCode, api.output).toBeNull();
    expect(worker.child.exitCode, worker.output).toBeNull();
  }, SLOW);

  it('When Postgres comes back, Then the server becomes ready, stores a purchase, and the worker runs a training', async () => {
    await pg.start();
    const ready = await until(() => fetch(new URL('/health/ready', base)).then((r) => r.status, () => 0), (s) => s === 200, 60_000);
    expect(ready, api.output).toBe(200);
    for (const proc of [api, worker]) {
      const output = await until(async () => proc.output, (out) => out.includes('database reached and migrated'), 30_000);
      expect(output).toContain('database reached and migrated');
    }

    expect(await call('POST', '/v1/events', purchase('after-postgres-is-back'))).toMatchObject({ status: 200, json: { inserted: 1 } });

    // JOB_RUNNER=worker: only the worker claims jobs, so a training that ends proves it found Postgres too.
    const accepted = await call('POST', '/v1/training-jobs', { tune: false });
    expect(accepted.status).toBe(202);
    const job = await until(
      async () => (await call('GET', `/v1/training-jobs/${accepted.json.jobId as string}`)).json,
      (j) => j.status === 'succeeded' || j.status === 'failed',
      SLOW,
    );
    expect(job, worker.output).toMatchObject({ status: 'succeeded' });
  }, SLOW * 2);

  it('When it is stopped while waiting and Postgres comes back during the stop, Then it starts no first-start work and exits with code 0', async () => {
    // An empty database, where the first start would import and train the bundled sample.
    const admin = createPgDb(pg.url, { max: 1 });
    await admin.exec('CREATE DATABASE empty_shop');
    await admin.close();
    await pg.stop();
    const url = new URL(pg.url);
    url.pathname = '/empty_shop';
    const port = await freePort();
    const { DATABASE_URL: _d, REDIS_URL: _r, API_KEYS: _k, ...env } = process.env;
    const child = spawn(process.execPath, nodeArgs('src/server.ts'), {
      env: { ...env, DATABASE_URL: url.toString(), REDIS_URL: `${redis.url}/1`, API_KEYS: `admin:${ADMIN}`, SAMPLE_DATA: 'true', SAMPLE_FILE: FIRST_START_SAMPLE, SHUTDOWN_DELAY_MS: '3000', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', ERASURE_CATCH_UP_RETRY_MS: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b) => (output += b));
    child.stderr!.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until(() => fetch(`http://127.0.0.1:${port}/health/live`).then((r) => r.status, () => 0), (s) => s === 200, SLOW);
      child.kill('SIGTERM');
      // Back while the process still serves out its SHUTDOWN_DELAY_MS.
      await pg.start();
      expect(await exited, output).toBe(0);
      expect(output).toContain('waiting for the database');
      expect(output).not.toMatch(/importing the (bundled )?sample/);
      expect(output).not.toMatch(/"level":50/);
    } finally {
      child.kill('SIGKILL');
    }
  }, SLOW);
});
