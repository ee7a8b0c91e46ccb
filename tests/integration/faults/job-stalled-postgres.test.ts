/**
 * An import job while Postgres takes connections and answers nothing (stalled-postgres.ts; the training's
 * case is job-stalled-postgres-training.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { migrate } from '../../../src/data/migrate.js';
import { importOnlineRetail } from '../../../src/data/importers/online-retail-importer.js';
import { createJobRepository, type JobRepository } from '../../../src/jobs/job-repository.js';
import { FIRST_START_SAMPLE } from '../../helpers/first-start-sample.js';
import { privateServerSupport, startPrivatePostgres, type PrivatePostgres } from '../../helpers/private-servers.js';
import { LIMIT_MS, OUTAGE_WAIT_MS, STUCK_MS, runJobThroughStall } from './stalled-postgres.js';

const support = await privateServerSupport();
if (!support.postgres && process.env.REQUIRE_SERVICES === 'true') throw new Error(`these tests need ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.postgres)('an import job while Postgres takes connections and answers nothing', () => {
  let pg: PrivatePostgres;
  let db: Db;
  let jobs: JobRepository;

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
    const { ended, seconds, record } = await runJobThroughStall({
      jobs, type: 'import', stalled: () => writes >= 4, thaw: () => pg.thaw(),
      // Each late write is retried on a new connection, as through an outage, for OUTAGE_WAIT_MS here (a minute in the service).
      work: () => importOnlineRetail(stalling, FIRST_START_SAMPLE, undefined, { batchSize: BATCH, outageWaitMs: OUTAGE_WAIT_MS }),
    });
    console.log(`import job with a ${LIMIT_MS} ms statement limit: ended ${seconds.toFixed(1)} s after Postgres stalled`);
    expect(writes).toBeGreaterThanOrEqual(4);
    // It ended while Postgres still stalled, as a dependency failure, instead of waiting for the thaw.
    expect(ended).toBeDefined();
    expect(ended).not.toBe('succeeded');
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
