import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { EventRepository } from '../data/event-repository.js';
import { AppError } from '../errors.js';
import { resolveRecipe } from '../training/train-model.js';
import { anyPurchaseStored, nothingToRead } from '../evaluation/owed-free-input.js';
import type { FactorImportJobParams, ImportJobParams, ImportSubmission, TrainJobParams } from './job-handlers.js';
import type { ExportRequest } from '../exports/export-request.js';
import { inspectFactorDir } from '../data/importers/factor-files.js';
import { checkImportInput } from '../data/importers/run-import.js';
import { realPathOf, underImportRoots } from '../data/import-roots.js';
import { alsSourceOf } from '../training/factor-source.js';
import { pageOf } from '../data/paging.js';
import type { EnqueueOptions, JobRecord, JobRepository } from './job-repository.js';
import { submitOnce } from './request-fingerprint.js';
import { JOB_TYPES, TRAINING_EXCLUSIVE_KEY, type JobType } from './job-types.js';

export interface JobServiceDeps {
  jobs: JobRepository;
  /**
   * The first and last purchase: a training window that holds none is refused before it is queued. Those of the
   * customers whose erasure is owed (erasure_requests) are left out, as a training reads none of them: purchaseRange('owed').
   */
  events: Pick<EventRepository, 'purchaseRange' | 'firstPurchaseIn'>;
  defaultRecipe: string;
  recipesDir?: string;
  /** Wakes an inline runner after an enqueue; absent when only workers run jobs. */
  kick?: () => void;
  /**
   * Directories an import may read from; unset = anywhere this process can read. Only `.csv`/`.csv.gz`
   * files and directories are accepted in any case.
   */
  importRoots?: string[];
  /** Checks an export request against the active model before it is queued (throws AppError). */
  checkExport?: (request: ExportRequest) => Promise<void>;
}

export type JobService = ReturnType<typeof createJobService>;

const unprocessable = (field: string, message: string) => new AppError('UNPROCESSABLE', message, [{ path: field, message }]);

/**
 * A training window [from, to) must hold purchases: refused now (422, as an evaluation's cutoff is)
 * rather than as a job failing later for want of data. The first and last purchase name what is stored
 * when the window lies outside it; a window inside a gap of the data is found by its own first purchase.
 */
async function checkWindow(window: { from?: string; to?: string }, events: Pick<EventRepository, 'purchaseRange' | 'firstPurchaseIn'>): Promise<void> {
  // Of the purchases a training reads: those of customers whose erasure is owed are not (owed-free-input.ts), left
  // out inside Postgres (erasure_requests anti-joined: at 100,000 owed, sending their ids cost 2.5-6 s a submission).
  const range = await events.purchaseRange('owed');
  if (range.first === null || range.last === null) throw unprocessable(window.from ? 'from' : 'to', nothingToRead(await anyPurchaseStored(events), 'train on'));
  if (window.to && Date.parse(window.to) <= Date.parse(range.first)) {
    throw unprocessable('to', `no purchases before "to" ${window.to} (the first is at ${range.first}): nothing to train on`);
  }
  if (window.from && Date.parse(window.from) > Date.parse(range.last)) {
    throw unprocessable('from', `no purchases at or after "from" ${window.from} (the last is at ${range.last}): nothing to train on`);
  }
  const bounds = { from: window.from ? new Date(window.from) : undefined, to: window.to ? new Date(window.to) : undefined };
  if ((await events.firstPurchaseIn(bounds, 'owed')) === null) {
    throw unprocessable('from', `no purchases from "from" ${window.from ?? '(the first)'} to "to" ${window.to ?? '(the last)'}, a gap in the data (${range.first} to ${range.last}): nothing to train on`);
  }
}

/**
 * The roots a job's reads are held to, as real paths (the job's import_roots column, not its params: see
 * EnqueueOptions.importRoots): the directory named is checked here, each file the job opens inside it when the
 * job runs (a link out of the roots is refused then). Undefined when the submission was not held to roots.
 */
const heldTo = (roots?: string[]) => roots?.map(realPathOf);

/** Resolves and checks the server-side path of an import before a job is queued for it. */
async function importablePath(request: { path: string; format: ImportJobParams['format'] | 'factors' }, roots?: string[]): Promise<string> {
  // Real paths on both sides: a symbolic link inside an allowed directory must not lead outside it.
  const abs = realPathOf(request.path);
  if (roots && !underImportRoots(abs, roots)) throw unprocessable('path', `${request.path} is outside the directories imports may read (IMPORT_ROOTS: ${roots.join(', ')})`);
  const info = await stat(abs)
    .then(async (s) => (await access(abs, constants.R_OK), s))
    .catch(() => null);
  if (!info) throw unprocessable('path', `${request.path}: nothing readable at this path on the server`);
  if (request.format === 'online-retail' && !(info.isFile() && /\.csv(\.gz)?$/i.test(abs))) {
    throw unprocessable('path', `${request.path}: the online-retail format is a .csv or .csv.gz file`);
  }
  if (request.format === 'factors' && !info.isDirectory()) {
    throw unprocessable('path', `${request.path}: factors are a directory (item_factors.npy or item_factors.csv, ...; see docs/factor-import.md)`);
  }
  if (request.format === 'generic' && !info.isDirectory()) {
    throw unprocessable('path', `${request.path}: the generic format is a directory holding items.csv, users.csv and/or events.csv`);
  }
  return abs;
}

/**
 * Submitting long work: validates the request up front (a bad recipe or path is a 4xx now, not a
 * failed job later), queues the job and wakes the inline runner.
 */
export function createJobService(deps: JobServiceDeps) {
  async function enqueue(type: JobType, params: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<JobRecord> {
    const job = await deps.jobs.enqueue(type, params, opts);
    if (job.status === 'queued') deps.kick?.();
    return job;
  }

  const once = (type: JobType, request: unknown, key: string | undefined, submit: Parameters<typeof submitOnce>[4]) => submitOnce(deps.jobs, type, request, key, submit);

  return {
    /**
     * Queues a training; JOB_ALREADY_RUNNING (409, details[0].jobId) while one is queued or running.
     * `runningAs` inserts it as already held by that worker (the CLI runs it itself).
     */
    async submitTraining(request: TrainJobParams, opts: { runningAs?: string; idempotencyKey?: string } = {}): Promise<JobRecord> {
      return once(JOB_TYPES.train, request, opts.idempotencyKey, async (idempotency) => {
        // The job trains the file checked here: its params name the file, not the name the recipe gives
        // itself (a copy of default.json keeping "name": "default" would train default.json).
        const recipe = request.recipe ?? deps.defaultRecipe;
        await resolveRecipe(recipe, deps.recipesDir);
        if (request.from && request.to && Date.parse(request.from) >= Date.parse(request.to)) {
          throw new AppError('VALIDATION_FAILED', '"from" must be before "to"', [{ path: 'from', message: 'must be before "to"' }]);
        }
        if (request.from || request.to) await checkWindow(request, deps.events);
        return enqueue(JOB_TYPES.train, { ...request, recipe }, { exclusiveKey: TRAINING_EXCLUSIVE_KEY, runningAs: opts.runningAs, idempotency });
      });
    },

    /**
     * Queues an import of a file or directory on the server (never an upload), after checking the path and the
     * header of each file (checkImportInput): a file of the wrong shape is a 422 now, not a failed job later.
     */
    async submitImport(request: ImportSubmission, opts: { idempotencyKey?: string } = {}): Promise<JobRecord> {
      return once(JOB_TYPES.import, request, opts.idempotencyKey, async (idempotency) => {
        if (request.dateOrder && request.format !== 'online-retail') {
          throw new AppError('VALIDATION_FAILED', 'dateOrder applies to the online-retail format only (generic timestamps are ISO 8601)', [{ path: 'dateOrder', message: 'online-retail only' }]);
        }
        const dateOrder = request.dateOrder ? { dateOrder: request.dateOrder } : {};
        const path = await importablePath(request, deps.importRoots);
        const delimiter = request.delimiter ? { delimiter: request.delimiter } : undefined;
        await checkImportInput({ format: request.format, path, roots: heldTo(deps.importRoots), ...delimiter }).catch((err: unknown) => {
          throw err instanceof AppError && err.code === 'UNPROCESSABLE' ? unprocessable('path', err.message) : err;
        });
        // The delimiter beside the params, not in them: the release before reads import params strictly (importJobOptions).
        return enqueue(JOB_TYPES.import, { format: request.format, path, ...dateOrder }, { idempotency, importRoots: heldTo(deps.importRoots), ...(delimiter ? { options: delimiter } : {}) });
      });
    },

    /**
     * Queues a campaign export after checking it against the active model (a strategy it lacks, an
     * unknown item or an empty category is a 4xx now, not a failed job later).
     */
    async submitExport(request: ExportRequest, opts: { idempotencyKey?: string } = {}): Promise<JobRecord> {
      return once(JOB_TYPES.export, request, opts.idempotencyKey, async (idempotency) => {
        await deps.checkExport?.(request);
        // `bom` beside the params, not in them: the release before reads export params strictly (migration 027).
        const { bom, ...params } = request;
        return enqueue(JOB_TYPES.export, params, { idempotency, ...(bom !== undefined ? { options: { bom } } : {}) });
      });
    },

    /**
     * Queues a training that takes its ALS factors from a directory on the server. The path (inside
     * IMPORT_ROOTS), the layout and headers of its files and the recipe's ALS source are checked now;
     * rows are checked when the job reads them. Shares the one-training-at-a-time key (409).
     */
    async submitFactorImport(request: FactorImportJobParams, opts: { runningAs?: string; anyPath?: boolean; idempotencyKey?: string } = {}): Promise<JobRecord> {
      return once(JOB_TYPES.factorImport, request, opts.idempotencyKey, async (idempotency) => {
        const recipeFile = request.recipe ?? deps.defaultRecipe;
        const recipe = await resolveRecipe(recipeFile, deps.recipesDir);
        alsSourceOf(recipe, request.source);
        // `anyPath`: the CLI, whose user reads the directory with their own rights, is not held to IMPORT_ROOTS.
        const roots = opts.anyPath ? undefined : deps.importRoots;
        const dir = await importablePath({ path: request.path, format: 'factors' }, roots);
        const importRoots = heldTo(roots);
        await inspectFactorDir(dir, { roots: importRoots });
        // The file, as a training's params name it (the job trains models/<params.recipe>.json).
        const params = { path: dir, recipe: recipeFile, ...(request.source ? { source: request.source } : {}) };
        return enqueue(JOB_TYPES.factorImport, params, { exclusiveKey: TRAINING_EXCLUSIVE_KEY, runningAs: opts.runningAs, idempotency, importRoots });
      });
    },

    /** The job with this id if it is of `type`, else null. */
    async get(type: JobType, id: string): Promise<JobRecord | null> {
      const job = await deps.jobs.get(id);
      return job?.type === type ? job : null;
    },

    /** Jobs of one type, newest first: `limit` (default 20) after the job `after`, then `offset`; `next`: the next page's `after`. */
    async list(type: JobType, page: { limit?: number; offset?: number; after?: string; afterParam?: 'after' | 'cursor' } = {}): Promise<{ jobs: JobRecord[]; next: string | null }> {
      const limit = page.limit ?? 20;
      const { page: jobs, next } = pageOf(await deps.jobs.list({ type, limit: limit + 1, offset: page.offset ?? 0, after: page.after, afterParam: page.afterParam }), limit);
      return { jobs, next };
    },
  };
}
