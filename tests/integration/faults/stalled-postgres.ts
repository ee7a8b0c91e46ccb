/**
 * What the job-stalled-postgres tests share (one file each, import and training, so they run side by side): a
 * Postgres that takes connections and answers nothing (SIGSTOP: a paused VM, a proxy whose backend is gone) in
 * the middle of a job. No connection fails, so an outage's one-minute wait never starts: before, a job's
 * statement in flight waited for as long as the stall lasted (for ever, for a proxy that never answers),
 * holding the runner, with no failure to see. A job's statements now have a limit of their own.
 */
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import type { JobRecord, JobRepository } from '../../../src/jobs/job-repository.js';

/**
 * The runner's limits here: a job's statements and its bookkeeping's, far below the 5 minutes they have in the
 * service (STALL_LIMIT_MS=300000 runs it with the service's, for bench/README "A Redis or Postgres that misbehaves").
 */
export const LIMIT_MS = Number(process.env.STALL_LIMIT_MS ?? 2000);
/**
 * How long the jobs here retry a late statement on new connections, as through an outage (a minute in the service,
 * JOB_OUTAGE_WAIT_MS, which the 5-minute statement limit outlasts: there a stalled job fails at its first late statement).
 */
export const OUTAGE_WAIT_MS = 5_000;
/** How long a test lets a stalled job run before it calls it stuck: far above the limit plus OUTAGE_WAIT_MS of retries of new connections. */
export const STUCK_MS = LIMIT_MS + OUTAGE_WAIT_MS + 60_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs one job of `type` whose work is `work` in a worker runner with LIMIT_MS limits. Waits for `stalled()`
 * (Postgres frozen), then for the work to end, for at most STUCK_MS in all; Postgres is thawed in every case
 * before the runner is waited for. `ended` is 'succeeded', the work's error message, or undefined for a job
 * still running at the deadline; `seconds`, from the stall to the end (or the deadline).
 */
export async function runJobThroughStall(opts: {
  jobs: JobRepository;
  type: string;
  work: () => Promise<unknown>;
  stalled: () => boolean;
  thaw: () => Promise<void>;
}): Promise<{ ended: string | undefined; seconds: number; record: JobRecord }> {
  let ended: string | undefined;
  const runner = createJobRunner({
    jobs: opts.jobs,
    mode: 'worker',
    log: { info() {}, warn() {}, error() {} },
    statementLimitMs: LIMIT_MS,
    workStatementLimitMs: LIMIT_MS,
    handlers: {
      [opts.type]: async () =>
        opts.work().then(
          (result) => ((ended = 'succeeded'), result),
          (err: Error) => {
            ended = err.message;
            throw err;
          },
        ),
    },
  });
  const job = await opts.jobs.enqueue(opts.type, {});
  const run = runner.runNext();
  const deadline = Date.now() + STUCK_MS;
  let stalledAt = Date.now();
  try {
    while (!opts.stalled() && Date.now() < deadline) await sleep(50);
    stalledAt = Date.now();
    while (ended === undefined && Date.now() < deadline) await sleep(200);
  } finally {
    await opts.thaw();
  }
  const seconds = (Date.now() - stalledAt) / 1000;
  await run;
  return { ended, seconds, record: (await opts.jobs.get(job.id)) as JobRecord };
}
