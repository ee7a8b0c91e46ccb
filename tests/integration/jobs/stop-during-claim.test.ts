import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRepository, type JobRepository } from '../../../src/jobs/job-repository.js';
import { createJobRunner, type JobHandler } from '../../../src/jobs/job-runner.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/**
 * SIGTERM arriving while the runner's claim statement is in flight (the worker polls every second, the inline
 * runner claims after every enqueue): stop() saw no job in hand, so it gave no grace and aborted nothing, and
 * the job the claim returned then ran to its end inside stop(). The server's forced exit (13 s) then cut it off,
 * leaving it `running` until another process noticed; `npm run worker` waited for it for as long as it took.
 * README: "it gives a running job 5 s to finish, then stops it and records it as failed" ("npm run worker gives its job 30 s").
 * A job claimed as the stop begins has not started: it is queued again for the next process, not run and not failed.
 */
const postgresUp = await serviceAvailable(POSTGRES_URL);

describe.skipIf(!postgresUp)('a runner stopped while it claims a job', () => {
  let t: TestDb;
  let jobs: JobRepository;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    jobs = createJobRepository(t.db);
  });
  afterAll(() => t?.dispose());

  it('When stop() comes while the claim is in flight, Then the claimed job does not start and is queued again, in its place, for the next runner', async () => {
    let claimStarted!: () => void;
    const claiming = new Promise<void>((resolve) => (claimStarted = resolve));
    let releaseClaim!: () => void;
    const claimMayAnswer = new Promise<void>((resolve) => (releaseClaim = resolve));
    // The claim statement takes a moment (a busy Postgres): stop() is called meanwhile.
    const slowClaim: JobRepository = {
      ...jobs,
      claimNext: async (types, workerId) => {
        claimStarted();
        await claimMayAnswer;
        return jobs.claimNext(types, workerId);
      },
    };
    // A long job that stops at its signal, as every handler does.
    const started: string[] = [];
    const long: JobHandler = (_params, ctx) =>
      new Promise((resolve, reject) => {
        started.push(ctx.job.id);
        const timer = setTimeout(() => resolve({ done: true }), 30_000);
        ctx.signal.addEventListener('abort', () => (clearTimeout(timer), reject(ctx.signal.reason)), { once: true });
      });
    const job = await jobs.enqueue('long', {}, { exclusiveKey: 'long' });
    const runner = createJobRunner({ jobs: slowClaim, handlers: { long }, mode: 'worker', pollMs: 60_000, abandonAfterMs: 500 });
    await runner.start();
    await claiming;

    const stopped = runner.stop({ graceMs: 1000 });
    releaseClaim();
    await stopped;
    // Before the fix: the job ran to its end inside stop() (30 s past a 1 s grace, never aborted).
    expect(started).toEqual([]);
    const after = (await jobs.get(job.id))!;
    expect(after).toMatchObject({ status: 'queued', workerId: null, startedAt: null });
    // Still the one job of its exclusive key, and the next runner runs it.
    await expect(jobs.enqueue('long', {}, { exclusiveKey: 'long' })).rejects.toMatchObject({ code: 'JOB_ALREADY_RUNNING' });
    const quick: JobHandler = async (_params, ctx) => (started.push(ctx.job.id), { done: true });
    const next = createJobRunner({ jobs, handlers: { long: quick }, mode: 'worker', pollMs: 60_000 });
    expect(await next.runNext()).toBe(true);
    expect(started).toEqual([job.id]);
    expect((await jobs.get(job.id))!.status).toBe('succeeded');
  }, 60_000);
});
