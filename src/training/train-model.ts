import type { CatalogRepository } from '../data/catalog-repository.js';
import type { EventRepository } from '../data/event-repository.js';
import { AppError } from '../errors.js';
import { DatasetBuilder, type Dataset } from '../recommenders/dataset.js';
import { sampleDatasetCustomers } from '../evaluation/tuning-sample.js';
import { tuningSpanDays } from '../evaluation/rolling-tune.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { JOB_OUTAGE_WAIT_MS, retryWhileUnavailable } from '../retry-while-unavailable.js';
import { assertEnoughData, countData, MIN_TRAINING_DATA, type DataCounts } from './dataset-guard.js';
import { newModelVersion } from './model-version.js';
import { computeInWorker } from './compute-in-worker.js';
import { computeModel, type ComputeStepListener, type SourceRestriction } from './compute-model.js';
import { defaultTrainThreads, defaultTuningThreads } from './threaded-serving-build.js';
import type { TableEntries } from '../serving/serving-model-builder.js';
import { listRecipes, loadRecipe, tuningSampleBounds, withTuning, type Recipe, type TuneOverride } from './recipe.js';
import { signalWeight, weighedInteractionTypes } from './event-weights.js';
import type { EvaluationTuning } from '../evaluation/evaluation-report.js';
import { tuneForTraining, tunedDescription } from './tune-for-training.js';
import { tuneInWorker } from './tune-in-worker.js';
import { DAY_MS } from '../recommenders/decay.js';
import { lostFromStore, writeModelVersion, type ContentsSummary } from './write-model-version.js';
import { alignFactors, type AlignmentReport, type ExternalFactors, type ImportedAls } from '../recommenders/imported-factors.js';
import { alsSourceOf } from './factor-source.js';
import { chunkGate, giveSlot, openGate } from './chunk-gate.js';
import type { ModelCopies } from './model-copies.js';

/** What to train: a recipe name (default from config) and the purchase window [from, to). */
export interface TrainRequest {
  recipe?: string;
  from?: Date;
  to?: Date;
  /** Over the recipe's `tune` section: true tunes on this data, false trains the weights as written. */
  tune?: TuneOverride;
  /**
   * Factors trained elsewhere that replace the fit of the recipe's ALS source (`source`, default its
   * only one). The recipe is then trained with its weights as written: tuning refits every source per
   * validation fold, which imported factors cannot stand in for.
   */
  factors?: { data: ExternalFactors; source?: string; origin?: Record<string, unknown> };
}

/** What a factor import matched: the source it replaced, the width, and ids matched or skipped per side. */
export interface FactorImportSummary extends AlignmentReport {
  source: string;
  factors: number;
  origin?: Record<string, unknown>;
}

/** Reported when a step starts: its name and the share of steps already done (0..1). */
export interface TrainProgress {
  step: string;
  fraction: number;
}

export interface TrainResult {
  version: string;
  recipe: string;
  /** The recipe's file under the recipes directory (models/RECIPEFILE.json), which `recipe` need not name (absent from a release before). */
  recipeFile?: string;
  trainedAt: string;
  data: DataCounts;
  /** Milliseconds per step (`load`, `dataset`, `fit:<source>`, `fit:hybrid`, `serving`, ...) and `total`. */
  durations: Record<string, number>;
  contents: ContentsSummary;
  /** When the recipe has a `tune` section: what tuning on this data chose and measured (the published recipe carries the tuned weights). */
  tuning?: EvaluationTuning;
  /** When the training used imported factors for ALS. */
  factorImport?: FactorImportSummary;
  /**
   * Sources that left out items bought in the training data, by recipe source name (EASE with more bought than its
   * `maxItems`: only its `restrictedTo` most-bought of the `boughtItems` bought, `catalogItems` in the catalogue; the
   * others score 0 from it). Absent when none did.
   */
  restrictions?: Record<string, SourceRestriction>;
  /**
   * Whether the published version was made active. False when another version was activated by hand
   * while the training ran (a rollback): the rollback stands and `notActivated` says so.
   */
  activated: boolean;
  notActivated?: string;
  /** The version's copy in Postgres (model-copies.ts): its size (decoded, and as stored), chunks and the time spent on it; absent without one. */
  copy?: { bytes: number; stored: number; chunks: number; ms: number };
}

export interface TrainerDeps {
  /** Purchases; and views, carts and ratings when the repository offers them (weighted by the recipe's eventWeights). */
  events: Pick<EventRepository, 'streamPurchaseRows'> & Partial<Pick<EventRepository, 'streamInteractionRows' | 'streamPurchaseRowsWithTuning'>>;
  catalog: Pick<CatalogRepository, 'listItems' | 'listUsersWithAttributes'> & Partial<Pick<CatalogRepository, 'snapshot'>>;
  store: ModelStore;
  /** Recipe trained when a request names none. */
  defaultRecipe: string;
  /** Where recipes live (default `models`). */
  recipesDir?: string;
  /**
   * `thread` (default): fit and build the serving model in a worker thread, so the process's event
   * loop stays free; `inline`: in the calling thread (simpler to profile).
   */
  isolation?: 'thread' | 'inline';
  /** Threads of the serving build (default: one per core); the model is the same for any number. */
  threads?: number;
  /** Customers precomputed: latest purchase within this many days of the data's end (default: everyone). */
  precomputeDays?: number;
  /** Also store each fitted recommender's own artifact as `recommender:<source>` (default true). */
  storeRecommenders?: boolean;
  minimumData?: { users: number; items: number; events: number };
  /**
   * The per-user rows are written in chunks of `users` customers (default ROWS_CHUNK_USERS), and the serving
   * build waits while `inFlight` chunks (default CHUNKS_IN_FLIGHT) are made and not yet written.
   */
  rowChunks?: { users?: number; inFlight?: number };
  /**
   * Fault injection for tests: runs after each step (`load`, `dataset`, `fit`, `serving`, `profiles`,
   * `encode`, `write`); a throw fails the training at that point, as a crash there would.
   */
  afterStep?: (step: string) => void | Promise<void>;
  /**
   * Erasure bookkeeping (src/privacy/user-erasure.ts): the mark is taken before the data is read and
   * kept in the metadata (`info.erasureMark`); users erased since the mark (whose data the training may
   * have read) are scrubbed from the new version, and it is published, with the erasure lock held.
   */
  erasures?: {
    mark(): Promise<number>;
    publishScrubbed<T>(mark: number, meta: ModelMeta, publish: (scrubbed: number) => Promise<T>): Promise<T>;
    /** Every customer ever erased (imported factors of theirs are skipped). */
    erasedIds?(): Promise<string[]>;
    /** The customers whose erasure was asked for and is not recorded yet (owed): the training reads none of their data. */
    pendingIds?(): Promise<string[]>;
  };
  /**
   * The version's durable copy in Postgres (model-copies.ts), written as the version is, made whole before the
   * publish; a copy that fails is logged and the version published anyway. Absent: no copy (the in-process store).
   */
  copies?: ModelCopies;
  log?: (msg: string, err?: unknown) => void;
  /** How long a training waits, at each of its writes and final steps, for Postgres or Redis to come back (default JOB_OUTAGE_WAIT_MS). */
  outageWaitMs?: number;
}

export interface TrainOptions {
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Checked between steps: an aborted training stops and leaves the active model untouched. */
  signal?: AbortSignal;
  /** Recorded in the metadata so a version points back at the job that made it. */
  jobId?: string;
  /**
   * Told the new version's name before anything is written under it, so that if this process dies
   * mid-write, whoever finds the job interrupted can delete the unpublished version. Nothing is written
   * until it resolves; a dependency failure is tried again for up to OUTAGE_RETRY_MS.
   */
  onVersion?: (version: string) => void | Promise<void>;
  /**
   * The version active when the work this training belongs to began (`trainer.activeVersion()`), read by a
   * caller with steps of its own before the training (a factor import's read of its files, the cleanup of
   * abandoned drafts): a rollback made during them stands as one made during the training. Unset: the
   * training reads it itself, first thing.
   */
  activeAtStart?: string | null;
}

export type Trainer = ReturnType<typeof createTrainer>;

/** The recipe named `name`; an unknown name is an INVALID_RECIPE listing the recipes there are. */
export async function resolveRecipe(name: string, dir?: string): Promise<Recipe> {
  try {
    return await loadRecipe(name, dir);
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'NOT_FOUND') throw err;
    const known = await listRecipes(dir);
    const message = `unknown recipe "${name}"; recipes: ${known.join(', ') || '(none)'}`;
    throw new AppError('INVALID_RECIPE', message, [{ path: 'recipe', message }]);
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;


/** Begins the failure of a training whose written version the store lost before the publish (model-recovery.ts reads it). */
export const LOST_FROM_STORE = 'the model store no longer holds all of version';

/**
 * Training: purchases from Postgres -> dataset -> fit every recipe source and the hybrid -> serving
 * model -> write everything under a new version -> publish (one atomic pointer flip). A failure at any
 * step deletes what was written of the new version, so the active model is never touched.
 */
export function createTrainer(deps: TrainerDeps) {
  /** How long a training waits, at each of its writes and final steps, for Postgres or Redis to come back. */
  const OUTAGE_RETRY_MS = deps.outageWaitMs ?? JOB_OUTAGE_WAIT_MS;
  /** The version served now (null: none), tried again while the store is unavailable, as a training's writes are. */
  function activeVersion(opts: Pick<TrainOptions, 'signal'> = {}): Promise<string | null> {
    return retryWhileUnavailable(async () => (await deps.store.getActive())?.version ?? null, {
      forMs: OUTAGE_RETRY_MS,
      stop: () => opts.signal?.aborted ?? false,
      onRetry: (err) => deps.log?.('training: reading the active version failed for want of a store; trying again', err),
    });
  }

  async function train(request: TrainRequest = {}, opts: TrainOptions = {}): Promise<TrainResult> {
    const startedAt = performance.now();
    // The file is what a training or an evaluation of this recipe names; the recipe may call itself otherwise.
    const recipeFile = request.recipe ?? deps.defaultRecipe;
    let recipe = withTuning(await resolveRecipe(recipeFile, deps.recipesDir), request.factors ? false : request.tune);
    const importSource = request.factors ? alsSourceOf(recipe, request.factors.source) : null;
    const sourceNames = Object.keys(recipe.sources);
    const storeRecommenders = deps.storeRecommenders ?? true;
    const steps = [
      'load',
      'dataset',
      ...(recipe.tune ? ['tune'] : []),
      ...sourceNames.map((s) => `fit:${s}`),
      'fit:hybrid',
      'serving',
      'audience',
      'profiles',
      ...(storeRecommenders ? ['encode'] : []),
      'write',
      'publish',
    ];
    const durations: Record<string, number> = {};
    let done = 0;
    // Progress during the synchronous fits cannot be awaited; its failure (the job was taken away)
    // is kept and rethrown at the next step boundary.
    let reportFailure: unknown = null;
    // `within`: the share of the step's own work done (0 at its start), for a long step that reports inside it (tune).
    const report = (step: string, within = 0) =>
      Promise.resolve(opts.onProgress?.({ step, fraction: (done + within) / steps.length })).catch((err) => {
        reportFailure ??= err;
      });
    const checkpoint = () => {
      opts.signal?.throwIfAborted();
      if (reportFailure) throw reportFailure;
    };
    async function step<T>(name: string, fn: () => T | Promise<T>, hook = name): Promise<T> {
      checkpoint();
      await report(name);
      checkpoint();
      const t0 = performance.now();
      const out = await fn();
      durations[name] = round(performance.now() - t0);
      done++;
      await deps.afterStep?.(hook);
      return out;
    }

    // The version served when this training began, read before anything else (or by the caller, before
    // its own steps: opts.activeAtStart): if another is activated by hand while it runs (a rollback of a
    // bad model), publishing must not silently undo that. Read after loading or tuning (most of a
    // training's time), a rollback made meanwhile would be taken for the start.
    let activeAtStart = opts.activeAtStart !== undefined ? opts.activeAtStart : await activeVersion(opts);
    // A store that holds no version (a Redis back empty) is put back to the version active last from its copy
    // (model-restore.ts), maybe while this training runs: it began on that version, so the restore does not keep
    // this newer one from being made active (as a rollback would).
    if (activeAtStart === null && opts.activeAtStart === undefined && deps.copies) activeAtStart = await deps.copies.lastActive();

    // Purchases stream from a cursor into typed columns: no object per purchase is kept (issue 10). A cursor
    // cannot be resumed part-way: a load that loses Postgres (a restart, a failover) starts again with a new
    // builder, as the steps after it wait for a store that went away.
    const load = async () => {
      const erasureMark = (await deps.erasures?.mark()) ?? 0;
      // Customers whose erasure is owed (asked, failed, to be completed by the service): left out as the erased
      // are (their rows are gone). One asked after this read is scrubbed from the version before it is published.
      const owed = new Set((await deps.erasures?.pendingIds?.()) ?? []);
      const kept = <R extends { userId: string }>(rows: R[]): R[] => (owed.size === 0 ? rows : rows.filter((r) => !owed.has(r.userId)));
      const builder = new DatasetBuilder();
      // Tuning's folds see no return made in their validation windows: with returns dated in them, its purchases are
      // read beside the training's, net only of the returns before the windows (streamPurchaseRowsWithTuning).
      let tuningBuilder: DatasetBuilder | undefined;
      // Where the returns were split for tuning: its windows end there (see streamPurchaseRowsWithTuning).
      let tuningEnd: string | undefined;
      const stream = async () => {
        const window = { from: request.from, to: request.to };
        if (recipe.tune && deps.events.streamPurchaseRowsWithTuning) {
          for await (const batch of deps.events.streamPurchaseRowsWithTuning(window, tuningSpanDays(recipe.tune) * DAY_MS)) {
            builder.addAll(kept(batch.rows));
            if (batch.tuning) (tuningBuilder ??= new DatasetBuilder()).addAll(kept(batch.tuning));
            if (batch.tuningEnd !== undefined) tuningEnd ??= new Date(batch.tuningEnd).toISOString();
          }
        } else for await (const rows of deps.events.streamPurchaseRows(window)) builder.addAll(kept(rows));
        // Then the non-purchase types the recipe weighs (a weight of 0: not read at all), as weighted signals.
        const weights = recipe.eventWeights;
        const types = weighedInteractionTypes(weights);
        if (!deps.events.streamInteractionRows || types.length === 0) return;
        for await (const rows of deps.events.streamInteractionRows(types, { from: request.from, to: request.to })) {
          for (const r of kept(rows)) builder.addSignal({ userId: r.userId, itemId: r.itemId, ts: r.ts, weight: signalWeight(weights, r) });
        }
      };
      // Before the catalogue is read: the serving catalog overlay's first pass reads the items written by the
      // transactions this snapshot could not see, however long before training they began (catalog-overlay.ts).
      const catalogSnapshot = await deps.catalog.snapshot?.();
      // Every read settled before a failure is thrown: no cursor of a failed attempt goes on beside the next.
      const reads = [stream(), deps.catalog.listItems(), deps.catalog.listUsersWithAttributes()] as const;
      await Promise.allSettled(reads);
      const [, items, allUsers] = await Promise.all(reads);
      const users = owed.size === 0 ? allUsers : allUsers.filter((u) => !owed.has(u.id));
      return { erasureMark, builder, tuningBuilder, tuningEnd, items, users, catalogSnapshot };
    };
    const { erasureMark, builder, tuningBuilder, tuningEnd, items, users, catalogSnapshot } = await step('load', () =>
      retryWhileUnavailable(load, {
        forMs: OUTAGE_RETRY_MS,
        stop: () => opts.signal?.aborted ?? false,
        onRetry: (err) => deps.log?.('training: loading the data failed for want of Postgres; loading it again', err),
      }),
    );
    // Shared columns: the training's threads (fits, the serving build's chunks of users) read one copy.
    const ds: Dataset = await step('dataset', () => builder.build({ items, users, shared: true }));
    const data = countData(ds);
    assertEnoughData(data, deps.minimumData ?? MIN_TRAINING_DATA);

    // Imported factors, laid out by this dataset's indices; ids unknown here are skipped and reported.
    let importedAls: ImportedAls | undefined;
    let factorImport: FactorImportSummary | undefined;
    if (request.factors && importSource) {
      // Rows of customers erased, before or during this training: what a file made before the erasure learned of them.
      const erased = request.factors.data.users && deps.erasures?.erasedIds ? new Set(await deps.erasures.erasedIds()) : undefined;
      const { aligned, report } = alignFactors(ds, request.factors.data, erased);
      if (report.items.matched === 0) {
        const sample = report.items.unknownSample.slice(0, 5).map((id) => `"${id}"`).join(', ');
        throw new AppError('UNPROCESSABLE', `none of the ${report.items.imported} imported item ids is in the catalog (e.g. ${sample}); nothing was published`, [{ path: 'item_factors', message: 'no item id matches the catalog' }]);
      }
      importedAls = { source: importSource, factors: aligned };
      factorImport = { source: importSource, factors: aligned.factors, ...report, ...(request.factors.origin ? { origin: request.factors.origin } : {}) };
    }

    // Tuning on this data (recipe `tune` section): the published recipe carries the tuned weights.
    let tuning: EvaluationTuning | undefined;
    if (recipe.tune) {
      // Only the customers tuning works on become rows (tune.maxCustomers, tune.maxPurchases), not every purchase.
      // From the purchases net of the returns before the windows only, when any was made in them (then dropped).
      const input = sampleDatasetCustomers(tuningBuilder ? tuningBuilder.build({ items, users }) : ds, { items, users }, tuningSampleBounds(recipe.tune), { leftOut: recipe.tune.keepOn === 'left-out' });
      // Tuning is most of a training on a large shop: its progress moves as its fits and searches are done
      // (never to the share of the step after it: the last unit ends with the step).
      const onAdvance = (unitsDone: number, total: number) => void report('tune', unitsDone / total);
      const windows = recipe.tune.folds;
      const tuned = await step('tune', () =>
        (deps.isolation ?? 'thread') === 'thread'
          ? tuneInWorker(input, recipe, { signal: opts.signal, threads: deps.threads ?? defaultTuningThreads(windows), onAdvance, end: tuningEnd })
          : tuneForTraining(input, recipe, undefined, { onAdvance }, tuningEnd),
      );
      // The published recipe says its weights are tuning's (not what its file's description says of them).
      recipe = 'skipped' in tuned.validation ? tuned.recipe : { ...tuned.recipe, description: tunedDescription(tuned.recipe.description) };
      tuning = tuned.validation;
    }

    // The version is named before the serving build: it writes the per-user rows under it chunk by
    // chunk as they are made, so a large shop's rows (~1 GB at 16x Online Retail) are never all held at
    // once. Nothing is served from the version before it is published.
    checkpoint();
    const version = newModelVersion(new Date());
    let writing = false;
    // Once published, the version is never deleted by a failure after it (it may be listed without being
    // active, which deleteVersion would not refuse).
    let published = false;
    // The chunks' writes, one after another. The first failure is kept, stops the build and fails the
    // training; once the training has failed (`closed`), chunks still arriving or queued are dropped.
    // The gate holds the build's threads while CHUNKS_IN_FLIGHT chunks wait for the store, so a store
    // slower than the build slows it down instead of filling memory.
    const gate = chunkGate(deps.rowChunks?.inFlight);
    let rowWrites: Promise<void> = Promise.resolve();
    let rowWriteFailure: { error: unknown } | undefined;
    let closed = false;
    const stopBuild = new AbortController();
    const computeSignal = opts.signal ? AbortSignal.any([opts.signal, stopBuild.signal]) : stopBuild.signal;
    // Minutes of work are not thrown away for a Postgres or Redis that restarts or fails over meanwhile:
    // each write of the version, and the steps after it, are tried again while the store is unavailable
    // (each is safe to repeat). What a Redis that came back empty lost is caught before the publish.
    const throughOutage = <T>(what: string, fn: () => Promise<T>) =>
      retryWhileUnavailable(fn, {
        forMs: OUTAGE_RETRY_MS,
        stop: () => closed || (opts.signal?.aborted ?? false),
        onRetry: (err) => deps.log?.(`training ${version}: ${what} failed for want of a store; trying again`, err),
      });
    // Nothing is written under the version before its name is recorded (a job's note): a process that
    // died with rows written under an unrecorded name would leave them in the store for good. Postgres
    // away at this moment costs a wait; away for longer, the training fails with nothing written.
    await throughOutage('recording the draft version', async () => {
      await opts.onVersion?.(version);
    });
    const streamed: Record<string, number> = {};
    const copy = deps.copies?.begin(version);
    const onEntries = (entries: TableEntries) => {
      if (closed) return giveSlot(gate);
      writing = true;
      rowWrites = rowWrites
        .then(async () => {
          for (const [name, rows] of entries) {
            if (closed || rowWriteFailure) return;
            await throughOutage('writing rows', () => deps.store.putEntries(version, name, rows));
            streamed[name] = (streamed[name] ?? 0) + rows.length;
            copy?.entries(name, rows);
            await copy?.flush();
          }
        })
        .catch((error: unknown) => {
          rowWriteFailure ??= { error };
          openGate(gate);
          stopBuild.abort(error);
        })
        .finally(() => giveSlot(gate));
    };
    try {
      // Fitting and the serving build: seconds of synchronous CPU work, in a worker thread by default so
      // the event loop (an API answering requests, job heartbeats) keeps running meanwhile.
      const onStep: ComputeStepListener = async (e) => {
        if (e.phase === 'start') {
          await report(e.step);
          checkpoint();
          return;
        }
        checkpoint();
        if (rowWriteFailure) throw rowWriteFailure.error;
        if (e.step !== 'fit') done++;
        if (e.step === 'fit' || !e.step.startsWith('fit:')) await deps.afterStep?.(e.step);
      };
      const computeOpts = { storeRecommenders, onStep, signal: computeSignal, threads: deps.threads ?? defaultTrainThreads(), precomputeDays: deps.precomputeDays, importedAls, onEntries, chunkGate: gate, chunkUsers: deps.rowChunks?.users };
      const computed =
        (deps.isolation ?? 'thread') === 'thread'
          ? await computeInWorker(ds, recipe, { ...computeOpts, transferDataset: true })
          : await computeModel(ds, recipe, computeOpts);
      await rowWrites;
      if (rowWriteFailure) throw rowWriteFailure.error;
      for (const [name, ms] of Object.entries(computed.durations)) durations[name] = round(ms);
      checkpoint();
      const artifacts = new Map(computed.artifacts);
      const tables = new Map(computed.tables);

      const trainedAt = new Date().toISOString();
      // The rest: the artifacts, and the per-user tables' empty remainder (their entries were written as
      // they came; writing the remainder records every table).
      const contents = await step('write', async () => {
        writing = true;
        // The copy records what the store took (a write tried again may record some entries twice: the restore's
        // second write of an entry is the same as its first).
        const into: Pick<ModelStore, 'putArtifact' | 'putEntries'> = copy
          ? {
              putArtifact: async (v, name, data) => {
                await deps.store.putArtifact(v, name, data);
                copy.artifact(name, data);
                await copy.flush();
              },
              putEntries: async (v, name, entries) => {
                await deps.store.putEntries(v, name, copy.recording(name, entries));
                await copy.flush();
              },
            }
          : deps.store;
        const written = await writeModelVersion(into, version, { artifacts, tables }, opts.signal, (fn) => throughOutage('writing the version', fn));
        for (const [name, n] of Object.entries(streamed)) written.tables[name] = (written.tables[name] ?? 0) + n;
        return written;
      });
      /**
       * Refuses to publish what the store no longer holds whole (lost on a restart without persistence, a
       * failover, evicted, or deleted by another process that found the job interrupted). `erased`: customers
       * scrubbed from the draft since the write, whose entries are rightly gone.
       */
      const assertHeld = async (written: ContentsSummary, erased: number) => {
        const lost = await lostFromStore(deps.store, version, written, erased);
        if (lost) {
          throw new Error(
            `${LOST_FROM_STORE} ${version} (${lost}): a Redis restarted without persistence or failed over, keys evicted under maxmemory, or the version deleted after its job was found interrupted? Nothing was published: train again`,
          );
        }
      };
      // A source that left bought items out (EASE's maxItems) is said where the data team reads the
      // version (GET /v1/models, the job's result), not only inside its artifact.
      const restrictions = Object.keys(computed.restrictions).length > 0 ? computed.restrictions : undefined;
      const result: TrainResult = { version, recipe: recipe.name, recipeFile, trainedAt, data, durations, contents, ...(tuning ? { tuning } : {}), ...(factorImport ? { factorImport } : {}), ...(restrictions ? { restrictions } : {}), activated: true };
      const meta: ModelMeta = {
        version,
        recipe: recipe.name,
        recipeFile,
        trainedAt,
        info: {
          recipe,
          window: { from: request.from?.toISOString() ?? null, to: request.to?.toISOString() ?? null },
          data,
          durations,
          contents,
          serving: computed.servingInfo,
          erasureMark,
          ...(catalogSnapshot ? { catalogSnapshot } : {}),
          ...(tuning ? { tuning } : {}),
          ...(factorImport ? { factorImport } : {}),
          ...(restrictions ? { restrictions } : {}),
          ...(opts.jobId ? { jobId: opts.jobId } : {}),
        },
      };
      await throughOutage('checking the written version', () => assertHeld(contents, 0));
      // The copy made whole before the publish, so a version served has its copy (unless the copy failed: logged).
      if (copy && (await copy.complete(meta))) {
        durations.copy = round(copy.stats.ms);
        result.copy = { bytes: copy.stats.bytes, stored: copy.stats.stored, chunks: copy.stats.chunks, ms: round(copy.stats.ms) };
      }
      let publishSent = false;
      /** Publishes the version, `scrubbed` customers fewer than written (erased while this training ran). */
      const publish = async (scrubbed: number) => {
        // Aborted while waiting for the erasure lock (the runner stopping, the job declared interrupted):
        // the job is recorded as failed, so nothing may be published.
        checkpoint();
        // A publish whose answer was lost with the connection may have happened: then it is done.
        if (publishSent && (await deps.store.listVersions()).some((m) => m.version === version)) {
          const activeNow = (await deps.store.getActive())?.version;
          result.activated = activeNow === version;
          if (!result.activated) {
            result.notActivated = `version ${activeNow ?? '(none)'} is active; ${version} is published but not active: activate it with POST /v1/models/${version}/activate`;
            deps.log?.(`training ${version}: ${result.notActivated}`);
          }
          published = true;
          return;
        }
        // Checked again at the last moment, for a Redis that restarted empty (no persistence) or failed
        // over to a replica lacking part of the write since the first check.
        await assertHeld(contents, scrubbed);
        checkpoint();
        // Up to the publish: the metadata is written with it (a Redis store keeps a copy, not this object).
        durations.total = round(performance.now() - startedAt);
        publishSent = true;
        // Made active unless another version was activated meanwhile (a rollback stands); nothing active
        // (a Redis that restarted empty) is repaired. The store checks and flips in one step.
        result.activated = await deps.store.publish(meta, { activeWas: activeAtStart });
        published = true;
        if (!result.activated) {
          const activeNow = (await deps.store.getActive())?.version ?? '(none)';
          result.notActivated = `version ${activeNow} was activated while this training ran (it began on ${activeAtStart ?? 'no version'}); ${version} is published but not active: activate it with POST /v1/models/${version}/activate`;
          deps.log?.(`training ${version}: ${result.notActivated}`);
        }
      };
      // Users erased while this training ran may be in what it read: the version is scrubbed of them and
      // published with the erasure lock held (user-erasure.ts), so one erased later finds it published.
      await step('publish', () => throughOutage('publishing', () => (deps.erasures ? deps.erasures.publishScrubbed(erasureMark, meta, publish) : publish(0))));
      durations.total = round(performance.now() - startedAt);
      await deps.copies?.published(version, result.activated, async () => (await deps.store.listVersions()).map((m) => m.version), deps.erasures ? erasureMark : undefined);
      return result;
    } catch (err) {
      // No chunk may land after the version is deleted: take no more, and wait for the write under way
      // (the chain never rejects).
      closed = true;
      openGate(gate);
      await rowWrites;
      // deleteVersion refuses the active version, so even a publish that failed after its flip is safe here.
      if (writing && !published) await deps.store.deleteVersion(version).catch((e) => deps.log?.(`could not delete unpublished version ${version}`, e));
      if (!published) await copy?.abandon();
      throw err;
    }
  }

  return { train, activeVersion };
}
