import { constants } from 'node:fs';
import { access, stat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import { resolveRecipe } from '../training/train-model.js';
import type { ImportJobParams, TrainJobParams } from './job-handlers.js';
import type { ExportRequest } from '../exports/export-request.js';
import type { EnqueueOptions, JobRecord, JobRepository } from './job-repository.js';
import { JOB_TYPES, TRAINING_EXCLUSIVE_KEY, type JobType } from './job-types.js';

export interface JobServiceDeps {
  jobs: JobRepository;
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

/** Resolves and checks the server-side path of an import before a job is queued for it. */
async function importablePath(request: ImportJobParams, roots?: string[]): Promise<string> {
  // Real paths on both sides: a symbolic link inside an allowed directory must not lead outside it.
  const real = (p: string) => realpath(p).catch(() => path.resolve(p));
  const abs = await real(request.path);
  if (roots) {
    const allowed = await Promise.all(roots.map(real));
    if (!allowed.some((r) => abs === r || abs.startsWith(r + path.sep))) {
      throw unprocessable('path', `${request.path} is outside the directories imports may read`);
    }
  }
  const info = await stat(abs)
    .then(async (s) => (await access(abs, constants.R_OK), s))
    .catch(() => null);
  if (!info) throw unprocessable('path', `${request.path}: nothing readable at this path on the server`);
  if (request.format === 'online-retail' && !(info.isFile() && /\.csv(\.gz)?$/i.test(abs))) {
    throw unprocessable('path', `${request.path}: the online-retail format is a .csv or .csv.gz file`);
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

  return {
    /**
     * Queues a training; JOB_ALREADY_RUNNING (409, details[0].jobId) while one is queued or running.
     * `runningAs` inserts it as already held by that worker (the CLI runs it itself).
     */
    async submitTraining(request: TrainJobParams, opts: { runningAs?: string } = {}): Promise<JobRecord> {
      const recipe = (await resolveRecipe(request.recipe ?? deps.defaultRecipe, deps.recipesDir)).name;
      if (request.from && request.to && Date.parse(request.from) >= Date.parse(request.to)) {
        throw new AppError('VALIDATION_FAILED', '"from" must be before "to"', [{ path: 'from', message: 'must be before "to"' }]);
      }
      return enqueue(JOB_TYPES.train, { ...request, recipe }, { exclusiveKey: TRAINING_EXCLUSIVE_KEY, runningAs: opts.runningAs });
    },

    /** Queues an import of a file or directory on the server (never an upload). */
    async submitImport(request: ImportJobParams): Promise<JobRecord> {
      return enqueue(JOB_TYPES.import, { format: request.format, path: await importablePath(request, deps.importRoots) });
    },

    /**
     * Queues a campaign export after checking it against the active model (a strategy it lacks, an
     * unknown item or an empty category is a 4xx now, not a failed job later).
     */
    async submitExport(request: ExportRequest): Promise<JobRecord> {
      await deps.checkExport?.(request);
      return enqueue(JOB_TYPES.export, request);
    },

    /** The job with this id if it is of `type`, else null. */
    async get(type: JobType, id: string): Promise<JobRecord | null> {
      const job = await deps.jobs.get(id);
      return job?.type === type ? job : null;
    },

    list: (type: JobType, limit = 20) => deps.jobs.list({ type, limit }),
  };
}
