/**
 * A Postgres that takes connections and answers nothing (SIGSTOP: a paused VM, a proxy whose backend is
 * gone) in the middle of a job. No connection fails, so an outage's one-minute wait never starts: before,
 * an import's statement in flight waited for as long as the stall lasted (for ever, for a proxy that never
 * answers), holding the runner, with no failure to see. A job's statements now have a limit of their own.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTrainer } from '../../../src/training/train-model.js';
import { SHOP_RECIPE } from '../serving/shop-fixture.js';
import { faultTestsRunnable, startFaultApp, type FaultApp } from './fault-app.js';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { migrate } from '../../../src/data/migrate.js';
import { importOnlineRetail } from '../../../src/data/importers/online-retail-importer.js';
import { createJobRepository, type JobRecord, type JobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';
import { privateServerSupport, startPrivatePostgres, type PrivatePostgres } from '../../helpers/private-servers.js';

const support = await privateServerSupport();
if (!support.postgres && process.env.REQUIRE_SERVICES === 'true') throw new Error(`these tests need ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/**
 * The runner's limits here: a job's statements and its bookkeeping's, far below the 5 minutes they have in the
 * service (STALL_LIMIT_MS=300000 runs it with the service's, for bench/README "A Redis or Postgres that misbehaves").
 */
const LIMIT_MS = Number(process.env.STALL_LIMIT_MS ?? 2000);
/** How long the test lets a stalled job run before it calls it stuck: far above the limit plus a minute's retries of new connections. */
const STUCK_MS = LIMIT_MS + 100_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!support.postgres)('a job while Postgres takes connections and answers nothing', () => {
  let pg: PrivatePostgres;
  let db: Db;
  let jobs: JobRepository;
  const log = { info() {}, warn() {}, error() {} };

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    db = createPgDb(pg.url, { max: 4, connectTimeoutMs: 1000 });
    await migrate(db);
    jobs = createJobRepository(db);
  }, 60_000);
  afterAll(async () => {
    await pg?.thaw();
    await db?.close();
    await pg?.dispose();
  });

  it('When Postgres stalls in the middle of an import job, Then the job fails saying the database did not answer, and the import run again after it stores every row once', async () => {
    const BATCH = 250;
    let writes = 0;
    // Frozen as the fourth batch's transaction begins: its statements, and those after, get no answer.
    const stalling: Db = {
      ...db,
      transaction: async (fn) => {
        if (++writes === 4) await pg.freeze();
        return db.transaction(fn);
      },
    };
    let ended: string | undefined;
    const runner = createJobRunner({
      jobs,
      mode: 'worker',
      log,
      statementLimitMs: LIMIT_MS,
      workStatementLimitMs: LIMIT_MS,
      handlers: {
        import: async () =>
          importOnlineRetail(stalling, FIRST_START_SAMPLE, undefined, { batchSize: BATCH }).then(
            (report) => ((ended = 'succeeded'), report),
            (err: Error) => {
              ended = err.message;
              throw err;
            },
          ),
      },
    });
    const job = await jobs.enqueue('import', {});
    const run = runner.runNext();
    const deadline = Date.now() + STUCK_MS;
    let frozenAt = 0;
    try {
      while (writes < 4 && Date.now() < deadline) await sleep(50);
      frozenAt = Date.now();
      while (ended === undefined && Date.now() < deadline) await sleep(200);
    } finally {
      await pg.thaw();
    }
    console.log(`import job with a ${LIMIT_MS} ms statement limit: ended ${((Date.now() - frozenAt) / 1000).toFixed(1)} s after Postgres stalled`);
    expect(writes).toBeGreaterThanOrEqual(4);
    // It ended while Postgres still stalled, as a dependency failure, instead of waiting for the thaw.
    expect(ended).toBeDefined();
    expect(ended).not.toBe('succeeded');
    await run;
    const record = (await jobs.get(job.id)) as JobRecord;
    expect(record.status).toBe('failed');
    console.log(`import job error: ${record.error}`);
    expect(record.error).toMatch(/did not answer|timeout/i);
    expect(record.error).toMatch(/submitting it again is safe/);
    // Nothing lost: the import run again stores what the stalled one did not, once.
    const again = await importOnlineRetail(db, FIRST_START_SAMPLE, undefined, { batchSize: BATCH });
    const { rows } = await db.query<{ n: number }>('SELECT ((SELECT count(*) FROM purchase_events) + (SELECT count(*) FROM return_events))::int AS n');
    expect(rows[0].n).toBe(again.accepted);
    expect(again.inserted + again.duplicates).toBe(again.accepted);
  }, STUCK_MS + 60_000);
});

describe.skipIf(!(await faultTestsRunnable()))('a training while Postgres takes connections and answers nothing', () => {
  let fault: FaultApp;
  let recipesDir: string;
  beforeAll(async () => {
    fault = await startFaultApp({ JOB_RUNNER: 'worker' });
    recipesDir = await mkdtemp(join(tmpdir(), 'stalled-recipes-'));
    await writeFile(join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 120_000);
  afterAll(async () => {
    await fault?.dispose();
    if (recipesDir) await rm(recipesDir, { recursive: true, force: true });
  });

  it('When Postgres stalls as a training job loads its purchases, Then the job fails saying so while it stalls, and the model served is unchanged', async () => {
    const { services, pg } = fault;
    const before = (await services.store.getActive())!.version;
    const trainer = createTrainer({
      events: services.events, catalog: services.catalog, store: services.store, defaultRecipe: 'serving-test', recipesDir,
      isolation: 'inline', threads: 1, storeRecommenders: false, erasures: services.erasure,
    });
    const jobs = createJobRepository(fault.db);
    let ended: string | undefined;
    const runner = createJobRunner({
      jobs, mode: 'worker', log: { info() {}, warn() {}, error() {} }, statementLimitMs: LIMIT_MS, workStatementLimitMs: LIMIT_MS,
      handlers: {
        train: async () => {
          // The pool's idle connections carry the load's statements into the stall.
          await pg.freeze();
          return trainer.train({}).then(
            (r) => ((ended = 'succeeded'), r),
            (err: Error) => {
              ended = err.message;
              throw err;
            },
          );
        },
      },
    });
    const job = await jobs.enqueue('train', {});
    const run = runner.runNext();
    const started = Date.now();
    const deadline = started + STUCK_MS;
    try {
      while (ended === undefined && Date.now() < deadline) await sleep(200);
    } finally {
      await pg.thaw();
    }
    console.log(`training job with a ${LIMIT_MS} ms statement limit: ended ${((Date.now() - started) / 1000).toFixed(1)} s after Postgres stalled`);
    expect(ended).toBeDefined();
    expect(ended).not.toBe('succeeded');
    await run;
    const record = (await jobs.get(job.id)) as JobRecord;
    expect(record.status).toBe('failed');
    expect(record.error).toMatch(/submitting it again is safe/);
    expect((await services.store.getActive())!.version).toBe(before);
    expect(fault.crashes).toEqual([]);
  }, STUCK_MS + 60_000);
});
