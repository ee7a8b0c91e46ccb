import type { Worker } from 'node:worker_threads';
import { whereOf, type Config } from './config.js';
import type { Db } from './data/db.js';
import { backgroundLog } from './background-log.js';
import { createModelRecovery, trainingStillTrusted } from './training/model-recovery.js';
import { withHangBreaker } from './store/hang-breaker.js';
import { createCatalogRepository } from './data/catalog-repository.js';
import { createEventRepository } from './data/event-repository.js';
import { batchedPurchases, batchedUsers } from './data/batched-reads.js';
import type { ModelStore } from './store/model-store.js';
import { createFeedbackRecorder, createImportedPurchasesFeed, createPurchaseRecorder } from './serving/record-purchases.js';
import { createServing } from './serving/create-serving.js';
import { createMetrics } from './metrics.js';
import { abandonedDrafts, cleanUpAbandonedDrafts, cleanUpInterruptedExports, cleanUpInterruptedTrainings, createJobHandlers } from './jobs/job-handlers.js';
import { createJobRepository, type JobRecord } from './jobs/job-repository.js';
import { createJobRunner, type JobRunner, type Logger as JobLogger } from './jobs/job-runner.js';
import { createJobService } from './jobs/job-service.js';
import { JOB_TYPES } from './jobs/job-types.js';
import { createTrainer } from './training/train-model.js';
import { createReportRepository } from './data/report-repository.js';
import { createEvaluationGauges } from './evaluation/evaluation-gauges.js';
import { createEvaluationService } from './evaluation/evaluation-service.js';
import { createOnlineMetrics } from './serving/online-metrics.js';
import { createProfileService } from './profiles/profile-service.js';
import { createErasureRepository } from './data/erasure-repository.js';
import { createErasureFollower } from './privacy/erasure-follower.js';
import { createErasureRedriver } from './privacy/erasure-redriver.js';
import { createOwedErasures } from './privacy/owed-erasures.js';
import { scrubExportFiles } from './privacy/export-files.js';
import { createUserErasure, type ActivationAttempt } from './privacy/user-erasure.js';
import { instrumentDb } from './data/instrumented-db.js';
import { LONG_STATEMENT_MS, withQueryTimeout } from './data/query-timeout.js';
import { instrumentModelStore } from './store/instrumented-model-store.js';
import { createModelGauges } from './training/model-gauges.js';
import { createJobGauges } from './jobs/job-gauges.js';
import { createExperimentRepository } from './data/experiment-repository.js';
import { createExperimentCache } from './serving/experiments.js';
import { createExperimentService } from './serving/experiment-service.js';
import { createAudienceService } from './audiences/audience-service.js';
import { postingsInWorker } from './audiences/audience-index-build.js';
import { checkExport } from './exports/check-export.js';
import { createCustomerRepository } from './data/customer-repository.js';
import { createServiceOverview } from './training/service-overview.js';
import { createLifecycleHistory } from './profiles/lifecycle-history.js';
import { createCampaignRepository } from './data/campaign-repository.js';
import { createFeedbackRetention } from './data/feedback-retention.js';
import { readOrCreateSecret, RECOMMENDATION_ID_SECRET } from './data/secret-repository.js';
import { createRecommendationIds } from './serving/recommendation-ids.js';
import { createRedactionRunner } from './privacy/redaction-runner.js';
import { createModelCopyRepository } from './data/model-copy-repository.js';
import { createModelCopies } from './training/model-copies.js';
import { createModelRestore } from './training/model-restore.js';


/** How often an API process with JOB_RUNNER=worker sweeps for jobs of dead workers. */
const SWEEP_MS = 5000;

/**
 * The composition root: every domain object built from explicit dependencies. The server, the CLIs,
 * the worker and the tests all build the same objects; none of them needs Fastify.
 */
export function createServices(deps: {
  config: Config;
  db: Db;
  store: ModelStore;
  /** Failures of background work (live updates, refreshes, gauges, cleanups); default: `logger`'s, at most one line per message per 10 s. */
  log?: (msg: string, err?: unknown) => void;
  /** The process's logger: the inline job runner's lines (jobs failed, outcomes retried) and the default of `log`. */
  logger?: JobLogger;
  /** This process answers a storefront (the API server): each model version is readied before it answers (create-serving.ts, readyOnRequest). */
  storefront?: boolean;
  /** The store's Redis took the start's connection and did not answer (redis-probe.ts): skipped until it answers a ping. */
  storeSilentAtStart?: boolean;
  /** How long a training's writes wait for Postgres or Redis to come back (default JOB_OUTAGE_WAIT_MS); tests shorten it. */
  trainingOutageWaitMs?: number;
  /** How long an import job's writes wait for Postgres to come back (default: the importers' minute); tests shorten it. */
  importOutageWaitMs?: number;
  /** Starts the erasures' worker thread (default: redaction-worker.ts); a test stands in one that never answers. */
  startRedactionWorker?: () => Worker;
  /** The folder of recipe files (NAME.json) trainings and evaluations read (default: models/); a test brings its own. */
  recipesDir?: string;
}) {
  const { logger } = deps;
  const log = deps.log ?? (logger && backgroundLog(logger));
  const metrics = createMetrics();
  const { config } = deps;
  // Every Postgres and model-store call is timed and its failures counted (src/metrics.ts).
  const db = instrumentDb(deps.db, { duration: metrics.dbDuration, errors: metrics.dbErrors, timeouts: metrics.dbTimeouts });
  // A store that hangs is skipped after three timeouts in a row until it answers a ping (hang-breaker.ts): the
  // calls skipped never reach it, so the store metrics count only the calls it was asked.
  const store = withHangBreaker(
    instrumentModelStore(deps.store, { duration: metrics.storeDuration, errors: metrics.storeErrors, where: config.REDIS_URL ? whereOf(config.REDIS_URL) : undefined }),
    { log: (msg) => log?.(msg), skipping: deps.storeSilentAtStart },
  );
  const catalog = createCatalogRepository(db);
  const events = createEventRepository(db);
  const campaigns = createCampaignRepository(db);
  const recordPurchases = createPurchaseRecorder({ events, store, log: (err) => log?.('live update failed', err) });
  const feedImported = createImportedPurchasesFeed({ db, store, log: (err) => log?.('live update after an import failed', err) });

  // A/B experiments: the active one is kept in process (re-read every EXPERIMENT_REFRESH_MS in the background).
  const experimentRepository = createExperimentRepository(db);
  const experimentCache = createExperimentCache({ experiments: experimentRepository, refreshMs: config.EXPERIMENT_REFRESH_MS, log });
  // Customers scored on request read their purchases and record; reads made together are one query (batched-reads.ts).
  // recommendationIds are signed under a key kept in Postgres, so every replica verifies what another issued.
  const recommendationIds = createRecommendationIds({ secret: () => readOrCreateSecret(db, RECOMMENDATION_ID_SECRET), log });
  // Erasures asked for and not completed (privacy/owed-erasures.ts): their customers are answered as erased.
  const owedErasures = createOwedErasures();
  const serving = createServing({
    store, db, catalog: { ...catalog, getUser: batchedUsers(catalog) }, purchases: batchedPurchases(events), metrics,
    boughtSince: (userId, since) => events.itemsBoughtSince(userId, since === null ? null : new Date(since)),
    recentViews: async (userId, limit) => (await events.listUserInteractions(userId, 'view', limit)).map((v) => v.itemId).reverse(), answerCacheBytes: config.ANSWER_CACHE_MB * 1024 * 1024,
    experiments: experimentCache, ids: recommendationIds, log, readyOnRequest: deps.storefront, owed: (id) => owedErasures.has(id),
  });
  const recordFeedback = createFeedbackRecorder({ events, recordPurchases, servedStrategies: () => serving.servedStrategies(), ids: recommendationIds });
  const experiments = createExperimentService({ experiments: experimentRepository, cache: experimentCache, offeredStrategies: () => serving.offeredStrategies() });
  const customers = createCustomerRepository(db);
  const overview = createServiceOverview({
    customers, store, served: () => serving.activeModel(), countsMaxAgeMs: config.OVERVIEW_COUNTS_MAX_AGE_MS, owed: owedErasures,
    customersHeld: () => serving.holdingCustomers(),
    log: (msg, err) => log?.(msg, err),
  });
  const lifecycleHistory = createLifecycleHistory({ purchaseDays: () => customers.purchaseDays(), owed: owedErasures, customersHeld: () => serving.holdingCustomers() });
  const profiles = createProfileService({
    store, events, catalog, metrics, served: () => serving.modelInHand()?.meta ?? null, held: () => serving.holdingCustomerData() || serving.holdingCustomers(), owed: owedErasures,
    customersHeld: () => serving.holdingCustomers(),
  });
  const audiences = createAudienceService({
    model: () => serving.activeModel(), store, profiles,
    recentBuyers: (itemIds, since) => events.buyersSince(itemIds, new Date(since)),
    buildPostings: postingsInWorker({ onWorkerFailed: (err) => log?.("the audience index's worker thread failed", err) }),
    // While serving holds every customer (holdCustomers: which were erased cannot be told yet), every one is left out.
    owed: { has: (id) => serving.holdingCustomers() || owedErasures.has(id), get size() { return serving.holdingCustomers() ? Number.POSITIVE_INFINITY : owedErasures.size; } },
    held: () => serving.holdingCustomers(),
  });
  const erasureRepository = createErasureRepository(db);
  const modelGauges = createModelGauges({ store, metrics, log, erasedSince: erasureRepository.countAfter, served: () => serving.modelInHand()?.meta ?? null });
  // What this process keeps of a user: decoded serving entries and answers, decoded profiles, lifecycle history days.
  const forgetUser = async (id: string) => {
    profiles.forgetUser(id);
    lifecycleHistory.forgetUser(id);
    audiences.forgetUser(id);
    await serving.forgetUser(id);
  };
  // Erased through another process sharing the model store: forget what this one keeps of the user.
  store.onUserErased?.((id) => void forgetUser(id).catch((err: unknown) => log?.('forgetting an erased user failed', err)));
  const jobs = createJobRepository(db);
  // Off the thread that answers requests: at 420,000 customers a version's rewrite held it 17 s and more.
  const redaction = createRedactionRunner({
    startWorker: deps.startRedactionWorker,
    onWorkerFailed: (err) => log?.('the erasure\'s worker thread failed; artifacts are rewritten on the serving thread', err),
    closeWaitMs: config.ERASURE_CLOSE_WAIT_MS,
    onCloseGaveUp: (jobs, waitedMs) =>
      log?.(`closing: stopped the erasures' worker thread after ${waitedMs} ms (ERASURE_CLOSE_WAIT_MS) with ${jobs.map((j) => `a ${j.kind} rewrite of ${j.size}`).join(', ')} unfinished; those erasures fail and write none of it: erase again`),
  });
  /**
   * The sweep of drafts whose writer's lease ran out (ModelStore.sweepDrafts), not while a restore holds its lease in
   * Postgres: a restore of the release before takes no draft lease, and the lease a killed restore left on a version
   * it puts back again would have its draft deleted under it, then published with parts missing (its publish checks no
   * lease). A restore of this release renews its draft's lease with the Postgres one.
   */
  const sweepDrafts = store.sweepDrafts && (async (): Promise<string[]> => {
    if (config.MODEL_COPIES && config.REDIS_URL && (await createModelCopyRepository(db).restoring())) return [];
    return store.sweepDrafts!();
  });
  const erasure = createUserErasure({
    events, erasures: erasureRepository, store, forget: forgetUser, sweepDrafts,
    // The jobs' results are made to describe their files in the erasure's transaction (the files are rewritten first).
    scrubExports: async (ids, tx) => createJobRepository(tx).exportsScrubbed(await scrubExportFiles(config.EXPORT_DIR, ids)),
    abandonedDrafts: () => abandonedDrafts(jobs),
    // Whatever MODEL_COPIES says now: copies kept while it was on must not keep an erased customer either.
    dropModelCopies: (tx) => createModelCopyRepository(tx).dropWhole(),
    redaction,
    requests: { backoffMs: config.ERASURE_REDRIVE_MS, leaseMs: config.ERASURE_LEASE_MS, limitMs: config.PG_QUERY_TIMEOUT_MS || undefined },
    owed: owedErasures,
    log,
  });
  // And through Postgres, for the messages a replica missed; the list's end is noted now, before any request.
  // Each read also scrubs the store again of erasures it lost (a Redis restarted from an older snapshot): the
  // first one, made now, before this process serves (app.ts waits for it).
  const erasureFollower = createErasureFollower({
    erasures: erasureRepository, forget: forgetUser, refreshMs: config.ERASURE_REFRESH_MS, limitMs: config.PG_QUERY_TIMEOUT_MS || undefined, log,
    catchUpStore: (through) => erasure.catchUp(through),
    // Each read also reads the erasures owed (what changed since its last): how a process learns of one asked through another.
    owed: { list: owedErasures, read: erasureRepository.owedSince },
  });
  void erasureFollower.poll();
  // An erasure asked through any process (this one's too, which knows already): read the erasures owed now, so the
  // customer is answered as erased here within a read of Postgres of the ask, not within ERASURE_REFRESH_MS.
  store.onErasureAsked?.(() => void erasureFollower.catchUp());
  const eraseUser = (id: string) => erasure.erase(id);
  // Erasures asked for and not completed (a 503, a close, a process that died) are completed by the service (app.ts runs it).
  const erasureRedriver = createErasureRedriver({
    requests: erasureRepository, holder: erasure.nextHolder, erase: (id, opts) => erasure.erase(id, opts), metrics, leaseMs: config.ERASURE_LEASE_MS,
    // Its write check, not its ping: a Redis that answers and refuses writes (READONLY: a replica, a failover under
    // way; also OOM, MISCONF) would fail every try, backing off to 15 minutes; waited for, none is tried meanwhile.
    storeTakesWrites: async () => (await store.acceptsWrites?.()) ?? (await store.ping()),
    log: { info: (_obj, msg) => log?.(msg), warn: (obj, msg) => log?.(msg, (obj as { err?: unknown }).err) },
  });
  // A Redis model store's versions are copied into Postgres as trainings write them, and put back from there when
  // the store comes back empty (model-copies.ts, model-restore.ts); the in-process store keeps its own files.
  const modelCopyRepository = config.MODEL_COPIES && config.REDIS_URL ? createModelCopyRepository(db) : null;
  const modelCopies = modelCopyRepository ? createModelCopies({ copies: modelCopyRepository, log, compress: config.MODEL_COPY_COMPRESSION }) : undefined;
  const modelRestore = modelCopyRepository
    ? createModelRestore({
        copies: modelCopyRepository, store, publishScrubbed: (mark, meta, publish) => erasure.publishScrubbed(mark, meta, publish),
        onRestored: () => serving.invalidate(), log, info: logger && ((obj, msg) => logger.warn(obj, msg)),
      })
    : null;
  /** Rollback: the version is scrubbed of users erased after its training, then served. */
  const activateModel = async (version: string, attempt?: ActivationAttempt) => {
    const ok = await erasure.activate(version, attempt);
    if (ok) {
      serving.invalidate();
      // The version a store that comes back empty is put back to.
      await modelCopies?.activated(version);
    }
    return ok;
  };

  // Jobs: the API process runs them itself (inline) unless JOB_RUNNER=worker leaves them to `npm run worker`,
  // which builds its runner from the same options.
  const jobGauges = createJobGauges({ jobs, metrics });
  const trainer = createTrainer({
    events, catalog, store, defaultRecipe: config.DEFAULT_RECIPE, erasures: erasure, threads: config.TRAIN_THREADS, precomputeDays: config.PRECOMPUTE_DAYS, log, copies: modelCopies,
    outageWaitMs: deps.trainingOutageWaitMs, recipesDir: deps.recipesDir,
  });
  const reports = createReportRepository(db);
  const evaluationGauges = createEvaluationGauges({ reports, store, gauge: metrics.evaluationMetric, log });
  const evaluations = createEvaluationService({
    jobs, reports, events, catalog, gauges: evaluationGauges, defaultRecipe: config.DEFAULT_RECIPE, recipesDir: deps.recipesDir, kick: () => jobRunner?.kick(),
  });
  const onlineMetrics = createOnlineMetrics({ db, experiments: experimentRepository, gauge: metrics.onlineRate, retentionDays: config.FEEDBACK_RETENTION_DAYS, log });
  const feedbackRetention = createFeedbackRetention({ db, days: config.FEEDBACK_RETENTION_DAYS, log });
  const jobRunnerOptions = {
    jobs,
    handlers: createJobHandlers({
      db, trainer, evaluate: evaluations.handler, onImported: async (since) => void (await feedImported(since)),
      exports: { deps: { serving, audiences, profiles, store, erasures: erasureRepository, followErasures: () => erasureFollower.owedCaughtUp(), campaigns, owed: owedErasures }, dir: config.EXPORT_DIR },
      beforeTraining: () => cleanUpAbandonedDrafts(store, jobs).catch((err) => log?.('could not delete the drafts of failed trainings', err)),
      importOutageWaitMs: deps.importOutageWaitMs,
    }),
    onFinished: (j: { type: string; status: string; ms: number }) => {
      metrics.jobDuration.observe({ type: j.type, status: j.status }, j.ms / 1000);
      if (j.status === 'failed') metrics.jobFailures.inc({ type: j.type });
    },
    // Counted once: each job is declared interrupted by the one runner whose update changed it.
    onInterrupted: async (interrupted: JobRecord[]) => {
      for (const j of interrupted) metrics.jobFailures.inc({ type: j.type });
      // Each whatever the other does: an export directory this host cannot write must not keep drafts in
      // the model store, nor a model store that is down keep export files.
      const failures = (await Promise.allSettled([cleanUpInterruptedExports(config.EXPORT_DIR, interrupted), cleanUpInterruptedTrainings(store, interrupted)]))
        .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
        .map((r) => r.reason as unknown);
      if (failures.length > 0) throw failures[0];
    },
    staleAfterMs: config.JOB_STALE_AFTER_MS,
    log: logger,
    // Not the requests' limit: a progress write or an outcome that waits a few seconds must not fail a
    // long training; the runner is only kept from waiting for ever.
    statementLimitMs: config.PG_QUERY_TIMEOUT_MS ? LONG_STATEMENT_MS : undefined,
    workStatementLimitMs: config.PG_QUERY_TIMEOUT_MS ? LONG_STATEMENT_MS : undefined,
  };
  // JOB_RUNNER=worker: the API claims nothing (no handlers) but still sweeps, so the job of a worker that
  // died is failed (and its draft model deleted) even when no other worker is left to notice.
  const jobRunner: JobRunner | null =
    config.JOB_RUNNER === 'inline'
      ? createJobRunner({ ...jobRunnerOptions, mode: 'inline', exclusiveDatabase: db.kind === 'pglite' })
      : createJobRunner({ ...jobRunnerOptions, handlers: {}, mode: 'worker', exclusiveDatabase: db.kind === 'pglite', pollMs: SWEEP_MS, sweepMs: SWEEP_MS });
  const jobService = createJobService({
    jobs, events, defaultRecipe: config.DEFAULT_RECIPE, recipesDir: deps.recipesDir, kick: () => jobRunner?.kick(), importRoots: config.IMPORT_ROOTS,
    checkExport: (request) => checkExport(() => serving.activeModel(), request, profiles),
  });
  // A model store that lost every version (a Redis restarted empty) is trained again from Postgres.
  const modelRecovery = config.RETRAIN_ON_LOST_MODEL || modelRestore
    ? createModelRecovery({
        store,
        erasedSince: erasureRepository.countAfter,
        newestTrainingSucceeded: async () => {
          const recent = await jobs.recentlyEnded([JOB_TYPES.train, JOB_TYPES.factorImport], 2);
          return recent.length === 0 ? null : trainingStillTrusted(recent);
        },
        everPublished: () => jobs.anySucceeded([JOB_TYPES.train, JOB_TYPES.factorImport]),
        submit: config.RETRAIN_ON_LOST_MODEL ? () => jobService.submitTraining({}) : undefined,
        restore: modelRestore?.restore,
        sweepDrafts,
        recordActive: modelCopies && ((version) => modelCopies.settle(version, async () => (await store.getActive())?.version ?? null)),
        bounded: config.PG_QUERY_TIMEOUT_MS ? (fn) => withQueryTimeout(config.PG_QUERY_TIMEOUT_MS, fn) : undefined,
        warn: logger && ((obj, msg) => logger.warn(obj, msg)),
        log,
      })
    : null;

  // A Redis that restarted says so (its subscription comes back): one restarted empty is put back from the copy at once.
  if (modelRecovery && modelRestore) store.onActiveChanged?.(() => modelRecovery.checkSoon());

  return { config, db, store, metrics, owedErasures, catalog, events, campaigns, recordPurchases, recordFeedback, recommendationIds, serving, eraseUser, erasure, redaction, erasureRepository, erasureFollower, erasureRedriver, activateModel, jobs, trainer, jobRunnerOptions, jobRunner: jobRunner as JobRunner | null, jobService, modelRecovery, modelRestore, modelCopyRepository,
    reports, evaluations, evaluationGauges, onlineMetrics, feedbackRetention, profiles, modelGauges, jobGauges, experiments, audiences, customers, overview, lifecycleHistory };
}

export type Services = ReturnType<typeof createServices>;
