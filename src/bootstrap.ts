import type { FastifyBaseLogger } from 'fastify';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLED_SAMPLE_PATH, runImport } from './data/importers/run-import.js';
import {
  markSampleImportDone,
  clearSampleImportStarted,
  markSampleImportStarted,
  markSampleTrained,
  moveSampleImport,
  pendingSampleImport,
  sampleUntrained,
} from './data/sample-import-marker.js';
import { AppError, dependencyFailure, storeWriteRefusal, WRITE_REFUSALS, type WriteRefusal } from './errors.js';
import { JOB_TYPES } from './jobs/job-types.js';
import type { Services } from './services.js';

/**
 * First start of an empty service (SAMPLE_DATA=true): import the bundled Online Retail sample and
 * train the default recipe on it (with its written weights, untuned), so recommendations answer at
 * once. A database holding data that never trained gets a training job queued; one whose trainings
 * published before is left to model recovery. Runs after listen; /health/ready waits for it. A failure is logged and the service carries on: it serves
 * without the sample rather than not at all.
 * Replicas starting together on one Postgres take turns (an advisory lock): the sample is imported and
 * trained once. A first start stopped during the import (which commits batch by batch) leaves a mark in the
 * database, and the next start imports the sample again before training, not on the part that was stored.
 * A whole sample not trained yet is marked in the database too (sample_untrained), so whichever process next
 * holds the lock (another replica, or this one restarted) trains it once with the written weights.
 * Resolves false when a store did not answer (nothing was decided after what went through: bootstrapUntilDone
 * tries again), else true (done, or failed for another reason, logged).
 */
export async function bootstrap(services: Services, log: Log): Promise<boolean> {
  if (!services.config.SAMPLE_DATA) return true;
  try {
    // Several replicas starting at once on an empty Postgres: one imports and trains while the others
    // wait on the lock, then find the work done. (Embedded PGlite: one process, one connection, no lock.)
    if (services.db.kind === 'postgres') {
      await services.db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [FIRST_START_LOCK]);
        await firstStart(services, log);
      });
    } else await firstStart(services, log);
    return true;
  } catch (err) {
    // A model store that answers but refuses writes (REDIS_URL naming a replica, a failover under way): the
    // sample waits, trained once the store takes writes (bootstrapUntilDone asks it), not again and again into it.
    const refusal = storeWriteRefusal(err);
    if (err instanceof StoreRefusesWrites || refusal) {
      log.error({ cause: (err as Error).message }, storeRefusesWritesLog(refusal));
      return false;
    }
    // A store that does not answer (Redis hanging, Postgres gone): nothing was decided, and the work is to be
    // done again once it answers (bootstrapUntilDone); the service runs on meanwhile.
    if (dependencyFailure(err)) {
      log.warn({ cause: (err as Error).message }, 'first-start check skipped: a store does not answer');
      return false;
    }
    log.error({ err }, 'first-start sample loading failed; the service runs without it');
    return true;
  }
}

type Log = Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;

/** How the first start's log begins when the model store refuses its writes (storeRefusesWritesLog). */
export const STORE_REFUSES_WRITES = 'first-start training waits: the model store refuses writes';

/** What the first start logs when the model store refuses its writes: the refusal Redis answered (null: not known). */
export function storeRefusesWritesLog(refusal: WriteRefusal | null): string {
  const why = refusal ? WRITE_REFUSALS[refusal] : 'its write probe did not go through';
  return `${STORE_REFUSES_WRITES} (${why}); the sample is trained once it takes writes (readiness: modelStoreWritable)`;
}

/** The model store answered that it takes no writes (its refusal, when it said one, the cause): the first start does not train into it. */
class StoreRefusesWrites extends Error {}

/** How long the first-start work waits to look again whether the stores answer, after one did not (the server's: FIRST_START_RETRY_MS in the config). */
export const FIRST_START_RETRY_MS = 5_000;

/**
 * The first-start work (bootstrap), done again while a store it needs does not answer (a deployment that
 * starts Redis after the API) or the model store refuses writes (a replica): every `retryMs`, once Postgres
 * and the model store both answer and the store takes writes, until it is done or `stopped()`. A first start whose import went through but whose model store was down trains the
 * sample once the store answers, instead of leaving the shop without a model for good (model recovery leaves
 * a shop that never published alone).
 */
export async function bootstrapUntilDone(services: Services, log: Log, opts: { stopped: () => boolean; retryMs?: number }): Promise<void> {
  const retryMs = opts.retryMs ?? FIRST_START_RETRY_MS;
  if (await bootstrap(services, log)) return;
  log.info({ retryMs }, 'first-start work: trying again once Postgres and the model store answer');
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, retryMs).unref());
    if (opts.stopped()) return;
    if (!(await storesAnswer(services))) continue;
    if (await bootstrap(services, log)) {
      log.info({}, 'first-start work done now that the stores answer');
      return;
    }
  }
}

/** Both stores answer a cheap call, and the model store takes a write: only then is the first-start work tried again. */
async function storesAnswer(services: Services): Promise<boolean> {
  const [database, store] = await Promise.all([
    services.db.query('SELECT 1').then(() => true, () => false),
    services.store.ping().catch(() => false),
  ]);
  return database && store && (await modelStoreWritable(services));
}

/** Whether the model store takes writes (one that cannot tell is taken to). */
const modelStoreWritable = async (services: Services): Promise<boolean> => (await services.store.acceptsWrites?.().catch(() => false)) ?? true;

/** Whether this process can open `file` for reading. */
const readable = (file: string): Promise<boolean> => access(file, constants.R_OK).then(() => true, () => false);

/** Key of the Postgres advisory lock held during the first-start work (any number no other lock uses). */
const FIRST_START_LOCK = 7_267_001;

async function firstStart(services: Services, log: Log): Promise<void> {
  // Whether any purchase is stored: two index lookups (events.counts() counted every purchase and distinct order: seconds at ten times our data, at every start).
  const anyPurchase = (await services.events.purchaseRange()).first !== null;
  const pending = anyPurchase ? await pendingSampleImport(services.db) : null;
  const resumed = pending !== null;
  const toImport = !anyPurchase || resumed;
  if (toImport) {
    // An import taken up again completes the file it began with: the rows stored are a part of that one, and
    // another file (SAMPLE_FILE changed between the two starts) imported on top would mix two samples.
    // Resolved against the working directory of the start that records it: a restart from another directory
    // opens the same file (a relative path recorded as written named another file there, or none).
    const configured = services.config.SAMPLE_FILE ? path.resolve(services.config.SAMPLE_FILE) : '';
    let chosen = pending?.sampleFile ?? configured;
    // A mark an older release wrote holds SAMPLE_FILE as written (relative): when it names the configured file
    // from this directory, it is that file, recorded resolved from now on (not told apart from itself).
    if (resumed && chosen !== '' && !path.isAbsolute(chosen) && path.resolve(chosen) === configured) {
      await moveSampleImport(services.db, configured);
      chosen = configured;
    }
    // The file the unfinished import began with cannot be read any more (moved, deleted, its mount gone): an
    // operator who set SAMPLE_FILE to another readable file has it complete the import (the same sample moved;
    // the import is idempotent on its rows). Without that the mark stayed and the service ran without a
    // sample at every start until the database was emptied.
    if (resumed && chosen !== '' && chosen !== configured && configured !== '' && !(await readable(chosen)) && (await readable(configured))) {
      log.warn(
        { began: chosen, configured },
        `the file the unfinished sample import began with (${chosen}) cannot be read: completing the import from SAMPLE_FILE (${configured}) instead`,
      );
      await moveSampleImport(services.db, configured);
      chosen = configured;
    }
    const file = chosen === '' ? BUNDLED_SAMPLE_PATH : chosen;
    const sample = chosen === '' ? 'the bundled sample' : `the sample ${file} (SAMPLE_FILE)`;
    if (chosen !== configured) {
      const now = configured === '' ? 'the bundled sample' : configured;
      log.warn(
        { began: file, configured: configured === '' ? BUNDLED_SAMPLE_PATH : configured },
        `SAMPLE_FILE changed since the first start that was stopped during its import: completing ${sample}, whose rows are stored in part, not ${now}; to import ${now} instead, start on an empty database`,
      );
    }
    log.info(resumed ? `a first start was stopped during the sample import: importing ${sample} again` : `empty database: importing ${sample}`);
    // Set before the first row and cleared after the last: purchases found with the mark still set are a
    // part of the sample (the import is idempotent, so importing it again completes it).
    await markSampleImportStarted(services.db, chosen);
    const report = await runImport({ db: services.db }, { format: 'online-retail', path: file }).catch(async (err: unknown) => {
      // An import that stored nothing (SAMPLE_FILE missing, unreadable, not in the format) leaves no part of a
      // sample behind: the mark goes, so the shop's own data stored later is not taken for one at the next start.
      if (!resumed && (await services.events.purchaseRange()).first === null) await clearSampleImportStarted(services.db);
      // Its rows are stored in part and the mark stays: say what ends that, not only that it failed.
      if (resumed && !dependencyFailure(err) && !(await readable(file))) {
        log.error(
          { file, cause: (err as Error).message },
          `the unfinished sample import cannot read ${file}, the file it began with: put the file back there, or set SAMPLE_FILE to where it is now (the next start completes the import from it), or start on an empty database; until then the service runs without the sample`,
        );
      }
      throw err;
    });
    // Marks the sample as whole and not trained yet, in the database: another process, or this one
    // restarted, taking the work up once the model store answers trains it as below, not as a shop's data.
    await markSampleImportDone(services.db);
    log.info({ accepted: report.accepted, users: report.users, items: report.items, ms: report.durationMs }, 'sample imported');
  }
  if (await services.store.getActive()) {
    // A version is active: the sample, if it waited, trained (a go that published and then lost Postgres
    // before clearing the mark), or a training after it did.
    if (await sampleUntrained(services.db)) await markSampleTrained(services.db);
    return;
  }
  // The sample imported by a first start, now or at an earlier go (of any process) that the model store did
  // not answer, and not trained since: the mark is in the database, read under the first-start lock.
  if (await sampleUntrained(services.db)) {
    // The bundled sample (353 customers) is a slice of the shop the recipe's written weights were tuned
    // on, and too small for its 30-day validation windows: tuning there took ~75% of a 41 s first start
    // and would fit noise. So the sample trains here, at once, with the written weights.
    // A store that refuses writes (a replica) would take the whole training and then refuse its version.
    if (!(await modelStoreWritable(services))) {
      const refused = (await services.store.writeRefusal?.().catch(() => null)) ?? null;
      throw new StoreRefusesWrites(refused ? refused.message : 'the model store refuses writes', { cause: refused ?? undefined });
    }
    log.info('no model yet: training the default recipe on the sample with its written weights');
    const trained = await services.trainer.train({ tune: false });
    await markSampleTrained(services.db);
    log.info({ version: trained.version, ms: trained.durations.total }, 'first model trained');
    return;
  }
  // Data was there already. A model store that lost what trainings published (a Redis restarted empty) is
  // model recovery's to judge (RETRAIN_ON_LOST_MODEL: it trains again only after a success), not a first start.
  if (await services.jobs.lastEnded([JOB_TYPES.train, JOB_TYPES.factorImport])) {
    log.warn({}, 'no active model although trainings ran before: left to model recovery (RETRAIN_ON_LOST_MODEL), or train with POST /v1/training-jobs');
    return;
  }
  // A shop's data that never trained (imported before any training, or a first start stopped after its
  // import): a training job, as the recipe says (tuning included), seen in /v1/training-jobs and run where
  // JOB_RUNNER says, rather than in this process out of sight.
  try {
    const job = await services.jobService.submitTraining({});
    log.info({ jobId: job.id }, 'no model yet: the default recipe is queued to train on the data');
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'JOB_ALREADY_RUNNING')) throw err;
    log.info({}, 'no model yet: a training is queued or running already');
  }
}
