import { z } from 'zod';
import type { Db } from '../data/db.js';
import { DATE_ORDERS, type DateOrder } from '../data/importers/field-parsers.js';
import { IMPORT_FORMATS, runImport, type ImportFormat } from '../data/importers/run-import.js';
import { CSV_DELIMITERS, type CsvDelimiter } from '../data/importers/csv-source.js';
import { readFactorDir } from '../data/importers/factor-files.js';
import type { ModelStore } from '../store/model-store.js';
import { tuneSpecSchema } from '../training/recipe.js';
import type { Trainer } from '../training/train-model.js';
import type { JobRecord, JobRepository } from './job-repository.js';
import type { JobHandler } from './job-runner.js';
import { JOB_TYPES } from './job-types.js';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { EXPORT_FORMATS, exportFileName, exportRequest } from '../exports/export-request.js';
import { runExport, type ExportDeps } from '../exports/run-export.js';

/** Params of a training job as stored in the jobs table (dates as ISO strings). */
export const trainJobParams = z.strictObject({
  recipe: z.string().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  tune: z.union([z.boolean(), tuneSpecSchema]).optional(),
});
export type TrainJobParams = z.infer<typeof trainJobParams>;

/**
 * Params of an import job. Import params stay as the release before reads them (strict schemas, here and in
 * factorImportJobParams): during a rolling upgrade its replicas and workers claim jobs queued by this one, and the
 * reverse. The directories an import job must read within travel beside the params, in the job's import_roots
 * column (ctx.job.importRoots: IMPORT_ROOTS as real paths when the submission was held to them, absent when not,
 * as for the CLI), which that release never reads.
 */
export const importJobParams = z.strictObject({
  format: z.enum(IMPORT_FORMATS as [ImportFormat, ...ImportFormat[]]),
  path: z.string().min(1),
  dateOrder: z.enum(DATE_ORDERS as [DateOrder, ...DateOrder[]]).optional(),
});
export type ImportJobParams = z.infer<typeof importJobParams>;

/**
 * Options of an import job the release before does not know, beside its params (the job's options column, as an
 * export's `bom`): that release parses import params strictly and would fail a job holding them.
 */
export const importJobOptions = z.object({ delimiter: z.enum(CSV_DELIMITERS as [CsvDelimiter, ...CsvDelimiter[]]).optional() });
/** An import as submitted: its params and its options. */
export type ImportSubmission = ImportJobParams & z.infer<typeof importJobOptions>;

/** Params of a factor import: a directory on the server (docs/factor-import.md), the recipe and its ALS source. */
export const factorImportJobParams = z.strictObject({
  path: z.string().min(1),
  recipe: z.string().optional(),
  source: z.string().optional(),
});
export type FactorImportJobParams = z.infer<typeof factorImportJobParams>;

/**
 * Deletes the unpublished model versions of interrupted trainings (noted as `draftVersion` before
 * their first write). A training that died right after its publish keeps its model.
 */
export async function cleanUpInterruptedTrainings(store: Pick<ModelStore, 'deleteVersion' | 'listVersions'>, interrupted: JobRecord[]): Promise<void> {
  const drafts = draftsOf(interrupted);
  if (drafts.length === 0) return;
  const published = new Set((await store.listVersions()).map((m) => m.version));
  for (const draft of drafts) if (!published.has(draft)) await store.deleteVersion(draft);
}

/**
 * Deletes the drafts of the last failed trainings and factor imports that the store still holds: one
 * whose own cleanup found the store away (the training's, or cleanUpInterruptedTrainings's after a sweep)
 * stayed there, listed nowhere, for good (a Redis frozen past a training's wait left 1.7 MB a time).
 * Run before each training job: trainings are exclusive, so no failed job's draft is being written.
 */
export async function cleanUpAbandonedDrafts(store: Pick<ModelStore, 'deleteVersion' | 'listVersions'>, jobs: Pick<JobRepository, 'recentlyEnded'>): Promise<void> {
  const drafts = await abandonedDrafts(jobs);
  if (drafts.length === 0) return;
  const published = new Set((await store.listVersions()).map((m) => m.version));
  for (const draft of drafts) if (!published.has(draft)) await store.deleteVersion(draft);
}

/**
 * The draft versions the last failed trainings and factor imports noted: what cleanUpAbandonedDrafts
 * deletes, and an erasure too (user-erasure.ts), since a draft holds every customer the training read. A
 * failed job publishes nothing (its training stops at its publish, which also checks that the store still
 * holds the whole draft), so deleting one never takes a version from under a running training. Some may be
 * published (a training that died right after its publish) or gone already: the caller checks.
 */
export async function abandonedDrafts(jobs: Pick<JobRepository, 'recentlyEnded'>): Promise<string[]> {
  const ended = await jobs.recentlyEnded([JOB_TYPES.train, JOB_TYPES.factorImport], ABANDONED_DRAFTS_LOOKED_AT);
  return draftsOf(ended.filter((job) => job.status === 'failed'));
}

/** The draft versions that these trainings and factor imports noted (`draftVersion`). */
function draftsOf(jobs: JobRecord[]): string[] {
  return jobs
    .filter((job) => job.type === JOB_TYPES.train || job.type === JOB_TYPES.factorImport)
    .map((job) => (job.result as { draftVersion?: unknown } | null)?.draftVersion)
    .filter((v): v is string => typeof v === 'string');
}

/** How many of the trainings that ended last cleanUpAbandonedDrafts looks at. */
const ABANDONED_DRAFTS_LOOKED_AT = 20;

/**
 * Deletes the partial files of interrupted exports (`<job>.<format>.part` in `dir`): a process that died
 * while writing one left customers' rows that nothing would finish, serve or scrub of an erased customer.
 */
export async function cleanUpInterruptedExports(dir: string, interrupted: JobRecord[]): Promise<void> {
  const parts = interrupted.filter((job) => job.type === JOB_TYPES.export).flatMap((job) => EXPORT_FORMATS.map((format) => join(dir, `${exportFileName(job.id, format)}.part`)));
  // Every file tried, whatever one of them does; the first failure is reported after.
  const failed = (await Promise.allSettled(parts.map((part) => rm(part, { force: true })))).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const date = (s: string | undefined) => (s === undefined ? undefined : new Date(s));

/**
 * The work behind each job type. The same handlers run in the API process (inline) and in
 * `npm run worker`, so a job means the same thing wherever it runs.
 */
export function createJobHandlers(deps: {
  db: Db;
  trainer: Trainer;
  evaluate?: JobHandler;
  /** Told after an import which purchases it stored (created since `since`), for live recommendations. */
  onImported?: (since: Date) => Promise<void>;
  /** Campaign exports; without it this process does not claim export jobs. */
  exports?: { deps: ExportDeps; dir: string };
  /** Run before each training and factor import (cleanUpAbandonedDrafts); its failure does not fail the job. */
  beforeTraining?: () => Promise<void>;
  /** How long an import's writes wait for Postgres to come back (default IMPORT_OUTAGE_RETRY_MS, a minute); tests shorten it. */
  importOutageWaitMs?: number;
}): Record<string, JobHandler> {
  const beforeTraining = async () => {
    await deps.beforeTraining?.().catch(() => {});
  };
  const handlers: Record<string, JobHandler> = {
    [JOB_TYPES.train]: async (raw, ctx) => {
      const params = trainJobParams.parse(raw);
      // Noted before any step of the job: a rollback made during the cleanup stands, as during the training.
      const activeAtStart = await deps.trainer.activeVersion({ signal: ctx.signal });
      await beforeTraining();
      return deps.trainer.train(
        { recipe: params.recipe, from: date(params.from), to: date(params.to), tune: params.tune },
        {
          onProgress: (p) => ctx.progress(p.fraction, p.step),
          onVersion: (version) => ctx.note({ draftVersion: version }, { durable: true }),
          signal: ctx.signal,
          jobId: ctx.job.id,
          activeAtStart,
        },
      );
    },
    // A training whose ALS source takes the factors read from the directory instead of being fitted.
    [JOB_TYPES.factorImport]: async (raw, ctx) => {
      const params = factorImportJobParams.parse(raw);
      // Noted before the files are read (the longest read of the job on a big shop): a rollback made
      // meanwhile stands, as one made during any step of a training.
      const activeAtStart = await deps.trainer.activeVersion({ signal: ctx.signal });
      await ctx.progress(0, 'read');
      const { format, files, ...data } = await readFactorDir(params.path, { roots: ctx.job.importRoots });
      ctx.signal.throwIfAborted();
      await beforeTraining();
      return deps.trainer.train(
        { recipe: params.recipe, factors: { data, source: params.source, origin: { path: params.path, format, files } } },
        {
          onProgress: (p) => ctx.progress(p.fraction, p.step),
          onVersion: (version) => ctx.note({ draftVersion: version }, { durable: true }),
          signal: ctx.signal,
          jobId: ctx.job.id,
          activeAtStart,
        },
      );
    },
    [JOB_TYPES.import]: async (raw, ctx) => {
      const params = { ...importJobParams.parse(raw), ...importJobOptions.parse(ctx.job.options ?? {}) };
      // The importer reports at most once per percent; a write that fails (the job was taken away)
      // aborts ctx.signal, and the runner records the verdict.
      const since = new Date();
      const report = await runImport({ db: deps.db, outageWaitMs: deps.importOutageWaitMs }, { ...params, roots: ctx.job.importRoots }, (fraction) => void ctx.progress(fraction, 'import').catch(() => {})).catch(async (err: unknown) => {
        // An import that stops part way (a `;` file's number that is not one, a line it cannot read) has stored the
        // rows before it, and the import of the mended file stores none of them again: told now, or at the next training.
        await deps.onImported?.(since).catch(() => {});
        throw err;
      });
      await deps.onImported?.(since);
      return report;
    },
  };
  if (deps.evaluate) handlers[JOB_TYPES.evaluate] = deps.evaluate;
  const exports = deps.exports;
  if (exports) {
    handlers[JOB_TYPES.export] = async (raw, ctx) => {
      // An export's `bom` is kept beside its params (the job's options, migration 027), so the release before reads them.
      const params = exportRequest.parse({ ...raw, ...ctx.job.options });
      const file = join(exports.dir, exportFileName(ctx.job.id, params.format));
      return runExport(exports.deps, params, file, { onProgress: (f, step) => void ctx.progress(f, step).catch(() => {}), signal: ctx.signal });
    };
  }
  return handlers;
}
