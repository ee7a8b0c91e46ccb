import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRepository, INTERRUPTED, type JobRecord, type JobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner, type JobHandler } from '../../../src/jobs/job-runner.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

/** Polls until the job leaves queued/running (or the deadline passes: then returns it as it is). */
async function settledOrAsIs(jobs: JobRepository, id: string, timeoutMs: number): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await jobs.get(id))!;
    if (job.status === 'succeeded' || job.status === 'failed' || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const exitedPid = () => spawnSync(process.execPath, ['-e', '0']).pid;

/**
 * README, JOB_STALE_AFTER_MS: "a running job whose heartbeat (every 5 s) is older than this is failed as interrupted
 * by any other process; a holder on the same host whose process is gone is noticed within seconds anyway". A grocery
 * walkthrough stopped an `npm run evaluate` (real Postgres, so it ran its job itself) while the API server's inline
 * runner was running a 40-minute evaluation: the CLI's job stayed `running` with a dead holder and no heartbeat for
 * as long as the server's own job ran (over 5 minutes when looked at, far past the 120 s), because the runner sweeps
 * only between jobs (claimLoop awaits the job in hand). A training left so blocks every `POST /v1/training-jobs` with
 * `409` naming a job nobody runs.
 */
const backend = DB_BACKENDS[0];
describe.skipIf(!(await backend.available()))('a runner busy with a long job', () => {
  let t: TestDb;
  let jobs: JobRepository;
  beforeAll(async () => {
    t = await backend.create();
    jobs = createJobRepository(t.db);
  });
  afterAll(() => t?.dispose());

  it('When another process on this host died holding a job, Then the busy runner still declares that job interrupted', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const handlers: Record<string, JobHandler> = { long: async () => void (await held) };
    const runner = createJobRunner({ jobs, handlers, mode: 'inline', pollMs: 20, sweepMs: 20, staleAfterMs: 200 });
    await runner.start();
    const long = await jobs.enqueue('long', {});
    runner.kick();
    // The runner is in its long job...
    expect((await settledOrAsIs(jobs, long.id, 2_000)).status).toBe('running');
    // ...when a job of a process that has exited (a stopped CLI command) is found running.
    const orphan = await jobs.enqueue('orphan', {}, { runningAs: `${hostname()}:${exitedPid()}:9a8b7c` });
    await t.db.query(`UPDATE jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [orphan.id]);
    try {
      expect(await settledOrAsIs(jobs, orphan.id, 5_000)).toMatchObject({ status: 'failed', error: INTERRUPTED });
      // The same sweeps never take the runner's own job, though its heartbeat (every 5 s) is older than staleAfterMs.
      expect((await jobs.get(long.id))!.status).toBe('running');
      release();
      expect(await settledOrAsIs(jobs, long.id, 5_000)).toMatchObject({ status: 'succeeded', workerId: runner.workerId });
    } finally {
      release();
      await runner.stop();
    }
  }, 30_000);
});
