import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CANCELLED_FAILURE, INTERRUPTED, OUTAGE_FAILURE, stalledStatementFailure, storeRefusesWritesFailure, type JobRecord, type JobRepository } from './job-repository.js';
import { cancelledState, QUERY_TIMEOUT_MESSAGE, withoutQueryTimeout, withQueryTimeout } from '../data/query-timeout.js';
import { AppError, dependencyFailure, ERRORS, storeWriteRefusal } from '../errors.js';
import { retryWhileUnavailable } from '../retry-while-unavailable.js';
import { backgroundLog } from '../background-log.js';

/** What a handler gets besides its params. */
export interface JobContext {
  job: JobRecord;
  /** Aborted when the runner stops or the job was taken away (declared interrupted); stop at the next step. */
  signal: AbortSignal;
  /**
   * Records progress (0..1) and the current step. Writes are serialized, so progress never goes
   * backwards in the table. Rejects when the job is no longer this runner's (the signal is aborted too).
   * A write the database could not take (it is restarting, failing over) does not reject: the job goes
   * on, and the next write brings the table up to date.
   */
  progress(fraction: number, step?: string): Promise<void>;
  /**
   * Records a partial result (see JobRepository.note), e.g. what to clean up should the process die.
   * One the database could not take is sent again before the next write (a success's result replaces it).
   * With `durable`, that failure rejects instead (a dependency failure, which the caller may retry): for a
   * note the job must not go on without, such as the name of a draft it is about to write.
   */
  note(partial: Record<string, unknown>, opts?: { durable?: boolean }): Promise<void>;
}

/** Does one job's work; the resolved value becomes the job's result (JSON). */
export type JobHandler = (params: Record<string, unknown>, ctx: JobContext) => Promise<unknown>;

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface JobRunnerOptions {
  jobs: JobRepository;
  /** Handlers by job type; the runner claims only types it has a handler for. */
  handlers: Record<string, JobHandler>;
  /**
   * `inline`: the API process runs jobs itself, woken by kick() on enqueue (and a slow poll for jobs
   * enqueued by other processes). `worker`: a dedicated `npm run worker` process that polls.
   */
  mode: 'inline' | 'worker';
  /** Defaults to `host:pid:random`; the host and pid let a restart on the same host spot dead holders. */
  workerId?: string;
  pollMs?: number;
  heartbeatMs?: number;
  /** A running job whose heartbeat is older than this is declared interrupted by any runner. */
  staleAfterMs?: number;
  /**
   * How often running jobs are swept: holders whose process on this host is gone are declared at once
   * (a pid check), others once their heartbeat is older than staleAfterMs. Default: the smaller of
   * staleAfterMs / 2 and 10 s.
   */
  sweepMs?: number;
  /** After an abort, how long a handler that ignores its signal is awaited before it is abandoned. */
  abandonAfterMs?: number;
  /**
   * The database belongs to this process alone (embedded PGlite), so any job left running at start
   * was held by a process that no longer exists.
   */
  exclusiveDatabase?: boolean;
  log?: Logger;
  /**
   * Limit on each statement of the runner's own bookkeeping (claims, sweeps, heartbeats, progress and
   * notes, outcomes): a Postgres that stops answering must not hold the claim loop for good. Unset = none.
   */
  statementLimitMs?: number;
  /**
   * Limit on each statement of a job's own work (the handlers'): far above any one statement a job makes
   * (the largest, a training's load of every purchase, took 41 s at ten times our data), so it only ends a
   * statement that gets no answer at all. A Postgres that takes connections and never answers (paused, a
   * proxy whose backend is gone) fails no connection, so no outage's wait starts: an import held the
   * runner for as long as the stall lasted (tests/integration/faults/job-stalled-postgres.test.ts). A
   * statement given up here is a dependency failure, retried as an outage, and then fails the job saying
   * submitting it again is safe. Unset = none.
   */
  workStatementLimitMs?: number;
  /**
   * How long the outcome of a finished job is written again while the database cannot take it (a
   * restart, a failover), so a training that published is not left running for the sweep to call
   * interrupted. Default: the smaller of staleAfterMs / 2 and 60 s; not while the runner stops.
   */
  outcomeRetryMs?: number;
  /** Told when a job ends (metrics: durations by type and outcome). */
  onFinished?: (info: { type: string; status: 'succeeded' | 'failed'; ms: number }) => void;
  /** Cleans up after jobs found interrupted (their partial results tell what they left behind). */
  onInterrupted?: (jobs: JobRecord[]) => Promise<void>;
}

export interface JobRunner {
  readonly workerId: string;
  /** Declares jobs of dead processes interrupted, then starts claiming in the background. Never rejects. */
  start(): Promise<void>;
  /**
   * Only the start-up recovery, without claiming anything: for a CLI that runs its own job and must
   * not be refused by the leftovers of a killed process.
   */
  recover(): Promise<void>;
  /** Wakes the claim loop now (after an enqueue). */
  kick(): void;
  /**
   * Claims and runs one job to its end; false when none was queued, or when the runner is stopping (a job
   * claimed then is queued again, unstarted). For CLIs and tests.
   */
  runNext(): Promise<boolean>;
  /** Runs a job this runner already holds (inserted as running for it), to its end. */
  runHeld(job: JobRecord): Promise<void>;
  /**
   * Stops claiming while the job in hand, if any, goes on (a server's SHUTDOWN_DELAY_MS: a job queued
   * meanwhile is left for another process rather than started here to be interrupted). stop() follows.
   */
  drain(): void;
  /**
   * Stops claiming, waits up to `graceMs` for the job in hand, then aborts it and records it as
   * interrupted; a job whose claim was in flight is queued again without running. Resolves once nothing
   * of this runner touches the database any more.
   */
  stop(opts?: { graceMs?: number }): Promise<void>;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * Default of staleAfterMs: 24 missed heartbeats (5 s each). Long enough that a busy but live holder
 * (its event loop blocked by a synchronous step) keeps its job, short enough that a job of a worker
 * that vanished from another host is failed within minutes, not hours.
 */
export const DEFAULT_STALE_AFTER_MS = 120_000;

/** The holders among `workerIds` that ran on this host in a process that no longer exists. */
export function deadLocalWorkers(workerIds: (string | null)[], host = hostname(), self = process.pid): string[] {
  return workerIds.filter((id): id is string => {
    if (!id) return false;
    const [h, pidText] = id.split(':');
    const pid = Number(pidText);
    if (h !== host || !Number.isInteger(pid) || pid <= 0 || pid === self) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (err) {
      // EPERM: the process exists but belongs to someone else.
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  });
}

/** The repository with each call's statements limited to `ms`. */
function limited(jobs: JobRepository, ms: number): JobRepository {
  const calls = Object.entries(jobs).map(([name, call]) =>
    typeof call === 'function' ? [name, (...args: unknown[]) => withQueryTimeout(ms, () => (call as (...a: unknown[]) => unknown)(...args))] : [name, call],
  );
  return Object.fromEntries(calls) as JobRepository;
}

/** After an abort, how long a handler that ignores its signal is awaited before it is abandoned, unless told (ms). */
export const DEFAULT_ABANDON_AFTER_MS = 3000;

export function createJobRunner(opts: JobRunnerOptions): JobRunner {
  const { handlers } = opts;
  const jobs = opts.statementLimitMs ? limited(opts.jobs, opts.statementLimitMs) : opts.jobs;
  const log = opts.log ?? silent;
  const workerId = opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const pollMs = opts.pollMs ?? (opts.mode === 'inline' ? 5000 : 1000);
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const sweepMs = opts.sweepMs ?? Math.min(staleAfterMs / 2, 10_000);
  const abandonAfterMs = opts.abandonAfterMs ?? DEFAULT_ABANDON_AFTER_MS;
  const outcomeRetryMs = opts.outcomeRetryMs ?? Math.min(staleAfterMs / 2, 60_000);
  // Failures that repeat while Postgres is away (each poll, each progress write, each outcome attempt):
  // one line per kind per 30 s, a warning without the stack when the database is what failed.
  const repeated = backgroundLog(log, { everyMs: 30_000 });
  const types = Object.keys(handlers);

  let stopping = false;
  let draining = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  // A kick while the loop is busy claiming must not be lost: the loop then skips its next sleep.
  let kicked = false;
  let current: { job: JobRecord; done: Promise<void>; abort: AbortController } | null = null;
  let lastSweep = 0;
  // The sweep in flight, if any: the claim loop's and the timer's never run side by side.
  let sweeping: Promise<void> | null = null;
  // Sweeps while the claim loop is in a job (it sweeps between jobs only): a job of a process that died
  // meanwhile is declared within sweepMs, not once this runner's job ends (which may take an hour).
  let sweepTimer: NodeJS.Timeout | null = null;
  // Start-up recovery that failed (database not reachable yet) is retried by the claim loop.
  let startRecoveryDone = false;

  // Outcomes of this runner's jobs that Postgres did not take within outcomeRetryMs, by job id: written
  // again before each sweep while this runner lives, so its own sweep does not declare such a job
  // interrupted ("the process running it stopped") when it knows how the job ended.
  const unrecorded = new Map<string, () => Promise<void>>();
  async function writeUnrecorded(): Promise<void> {
    for (const [id, write] of unrecorded) {
      try {
        await write();
      } catch (err) {
        // Postgres still away: the sweep that follows fails too, and the next one tries again.
        if (dependencyFailure(err)) throw err;
        log.error({ err, jobId: id }, 'could not record a job outcome');
      }
      unrecorded.delete(id);
    }
  }

  async function recover(atStart: boolean): Promise<void> {
    await writeUnrecorded();
    // Every sweep, not only the first: a worker killed on this host while this runner lives (kill -9,
    // OOM killer) is seen at the next sweep instead of after staleAfterMs.
    const running = !opts.exclusiveDatabase ? await jobs.listRunning() : [];
    const failed = await jobs.failInterrupted({
      all: atStart && opts.exclusiveDatabase,
      staleAfterMs,
      deadWorkers: deadLocalWorkers(running.map((r) => r.workerId)),
      // The job in hand is alive whatever its heartbeat says (one due may not have gone out yet, e.g.
      // after a synchronous step): this runner never declares its own job interrupted.
      exceptIds: current ? [current.job.id] : [],
    });
    lastSweep = Date.now();
    if (atStart) startRecoveryDone = true;
    if (failed.length === 0) return;
    log.error({ jobIds: failed.map((j) => j.id), types: failed.map((j) => j.type) }, 'jobs of stopped processes marked failed (interrupted)');
    await opts.onInterrupted?.(failed).catch((err) => log.error({ err }, 'cleanup after interrupted jobs failed'));
  }

  /** A sweep (recover(false)), joined if one is already in flight. */
  function sweep(): Promise<void> {
    sweeping ??= recover(false).finally(() => {
      sweeping = null;
    });
    return sweeping;
  }

  /** The timer's sweep: only once start-up recovery is done, and not once the runner stops. */
  function sweepWhileBusy(): void {
    if (stopping || sweeping || !startRecoveryDone || Date.now() - lastSweep < sweepMs) return;
    sweep().catch((err: unknown) => repeated('job sweep failed', err));
  }

  /**
   * A finished job's outcome, written again while Postgres cannot take it (not once the runner stops);
   * still not taken after outcomeRetryMs, it is kept for the sweeps (`unrecorded`). True once written.
   */
  const recordOutcome = async (job: JobRecord, write: () => Promise<boolean>, onRecorded: () => void) => {
    try {
      const recorded = await retryWhileUnavailable(write, {
        forMs: outcomeRetryMs,
        stop: () => stopping,
        onRetry: (err) => repeated('could not record a job outcome; trying again', err, { jobId: job.id, type: job.type }),
      });
      if (recorded) onRecorded();
      return recorded;
    } catch (err) {
      if (dependencyFailure(err) && !stopping) unrecorded.set(job.id, async () => void ((await write()) && onRecorded()));
      throw err;
    }
  };

  async function execute(job: JobRecord, abort: AbortController): Promise<void> {
    const lost = () => abort.abort(new Error(INTERRUPTED));
    let chain: Promise<unknown> = Promise.resolve();
    // The last note the database could not take (a later one replaces it): sent before the next write.
    let unsentNote: Record<string, unknown> | null = null;
    const sendNote = async (partial: Record<string, unknown>) => {
      unsentNote = partial;
      const held = await jobs.note(job.id, workerId, partial);
      if (unsentNote === partial) unsentNote = null;
      return held;
    };
    const flushNote = () => (unsentNote === null ? Promise.resolve(true) : sendNote(unsentNote));
    // Writes of one job go out one after another, so the table never shows an older value last. One
    // the database cannot take (a restart, a failover) is let go: progress is advisory, a note is kept
    // for the next write, and the job goes on. Only "no longer yours" stops it. A note replaces the note
    // left unsent, so only other writes send that one first.
    const serialized = (write: () => Promise<boolean>, isNote = false, durable = false) => {
      const done = chain.then(async () => {
        let held: boolean;
        try {
          held = (isNote || (await flushNote())) && (await write());
        } catch (err) {
          if (!dependencyFailure(err) || durable) throw err;
          repeated('could not record job progress; the job goes on', err, { jobId: job.id, type: job.type });
          return;
        }
        if (!held) {
          lost();
          throw abort.signal.reason;
        }
      });
      chain = done.catch(() => {});
      return done;
    };
    const ctx: JobContext = {
      job,
      signal: abort.signal,
      progress: (fraction, step) => serialized(() => jobs.progress(job.id, workerId, fraction, step)),
      note: (partial, opts) => serialized(() => sendNote(partial), true, opts?.durable),
    };
    const beat = setInterval(() => {
      jobs.heartbeat(job.id, workerId).then((held) => held || lost(), () => {});
    }, heartbeatMs);
    beat.unref();
    const started = performance.now();
    const ended = (status: 'succeeded' | 'failed') => opts.onFinished?.({ type: job.type, status, ms: performance.now() - started });
    let result: unknown;
    try {
      const handler = handlers[job.type];
      if (!handler) throw new Error(`no handler for job type "${job.type}"`);
      // A job's statements may run for minutes at scale: no request's limit applies, even to a job kicked by one;
      // only its own (workStatementLimitMs), for a Postgres that never answers.
      const limit = opts.workStatementLimitMs;
      const work = limit ? withQueryTimeout(limit, () => handler(job.params, ctx)) : withoutQueryTimeout(() => handler(job.params, ctx));
      // A handler that ignores its signal is given a moment after an abort, then abandoned (its late
      // rejection must not surface as unhandled).
      work.catch(() => {});
      const abandoned = whenAborted(abort.signal).then(async () => {
        await Promise.race([work.catch(() => {}), sleep(abandonAfterMs)]);
        throw abort.signal.reason;
      });
      abandoned.catch(() => {});
      result = await Promise.race([work, abandoned]);
    } catch (err) {
      const message = failureMessage(err, { statementLimitMs: opts.workStatementLimitMs });
      await chain;
      // Not recorded: declared interrupted by another runner (which counted it), or kept for this runner's
      // sweeps to write (and another runner's to declare interrupted, should this one stop first).
      await recordOutcome(job, async () => (await flushNote()) && jobs.fail(job.id, workerId, message), () => ended('failed')).catch((e) => {
        log.error({ err: e, jobId: job.id }, 'could not record the failure');
      });
      // What the request asked for could not be done (a wrong file, too little data): the caller's to fix,
      // reported in the job and logged as a warning with its message; anything else is an error with its stack.
      if (err instanceof AppError && ERRORS[err.code].status < 500) log.warn({ jobId: job.id, type: job.type, code: err.code, reason: err.message }, 'job failed');
      else log.error({ jobId: job.id, type: job.type, err }, 'job failed');
      clearInterval(beat);
      return;
    }
    try {
      await chain;
      // False when the job was declared interrupted meanwhile: that verdict stands, and the runner that
      // declared it counted it (onInterrupted), so it is not counted here. A success Postgres never took
      // is not turned into a failure: the work is done (a training has published); the job stays running
      // until this runner's next sweep writes it (or another's declares it interrupted), and the log says so.
      await recordOutcome(job, () => jobs.succeed(job.id, workerId, result), () => ended('succeeded')).catch((e) => {
        log.error({ err: e, jobId: job.id, type: job.type }, 'the job succeeded, but its success could not be recorded');
      });
      log.info({ jobId: job.id, type: job.type, ms: Math.round(performance.now() - started) }, 'job succeeded');
    } finally {
      clearInterval(beat);
    }
  }

  function track(job: JobRecord): Promise<void> {
    const abort = new AbortController();
    const done = execute(job, abort).finally(() => {
      current = null;
    });
    current = { job, done, abort };
    return done;
  }

  async function runNext(): Promise<boolean> {
    const job = await jobs.claimNext(types, workerId);
    if (!job) return false;
    if (stopping || draining) {
      // stop() (or drain()) came while the claim was in flight: it saw no job in hand, so this one would run past the
      // grace with no abort (to the forced exit, or for as long as it takes in a worker). Nothing of it has
      // run: it goes back to the queue, for the next process to run rather than to fail as interrupted.
      const released = await jobs.release(job.id, workerId).catch((err: unknown) => {
        log.warn({ err, jobId: job.id, type: job.type }, 'could not put back a job claimed as the runner stopped');
        return false;
      });
      // Not put back: it stays running under this runner's id, which the next sweep declares interrupted.
      if (released) log.info({ jobId: job.id, type: job.type }, 'job claimed as the runner stopped: queued again');
      return false;
    }
    await track(job);
    return true;
  }

  async function claimLoop(): Promise<void> {
    while (!stopping && !draining) {
      let ran = false;
      try {
        if (!startRecoveryDone) await recover(true);
        else if (Date.now() - lastSweep >= sweepMs) await sweep();
        ran = await runNext();
      } catch (err) {
        repeated('job loop: claiming failed', err);
      }
      if (ran || stopping || draining) continue;
      if (kicked) {
        kicked = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
      kicked = false;
    }
  }

  return {
    workerId,
    async start() {
      // A database that is down at boot must not stop the API from starting: the loop retries.
      // (A warning when it is down, as for every background failure of the runner; an error otherwise.)
      await recover(true).catch((err: unknown) => repeated('job recovery at start failed; retrying', err));
      if (!loop) {
        sweepTimer = setInterval(sweepWhileBusy, sweepMs);
        sweepTimer.unref();
      }
      loop ??= claimLoop();
    },
    recover: () => recover(true),
    kick() {
      kicked = true;
      wake?.();
    },
    runNext,
    runHeld: (job) => track(job),
    drain() {
      draining = true;
      wake?.();
    },
    async stop({ graceMs = 10_000 } = {}) {
      stopping = true;
      if (sweepTimer) clearInterval(sweepTimer);
      sweepTimer = null;
      wake?.();
      const job = current;
      if (job) {
        const finished = await Promise.race([job.done.then(() => true), sleep(graceMs).then(() => false)]);
        if (!finished) {
          job.abort.abort(new Error(INTERRUPTED));
          await job.done;
        }
      }
      await loop;
      // A sweep the timer started before the stop: nothing of this runner touches the database after.
      await sweeping?.catch(() => {});
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const whenAborted = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

/**
 * What a failed job records as its error. A store that stopped answering for longer than the job's
 * steps wait for it (each retries about a minute) says so and what to do: every job's writes are
 * idempotent or unpublished until complete, so submitting it again is safe and loses nothing. A statement
 * Postgres cancelled itself (to the service's requests, a slow Postgres like an outage) would be
 * cancelled again: it says which limit to lift instead. So does a Redis that answers but refuses writes
 * (READONLY, OOM, MISCONF), which the job's writes do not wait for: it says so and why. A statement given up at
 * the job's own limit (`statementLimitMs`, the runner's workStatementLimitMs: a Postgres that takes connections and
 * answers nothing) says that limit, not the outage's minute.
 */
export function failureMessage(err: unknown, opts: { statementLimitMs?: number } = {}): string {
  const message = err instanceof Error ? err.message : String(err);
  if (message === INTERRUPTED) return message;
  const refusal = storeWriteRefusal(err);
  if (refusal) return `${message}: ${storeRefusesWritesFailure(refusal)}`;
  if (!dependencyFailure(err)) return message;
  const cancelled = cancelledState(err) as keyof typeof CANCELLED_FAILURE | null;
  if (cancelled) return `${message}: ${CANCELLED_FAILURE[cancelled]}`;
  return `${message}: ${givenUpLate(err) ? stalledStatementFailure(opts.statementLimitMs) : OUTAGE_FAILURE}`;
}

/** Whether `err` (or an error it was caused by) is a statement given up at our limit (QUERY_TIMEOUT_MESSAGE, maybe with a step's words before it). */
function givenUpLate(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  return err.message.includes(QUERY_TIMEOUT_MESSAGE) || givenUpLate(err.cause, depth + 1);
}
