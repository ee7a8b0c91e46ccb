import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRepository, OUTAGE_FAILURE, type JobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner, type JobHandler } from '../../../src/jobs/job-runner.js';
import { trainingStillTrusted } from '../../../src/training/model-recovery.js';
import { freePort } from '../../helpers/private-servers.js';
import { createPgDb } from '../../../src/data/db.js';
import { advisoryLockHeld } from '../../helpers/lock-waits.js';
import { DB_BACKENDS, POSTGRES_URL, type TestDb } from '../../helpers/services.js';
import { settled } from '../../helpers/job-settled.js';

/**
 * A managed Postgres's `statement_timeout` (set on the server, database or role) cancels a job's long read
 * (SQLSTATE 57014) at every try: the job used to fail saying Postgres or Redis "did not answer" and that
 * "submitting it again is safe", which only repeats the cancelled read, and the model recovery then counted
 * it as no fault of the training's. The failure names the server's limit and what to change instead.
 */
const backend = DB_BACKENDS.find((b) => b.name === 'postgres') ?? DB_BACKENDS[0];
describe.skipIf(backend.name !== 'postgres' || !(await backend.available()))('a job whose statement Postgres cancels itself', () => {
  let t: TestDb;
  let jobs: JobRepository;
  beforeAll(async () => {
    t = await backend.create();
    jobs = createJobRepository(t.db);
  });
  afterAll(() => t?.dispose());

  it("When the server's statement_timeout cancels a job's read, Then the job's error names that limit and how to lift it, and no model recovery trusts it", async () => {
    const handlers: Record<string, JobHandler> = {
      // A read longer than the server's limit (the limit set for this transaction, as a role's would be).
      cancelled: () => t.db.transaction(async (tx) => {
        await tx.query("SET LOCAL statement_timeout = '50ms'");
        await tx.query('SELECT pg_sleep(2)');
      }),
      // Postgres itself away: nothing listens where the job connects.
      away: async () => {
        const gone = createPgDb(`postgres://postgres@127.0.0.1:${await freePort()}/x`, { max: 1 });
        try {
          await gone.query('SELECT 1');
        } finally {
          await gone.close();
        }
      },
    };
    const runner = createJobRunner({ jobs, handlers, mode: 'inline', pollMs: 20 });
    await runner.start();
    try {
      const cancelled = await jobs.enqueue('cancelled', {});
      runner.kick();
      const failed = await settled(jobs, cancelled.id);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/canceling statement due to statement timeout/);
      expect(failed.error).toMatch(/statement_timeout/);
      expect(failed.error).toMatch(/ALTER ROLE/);
      expect(failed.error).not.toContain(OUTAGE_FAILURE);
      expect(trainingStillTrusted([{ status: 'failed', error: failed.error }, { status: 'succeeded', error: null }])).toBe(false);

      // An outage still reads as one, and is still not the training's fault.
      const away = await jobs.enqueue('away', {});
      runner.kick();
      const outage = await settled(jobs, away.id);
      expect(outage.error).toContain(OUTAGE_FAILURE);
      expect(trainingStillTrusted([{ status: 'failed', error: outage.error }, { status: 'succeeded', error: null }])).toBe(true);
    } finally {
      await runner.stop();
    }
  }, 30_000);
  /**
   * The same failure from the server's other limit and from an operator: the advice must lift the limit that fired.
   * `ALTER ROLE ... SET statement_timeout = 0` leaves a role's `lock_timeout` in place, so a job failing on it
   * fails again the same way; an operator's pg_cancel_backend is no limit at all.
   */
  it("When the server's lock_timeout cancels a job's wait for a lock, Then the job's error says to lift lock_timeout, not statement_timeout", async () => {
    const held = await advisoryLockHeld(POSTGRES_URL);
    const LOCK = held.lock;
    const handlers: Record<string, JobHandler> = {
      locked: () => t.db.transaction(async (tx) => {
        await tx.query("SET LOCAL lock_timeout = '50ms'");
        await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK]);
      }),
    };
    const runner = createJobRunner({ jobs, handlers, mode: 'inline', pollMs: 20 });
    await runner.start();
    try {
      const queued = await jobs.enqueue('locked', {});
      runner.kick();
      const failed = await settled(jobs, queued.id);
      expect(failed.error).toMatch(/canceling statement due to lock timeout/);
      // The advice names the limit that fired.
      expect(failed.error).toMatch(/SET lock_timeout = 0/);
    } finally {
      await runner.stop();
      await held.end();
    }
  }, 30_000);
});
