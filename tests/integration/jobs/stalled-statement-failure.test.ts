import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRepository, type JobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner, type JobHandler } from '../../../src/jobs/job-runner.js';
import { trainingStillTrusted } from '../../../src/training/model-recovery.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';
import { settled } from '../../helpers/job-settled.js';

/**
 * A job whose statement gets no answer within the job's own limit on a statement (the runner's
 * workStatementLimitMs, 5 minutes in the service: a Postgres that takes connections and answers nothing) used to
 * fail saying Postgres "did not answer for longer than the job waits for it (about a minute)": the wait for a
 * Postgres that refuses connections, which the statement limit outlasts. It now says the limit it met, and is
 * still safe to submit again and no fault of a training's (model recovery).
 */
const backend = DB_BACKENDS.find((b) => b.name === 'postgres') ?? DB_BACKENDS[0];
describe.skipIf(backend.name !== 'postgres' || !(await backend.available()))('a job whose statement outlives the job statement limit', () => {
  let t: TestDb;
  let jobs: JobRepository;
  beforeAll(async () => {
    t = await backend.create();
    jobs = createJobRepository(t.db);
  });
  afterAll(() => t?.dispose());

  it("When a job's statement gets no answer within the job's limit on a statement, Then its error names that limit, not the outage's minute, and says submitting it again is safe", async () => {
    // A statement that answers after the limit, as a stalled Postgres's never does.
    const handlers: Record<string, JobHandler> = { late: () => t.db.query('SELECT pg_sleep(3)') };
    const runner = createJobRunner({ jobs, handlers, mode: 'inline', pollMs: 20, workStatementLimitMs: 1000 });
    await runner.start();
    try {
      const queued = await jobs.enqueue('late', {});
      runner.kick();
      const failed = await settled(jobs, queued.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/^Query read timeout: /);
      expect(failed.error).toMatch(/did not answer one of the job's statements within the job's limit on a statement \(1 s\)/);
      expect(failed.error).not.toMatch(/about a minute/);
      expect(failed.error).toMatch(/submitting it again is safe/);
      // A stalled Postgres is no fault of a training's: a lost model is trained again after it, as after an outage.
      expect(trainingStillTrusted([{ status: 'failed', error: failed.error }, { status: 'succeeded', error: null }])).toBe(true);
    } finally {
      await runner.stop();
    }
  }, 30_000);
});
