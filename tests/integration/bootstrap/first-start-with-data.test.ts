import { afterEach, describe, expect, it } from 'vitest';
import { bootstrap, bootstrapUntilDone } from '../../../src/bootstrap.js';
import { loadConfig } from '../../../src/config.js';
import { JOB_TYPES } from '../../../src/jobs/job-types.js';
import { createServices, type Services } from '../../../src/services.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

// On Postgres, where several processes share a database (the first start runs under its lock): a schema per test costs
// a tenth of a PGlite start. The lock is the database's, so a start here may wait for another file's first start to
// import and train (a server of an e2e test on the same database): the tests' time limit allows for it.
const postgres = await serviceAvailable(POSTGRES_URL);
if (!postgres && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs Postgres at DATABASE_URL and REQUIRE_SERVICES=true');

/**
 * A server starting with SAMPLE_DATA on a database that holds data and a model store that holds no model:
 * a first start only when nothing ever trained (then a visible training job), else a lost model, which is
 * model recovery's to judge; never a training inside the server that no job list shows.
 */
describe.skipIf(!postgres)('first start on a database that holds data', { timeout: 240_000 }, () => {
  const opened: { dispose(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const o of opened.splice(0)) await o.dispose();
  });

  async function started(storeOf?: (store: ModelStore) => ModelStore) {
    const db: TestDb = await createPostgresTestDb();
    const memory = await createMemoryModelStore({});
    opened.push(db, { dispose: () => memory.close() });
    const config = loadConfig({ SAMPLE_DATA: 'true', LOG_LEVEL: 'silent', JOB_RUNNER: 'worker' });
    const services = createServices({ config, db: db.db, store: storeOf ? storeOf(memory) : memory });
    const events = Array.from({ length: 6 }, (_, k) => ({ userId: `u${k % 3}`, itemId: `i${k % 4}`, quantity: 1, orderId: `o${k}`, ts: new Date(Date.UTC(2026, 0, 1 + k)) }));
    await services.events.insertPurchases(events);
    const logged: { level: string; msg: string }[] = [];
    const log = {
      info: (_o: unknown, msg?: string) => logged.push({ level: 'info', msg: String(msg ?? _o) }),
      warn: (_o: unknown, msg?: string) => logged.push({ level: 'warn', msg: String(msg ?? _o) }),
      error: (_o: unknown, msg?: string) => logged.push({ level: 'error', msg: String(msg ?? _o) }),
    };
    return { services, logged, log: log as unknown as Parameters<typeof bootstrap>[1] };
  }
  const trainings = (services: Services) => services.jobs.list({ type: JOB_TYPES.train });
  /** How long a poll waits for what comes after a first go that may wait for the first-start lock (within the tests' limit). */
  const LOCK_WAIT = { timeout: 200_000 };

  it('When the data never trained, Then a training job is queued, seen in the job list, and nothing trains in the server', async () => {
    const { services, logged, log } = await started();
    await bootstrap(services, log);
    expect((await trainings(services)).map((j) => j.status)).toEqual(['queued']);
    expect(await services.store.listVersions()).toEqual([]);
    expect(logged).toContainEqual({ level: 'info', msg: 'no model yet: the default recipe is queued to train on the data' });
    // A second replica starting meanwhile finds it queued.
    await bootstrap(services, log);
    expect(await trainings(services)).toHaveLength(1);
  });

  it('When trainings ran before and the store lost the model, Then the start leaves it to model recovery and says so', async () => {
    const { services, logged, log } = await started();
    const job = await services.jobService.submitTraining({});
    const claimed = await services.jobs.claimNext([JOB_TYPES.train], 'w1');
    expect(claimed?.id).toBe(job.id);
    expect(await services.jobs.succeed(job.id, 'w1', { version: 'gone' })).toBe(true);
    await bootstrap(services, log);
    expect((await trainings(services)).map((j) => j.status)).toEqual(['succeeded']);
    expect(await services.store.listVersions()).toEqual([]);
    expect(logged.find((l) => l.level === 'warn')?.msg).toMatch(/no active model although trainings ran before: left to model recovery/);
  });

  it('When the model store does not answer at start, Then the start decides nothing and warns, without an error', async () => {
    const { services, logged, log } = await started((store) => ({
      ...store,
      getActive: async () => {
        throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      },
    }));
    expect(await bootstrap(services, log)).toBe(false);
    expect(await trainings(services)).toEqual([]);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(logged).toContainEqual({ level: 'warn', msg: 'first-start check skipped: a store does not answer' });
  });
  /** The memory store, not answering (a Redis not started yet) until `state.up`. */
  const late = (state: { up: boolean; asked: number }) => (store: ModelStore): ModelStore => ({
    ...store,
    ping: async () => (state.asked++, state.up && store.ping()),
    getActive: async () => {
      if (!state.up) throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
      return store.getActive();
    },
  });

  it('When the model store answers only after the start, Then the first-start work is done once it does: the training job is queued', async () => {
    const state = { up: false, asked: 0 };
    const { services, logged, log } = await started(late(state));
    const done = bootstrapUntilDone(services, log, { stopped: () => false, retryMs: 20 });
    // It looks again while the store stays away, and decides nothing meanwhile. (Its first go waits first for the lock,
    // held meanwhile by any other file's first start on the test database: expect.poll's own 1 s would fail the test.)
    await expect.poll(() => state.asked, LOCK_WAIT).toBeGreaterThan(2);
    expect(await trainings(services)).toEqual([]);
    state.up = true;
    await done;
    expect((await trainings(services)).map((j) => j.status)).toEqual(['queued']);
    expect(logged).toContainEqual({ level: 'info', msg: 'first-start work done now that the stores answer' });
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('When the server stops while the first-start work waits for the model store, Then the wait ends and nothing is decided', async () => {
    const state = { up: false, asked: 0 };
    let stopped = false;
    const { services, log } = await started(late(state));
    const done = bootstrapUntilDone(services, log, { stopped: () => stopped, retryMs: 20 });
    await expect.poll(() => state.asked, LOCK_WAIT).toBeGreaterThan(0);
    stopped = true;
    await done;
    expect(await trainings(services)).toEqual([]);
  });
});
