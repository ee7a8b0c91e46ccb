import { AppError } from '../errors.js';
import { INTERRUPTED, storeAbsenceFailure, type JobRecord } from '../jobs/job-repository.js';
import type { ModelStore } from '../store/model-store.js';
import { LOST_FROM_STORE } from './train-model.js';
import { goneFromStore } from './write-model-version.js';
import type { RestoreOutcome } from './model-restore.js';

/**
 * Whether the trainings (and factor imports) that ended last, newest first, let a lost model be trained
 * again unasked: the newest succeeded, or it failed for no fault of its own right after one that
 * succeeded: interrupted (the process running it stopped: a deploy, a killed worker), a store away for
 * longer than a job waits, or its written version lost by the store before the publish (the outage or
 * restart that lost the model often fails the training running then, one way or the other). Any other
 * failure, or a second such failure in a row (a worker killed for its memory at every try, a store that
 * keeps going away or evicting), waits for a person.
 */
export function trainingStillTrusted(recent: readonly Pick<JobRecord, 'status' | 'error'>[]): boolean {
  const [newest, before] = recent;
  if (newest?.status === 'succeeded') return true;
  const error = newest?.error ?? '';
  const notItsFault = error === INTERRUPTED || storeAbsenceFailure(error) || error.startsWith(LOST_FROM_STORE);
  return notItsFault && before?.status === 'succeeded';
}

/** How many times checkSoon looks, a second apart, while the look fails. */
const SOON_TRIES = 30;

/** How often a process looks for a model store that lost every version. */
export const RECOVERY_CHECK_MS = 60_000;

/**
 * First, when the store holds no version at all, `restore` puts back the version active before from its copy in
 * Postgres (model-restore.ts: seconds, one process of all, no training); only when it has nothing to put back does the
 * rest of this hold (RETRAIN_ON_LOST_MODEL; without it, `submit` is absent and a person trains).
 *
 * Trains again, unasked, when the model store lost the model although a training has published before:
 * it holds no active version (a Redis restarted without persistence, or flushed, lost every version), or
 * the active version's artifacts or tables are gone while the pointer still names it (keys evicted under
 * an `allkeys-*` maxmemory policy, a cluster shard restarted empty). The purchases are in Postgres, the
 * system of record. Until then every replica serves only what it holds in memory (customers whose entries
 * are gone get fallbacks), and a new one nothing. It trains the default recipe (DEFAULT_RECIPE) on all
 * the data, as configured now. A store that keeps evicting fails that training's own check of what it
 * wrote, and a failed training is not retried (below), so it is tried once.
 *
 * Left alone, and not reported as a loss: a shop that never trained (no training or factor import ever
 * succeeded, and this process never saw a version; its first training is the data team's call, or the
 * bootstrap's). Trained again like a lost job's model: a version this process saw that no job made (the
 * first start's sample model) when no training or factor import ever ended, since a training succeeded
 * (the version was published) and none failed; a restarted process would queue that training anyway (the
 * bootstrap trains data that no job trained), and if it fails, the rule below holds. Left alone, and reported once: a shop whose newest training failed (the automatic one included): retrying a failure every minute
 * would train for ever, so after a failure a person trains. Checked at most every `everyMs`, by whichever
 * request comes, once `start` was called (after the server's first-start work, which trains an empty
 * store itself); every replica may find the loss, but trainings are exclusive, so one is queued.
 */
export function createModelRecovery(deps: {
  store: Pick<ModelStore, 'getActive' | 'contentsOf'>;
  /** How many customers were erased after an erasure mark (see goneFromStore). */
  erasedSince?: (mark: number) => Promise<number>;
  /**
   * Whether the newest training or factor import that ended succeeded (trainingStillTrusted); null when
   * none ever ended (a version this process saw came from no job: the first start's sample model).
   */
  newestTrainingSucceeded: () => Promise<boolean | null>;
  /** Whether a training or factor import ever succeeded, i.e. published a version to the store. */
  everPublished: () => Promise<boolean>;
  /**
   * Queues a training of the default recipe; JOB_ALREADY_RUNNING when one is queued or running. Absent
   * (RETRAIN_ON_LOST_MODEL=false): only a restore from a copy is tried.
   */
  submit?: () => Promise<{ id: string }>;
  /**
   * Puts the version active before back from its copy in Postgres (model-restore.ts), tried first when the store
   * holds no version at all: `none` when there is no whole copy of it, and the retraining is the fallback.
   */
  restore?: () => Promise<RestoreOutcome>;
  /**
   * Records the store's active version as the one a restore puts back, where Postgres records another (an activation
   * whose record failed: model-copies.ts settle). Asked at each look that finds an active version; never throws.
   */
  recordActive?: (version: string) => Promise<unknown>;
  /**
   * Deletes the drafts whose writer's lease ran out (ModelStore.sweepDrafts: a restore killed while it put versions
   * back), at the start and at each look; a failure is logged and the look goes on.
   */
  sweepDrafts?: () => Promise<string[]>;
  /** Runs one look with its statements bounded (a Postgres that stops answering must not hold it for good). */
  bounded?: <T>(fn: () => Promise<T>) => Promise<T>;
  warn?: (obj: object, msg: string) => void;
  log?: (msg: string, err?: unknown) => void;
  everyMs?: number;
}) {
  const everyMs = deps.everyMs ?? RECOVERY_CHECK_MS;
  const bounded = deps.bounded ?? (<T>(fn: () => Promise<T>) => fn());
  let started = false;
  let lastAt = -Infinity;
  let running: Promise<void> | null = null;
  /** The loss last reported as left alone, so a loss that lasts is reported once, not every minute. */
  let reportedLoss: string | null = null;
  /** This process saw an active version (a first start's sample model is published by no job). */
  let sawActive = false;

  /** Whether the last loss found was of every version (not of some parts of the active one). */
  let lostEverything = false;
  /** Why the store cannot serve its model any more, or null while it can (or never held one). */
  async function loss(): Promise<string | null> {
    const active = await deps.store.getActive();
    lostEverything = active === null;
    if (active === null) {
      // A store that never held a version lost nothing: a new shop, whose first training is to come.
      if (!sawActive && !(await deps.everPublished())) return null;
      return 'the model store holds no version although trainings have published before (a Redis restarted without persistence?)';
    }
    sawActive = true;
    await deps.recordActive?.(active.version);
    const gone = await goneFromStore(deps.store, active, deps.erasedSince);
    if (gone.length === 0) return null;
    return `the model store no longer holds all of the active version ${active.version} (${gone.join(', ')} gone: keys evicted under maxmemory, or a cluster shard restarted empty?)`;
  }

  /** The sweep of abandoned drafts; never throws. */
  async function sweep(): Promise<void> {
    if (!deps.sweepDrafts) return;
    try {
      const swept = await deps.sweepDrafts();
      if (swept.length > 0) deps.warn?.({ versions: swept }, `deleted ${swept.length} draft version(s) whose writer stopped renewing its lease (a restore killed before it published them)`);
    } catch (err) {
      deps.log?.('deleting the drafts of writers gone failed; tried again at the next look', err);
    }
  }

  async function recover(): Promise<string | null> {
    await sweep();
    const why = await loss();
    // Put back from its copy (another process may be doing it): no training. Asked whether or not a job published (a
    // whole copy recorded as active is a publish: the first start's sample model, a training run by the CLI's own
    // process); nothing to put back answers at once.
    if (lostEverything && deps.restore && (await deps.restore()) !== 'none') return (reportedLoss = null);
    if (why === null) return (reportedLoss = null);
    if (!deps.submit) {
      if (reportedLoss !== why) {
        reportedLoss = why;
        deps.warn?.({}, `${why}: no whole copy of the version active before to put back, and RETRAIN_ON_LOST_MODEL is off: train with POST /v1/training-jobs`);
      }
      return null;
    }
    // No job ever ended, yet a loss: this process saw a version (loss() reports none else), which no job made.
    const newest = await deps.newestTrainingSucceeded();
    if (newest === false) {
      // Readiness stays 503 until someone trains: the log says why nothing happens by itself.
      if (reportedLoss !== why) {
        reportedLoss = why;
        deps.warn?.({}, `${why}: not training again by itself, since the newest training job failed (or was interrupted twice in a row): train with POST /v1/training-jobs`);
      }
      return null;
    }
    reportedLoss = null;
    try {
      const job = await deps.submit();
      deps.warn?.({ jobId: job.id }, `${why}: training the default recipe again`);
      return job.id;
    } catch (err) {
      // One is queued or running already (another replica found the loss first, or the data team trains).
      if (err instanceof AppError && err.code === 'JOB_ALREADY_RUNNING') return null;
      throw err;
    }
  }

  /** A look of checkSoon under way (with its tries again). */
  let soon: Promise<void> | null = null;

  /** The start's sweep of drafts while under way: a request's look asked meanwhile begins after it, not never. */
  let startSweep: Promise<void> | null = null;

  /** Looks (in the background, at most every `everyMs`); never waits, never throws. */
  function check(): void {
    if (!started || (running && running !== startSweep) || performance.now() - lastAt < everyMs) return;
    lastAt = performance.now();
    const look: Promise<void> = (startSweep ?? Promise.resolve())
      .then(() => bounded(recover))
      .then(() => {}, (err: unknown) => deps.log?.('checking the model store for lost versions failed', err))
      .finally(() => {
        if (running === look) running = null;
      });
    running = look;
  }

  return {
    /** From now on, `check` looks (the server calls it once its first-start work is done). */
    start(): void {
      started = true;
      // Drafts a process killed before this start left (its lease has run out by now, or at a later look).
      // Held as a look under way (idle waits for it; a request's look begins after it), and bounded as one: the sweep
      // asks Postgres whether a restore is under way (services.ts), and one that stops answering must not hold the looks.
      if (deps.sweepDrafts && !running) {
        const swept: Promise<void> = bounded(sweep)
          .catch((err: unknown) => deps.log?.('deleting the drafts of writers gone failed; tried again at the next look', err))
          .finally(() => {
            if (startSweep === swept) startSweep = null;
            if (running === swept) running = null;
          });
        running = startSweep = swept;
      }
    },
    /** Looks (in the background, at most every `everyMs`); never waits, never throws. */
    check,
    /**
     * Looks now, whatever the minute (at most once a second), as `check` does otherwise: the store says an activation
     * may have been missed (its subscription came back: a Redis that restarted), so a store that came back empty is
     * put back from its copy within seconds instead of at the next look a request makes.
     */
    checkSoon(): void {
      if (!started || soon) return;
      // Tried again every second while it fails: the subscription may come back before the connection the look
      // uses (a Redis that just restarted), whose calls fail or are skipped until it answers.
      soon = (async () => {
        for (let i = 0; i < SOON_TRIES; i++) {
          if (running) await running.catch(() => {});
          lastAt = performance.now();
          running = bounded(recover).then(() => {}).finally(() => (running = null));
          if (await running.then(() => true, () => false)) return;
          await new Promise((r) => setTimeout(r, 1000).unref());
        }
        deps.log?.('checking the model store for lost versions failed (after it came back); looked at again at the next request after a minute');
      })().finally(() => (soon = null));
    },
    /** Resolves once no look is under way (one begun by checkSoon included, with its tries again): tests. */
    async idle(): Promise<void> {
      while (soon || running) await (soon ?? running)!.catch(() => {});
    },
    /** One look now; the queued training's job id, or null (tests). */
    recover: () => bounded(recover),
  };
}
