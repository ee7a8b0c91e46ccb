import type { Config } from './config.js';
import { audienceRoutes } from './http/routes/audiences.js';
import { exportRoutes } from './http/routes/exports.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { registerAuth } from './http/plugins/auth.js';
import { registerDocs } from './http/plugins/docs.js';
import { clientErrorHandler, frameworkError, MAX_PARAM_LENGTH, refuseConnect, refuseExpectation, registerErrorHandling } from './http/plugins/error-handler.js';
import { registerRequestLog, requestId } from './http/plugins/request-log.js';
import { registerSecurityHeaders } from './http/plugins/security-headers.js';
import { registerCors } from './http/plugins/cors.js';
import { registerHostRequired } from './http/plugins/host-header.js';
import { registerLoadShedding } from './http/plugins/load-shedding.js';
import { registerRateLimit } from './http/plugins/rate-limit.js';
import { registerCompression } from './http/plugins/compress.js';
import { registerJsonBody } from './http/plugins/json-body.js';
import { registerFrontendBodyLimit } from './http/plugins/frontend-body-limit.js';
import { registerLingeringClose } from './http/plugins/lingering-close.js';
import { registerQueryFreeRoutes } from './http/plugins/query-free-routes.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { registerQueryTimeout } from './http/plugins/query-timeout.js';
import { eventRoutes } from './http/routes/events.js';
import { returnRoutes } from './http/routes/returns.js';
import { healthRoutes } from './http/routes/health.js';
import { importRoutes } from './http/routes/imports.js';
import { factorImportRoutes } from './http/routes/factor-imports.js';
import { modelRoutes } from './http/routes/models.js';
import { trainingJobRoutes } from './http/routes/training-jobs.js';
import { itemRoutes } from './http/routes/items.js';
import { itemListRoutes } from './http/routes/item-lists.js';
import { recommendationRoutes } from './http/routes/recommendations.js';
import { userRoutes } from './http/routes/users.js';
import { evaluationRoutes } from './http/routes/evaluations.js';
import { profileRoutes } from './http/routes/profiles.js';
import { dashboardRoutes } from './http/routes/dashboard.js';
import { onlineMetricRoutes } from './http/routes/online-metrics.js';
import { experimentRoutes } from './http/routes/experiments.js';
import { overviewRoutes } from './http/routes/overview.js';
import type { Services } from './services.js';
import { redisTarget } from './store/redis-connection.js';
import { goneFromStore } from './training/write-model-version.js';
import { within } from './within-time.js';
import { startShared, withQueryTimeout } from './data/query-timeout.js';
import { slowCheck } from './slow-check.js';
import { ERASED_EVENT_IDS_DAYS, forgetErasedIds } from './data/event-repository.js';
import { startPeriodic, type PeriodicTask } from './periodic-task.js';
import { createErasureCatchUpAtStart } from './privacy/erasure-catch-up-at-start.js';

export const API_VERSION = '0.1.0';

/** After SIGTERM, how long the server has before it exits anyway (a second signal ends it at once). */
export const SHUTDOWN_GRACE_MS = 10_000;

/**
 * How long stopping may take before the forced exit: SHUTDOWN_GRACE_MS, or longer when a request's
 * statement or model-store read may itself wait longer (PG_QUERY_TIMEOUT_MS, a Postgres that stopped
 * answering; REDIS_COMMAND_TIMEOUT_MS, a Redis that did), so the request in flight is answered (503, or a
 * fallback) and the pools close before the exit instead of being cut off by it.
 */
export const shutdownGraceMs = (config: Pick<Config, 'SHUTDOWN_DELAY_MS' | 'PG_QUERY_TIMEOUT_MS' | 'REDIS_COMMAND_TIMEOUT_MS' | 'ERASURE_CLOSE_WAIT_MS'>) =>
  config.SHUTDOWN_DELAY_MS +
  Math.max(SHUTDOWN_GRACE_MS, config.PG_QUERY_TIMEOUT_MS + 3000, config.REDIS_COMMAND_TIMEOUT_MS + 3000, config.ERASURE_CLOSE_WAIT_MS + 3000);

/**
 * How long the inline job runner lets the job in hand finish when the app closes. Well under
 * SHUTDOWN_GRACE_MS: a job still running then is aborted (a handler that ignores it is abandoned 3 s
 * later) and recorded as interrupted before the process exits (a training deletes its unpublished model
 * version as it stops).
 */
export const JOB_STOP_GRACE_MS = 5_000;

/** How long a scrape waits for each group of gauges backed by a store (Prometheus's own scrape timeout is 10 s by default). */
const SCRAPE_REFRESH_MS = 2_000;

/** When a process first counts the closed days of feedback, or sweeps expired feedback: after its start's own work. */
const FIRST_UPKEEP_MS = 60_000;

/** How often an API process deletes the feedback older than FEEDBACK_RETENTION_DAYS. */
const FEEDBACK_RETENTION_SWEEP_MS = 3_600_000;

/** How long a starting process waits for the key recommendationIds are signed with (recommendation-ids.ts). */
const KEY_READ_WAIT_MS = 2_000;

/** How often an idle replica starts the due re-reads of the catalog's changes and the active experiment. */
const KEEP_FRESH_MS = 2_000;

export interface AppOptions {
  /** pino logger options or false (tests); `stream` replaces stdout (tests read the lines). */
  logger?: boolean | { level: string; stream?: { write(line: string): void } };
  /** Extra readiness checks beside the database and the model store. */
  readyChecks?: Record<string, () => Promise<boolean>>;
  /** Extra checks of `/health/serving` beside the model in hand; default: `readyChecks`. */
  servingChecks?: Record<string, () => Promise<boolean>>;
  /** Prefix of the rate-limit counters in Redis (tests isolate themselves with a random one). */
  rateLimitPrefix?: string;
  /** How often expired feedback is swept (default hourly; the first sweep after at most a minute). */
  feedbackRetentionSweepMs?: number;
  /**
   * Redis took the start's connection and did not answer (redis-probe.ts, a Redis paused or behind a proxy whose
   * backend is gone): the rate limiter does not wait for its connection before listening (default: it waits up to 1 s).
   */
  redisSilentAtStart?: boolean;
  /**
   * How long the start waits for the scrub of the erasures the model store lost before it goes on with the store's
   * versions held until the scrub has run (default ERASURE_CATCH_UP_WAIT_MS, 30 s; the server: 2 s).
   */
  erasureCatchUpWaitMs?: number;
}

/** Builds the HTTP app from already-built services; the caller owns (and closes) the services. */
export async function buildApp(services: Services, options: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // Request ids in logs and in the X-Request-Id response header tie a slow or failed call to its log
    // line; a sane incoming X-Request-Id is kept. No personal data is logged.
    genReqId: requestId,
    // One line per request, written when it is answered (src/http/plugins/request-log.ts).
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.TRUST_PROXY,
    // Requests arriving while the server closes get SHUTTING_DOWN in the error shape (load-shedding.ts).
    return503OnClosing: false,
    clientErrorHandler: clientErrorHandler(config.CORS_ORIGINS),
    // A client that never finishes its request (a body shorter than its Content-Length) gets a 408 instead
    // of holding the connection for ever (Fastify's default: no limit). Node checks every tenth of the
    // limit (its default, 30 s, would let a 30 s limit run to a minute); its header limit may not exceed it.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    http: {
      headersTimeout: Math.min(60_000, config.REQUEST_TIMEOUT_MS),
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.REQUEST_TIMEOUT_MS / 10))),
      // Refused in the error shape by registerHostRequired instead of Node's empty 400.
      requireHostHeader: false,
    },
    // Ids may be up to 256 characters (the schemas' limit); the router's default stops at 100.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (err, request, reply) => frameworkError(err, request, reply, config.CORS_ORIGINS),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  registerLingeringClose(app);
  refuseConnect(app);
  refuseExpectation(app, config.CORS_ORIGINS);
  registerJsonBody(app, { maxDepth: config.MAX_JSON_DEPTH });
  registerQueryFreeRoutes(app);
  // App-wide onRequest hooks run in this order, before any route's own (auth): the request id and the
  // security and CORS headers first, so that 503s and 429s carry them too; then shedding; then limits.
  registerRequestLog(app);
  registerSecurityHeaders(app);
  await registerCors(app, { origins: config.CORS_ORIGINS });
  registerHostRequired(app);
  await registerLoadShedding(app, {
    maxEventLoopDelayMs: config.UNDER_PRESSURE_MAX_EVENT_LOOP_DELAY_MS,
    maxHeapUsedMb: config.UNDER_PRESSURE_MAX_HEAP_USED_MB,
  });
  await registerRateLimit(app, {
    keys: config.API_KEYS.map((k) => k.key),
    publicKeys: config.API_KEYS.filter((k) => k.scope === 'frontend').map((k) => k.key),
    publicKeyPerIpPerMinute: config.RATE_LIMIT_FRONTEND_PER_IP_PER_MINUTE,
    authDisabled: config.AUTH_DISABLED,
    perKeyPerMinute: config.RATE_LIMIT_PER_MINUTE,
    perIpPerMinute: config.RATE_LIMIT_PER_IP_PER_MINUTE,
    redis: redisTarget(config) ?? undefined,
    redisPrefix: options.rateLimitPrefix,
    waitForRedis: !options.redisSilentAtStart,
  });
  await registerCompression(app, { minBytes: config.COMPRESS_MIN_BYTES });
  // Auth and request timing attach to routes as they are registered: both come before any route.
  registerAuth(app, { keys: config.API_KEYS, disabled: config.AUTH_DISABLED });
  // After auth (it needs the request's scope) and compression (it counts the inflated body).
  registerFrontendBodyLimit(app, { limit: config.FRONTEND_BODY_LIMIT_BYTES });
  // So does the limit on each Postgres statement a request makes (the scrape's included).
  registerQueryTimeout(app, { ms: config.PG_QUERY_TIMEOUT_MS });
  // Gauges backed by Postgres (offline evaluation, feedback rates) are refreshed before a scrape, cached ~30 s.
  // A store that is down or slow must not cost the scrape (process metrics and the store error counters
  // matter most then): a refresh that fails or takes over SCRAPE_REFRESH_MS leaves its gauges as they were.
  const beforeScrape = async () => {
    // Each refresh is kept for the next scrapes: shared work, not limited to this scrape's statement limit.
    const refreshes = {
      evaluation: startShared(() => services.evaluationGauges.refresh()),
      feedback: startShared(() => services.onlineMetrics.refreshGauges()),
      // The segment gauges follow the active model's profiles (loaded once per version); left as they were, without
      // a warning at each scrape, while every customer is held (a start with Postgres down: an expected state).
      segments: startShared(() => services.profiles.refreshGauges()),
      model: startShared(() => services.modelGauges.refresh()),
      jobs: startShared(() => services.jobGauges.refresh()),
    };
    await Promise.all(
      Object.entries(refreshes).map(async ([name, refresh]) => {
        try {
          await within<unknown>(refresh, SCRAPE_REFRESH_MS, () => {
            throw new Error(`not done within ${SCRAPE_REFRESH_MS} ms`);
          });
        } catch (err) {
          app.log.warn({ err }, `metrics: the ${name} gauges were not refreshed for this scrape`);
        }
      }),
    );
  };
  services.metrics.buildInfo.set({ version: API_VERSION, node: process.version }, 1);
  registerMetrics(app, { metrics: services.metrics, beforeScrape });
  await registerDocs(app, API_VERSION);

  // Changes made through other replicas (catalog, the active experiment) are re-read on this timer too, not
  // only when a request comes: an idle replica's next answer must not be its last read's.
  // Its reads are limited like a request's: one stuck on a Postgres that stopped answering must not hold the
  // pool's close (and the process's exit) past the forced exit.
  const keepFresh = setInterval(() => {
    if (config.PG_QUERY_TIMEOUT_MS) withQueryTimeout(config.PG_QUERY_TIMEOUT_MS, () => services.serving.keepFresh());
    else services.serving.keepFresh();
  }, Math.min(config.EXPERIMENT_REFRESH_MS, KEEP_FRESH_MS));
  keepFresh.unref();
  app.addHook('preClose', async () => clearInterval(keepFresh));
  // Popularity's counts queued in the background are not begun once closing: after the pool's close they would fail,
  // each logged as a failed count (db-popularity.ts).
  app.addHook('preClose', async () => services.serving.stopCounting());

  // Closed days of feedback are counted in the background, so the first report over a year finds them
  // counted (feedback-rollup.ts). Processes take turns (an advisory lock); one that finds them counted
  // makes one read. A count running as the app closes stops at its next month and is waited for. Then a
  // look at the active experiment, so its always-valid p keeps a crossing between two reads of the report.
  const upkeep: PeriodicTask[] = [];
  if (config.ONLINE_METRICS_COUNT_MS > 0) {
    const everyMs = config.ONLINE_METRICS_COUNT_MS;
    const countAndLook = async (signal: AbortSignal) => {
      await services.onlineMetrics.countClosedDays(signal);
      if (!signal.aborted) await services.onlineMetrics.lookAtActiveExperiment();
    };
    upkeep.push(startPeriodic(countAndLook, { firstMs: Math.min(FIRST_UPKEEP_MS, everyMs), everyMs }));
  }
  // Feedback older than FEEDBACK_RETENTION_DAYS is deleted in batches (feedback-retention.ts); replicas
  // sweeping at once skip each other's rows. A sweep running as the app closes stops at its next batch.
  if (services.feedbackRetention.days > 0) {
    const everyMs = options.feedbackRetentionSweepMs ?? FEEDBACK_RETENTION_SWEEP_MS;
    const sweep = async (signal: AbortSignal) => {
      const started = performance.now();
      const { feedback, users, before } = await services.feedbackRetention.sweep(signal);
      if (feedback > 0 || users > 0) {
        app.log.info({ feedback, users, before: before?.toISOString(), ms: Math.round(performance.now() - started) }, 'feedback retention: deleted feedback older than FEEDBACK_RETENTION_DAYS');
      }
    };
    upkeep.push(startPeriodic(sweep, { firstMs: Math.min(FIRST_UPKEEP_MS, everyMs), everyMs }));
  }
  // The hashed ids of events erasures deleted are kept ERASED_EVENT_IDS_DAYS (event-repository.ts), then deleted.
  const forgetIds = async () => {
    try {
      const n = await forgetErasedIds(services.db);
      if (n > 0) app.log.info({ ids: n }, `erasure: forgot the hashed event ids of erasures older than ${ERASED_EVENT_IDS_DAYS} days`);
    } catch (err) {
      app.log.warn({ err }, 'could not forget the hashed event ids of old erasures');
    }
  };
  upkeep.push(startPeriodic(forgetIds, { firstMs: FIRST_UPKEEP_MS, everyMs: FEEDBACK_RETENTION_SWEEP_MS }));
  app.addHook('preClose', async () => void (await Promise.all(upkeep.map((task) => task.stop()))));

  // Erasures made elsewhere are also read from Postgres every ERASURE_REFRESH_MS whether requests come or not
  // (privacy/erasure-follower.ts): read only when a request came, a replica asked nothing for a while held an
  // erased customer past it, and its first request after the quiet spell was answered before the read it started.
  // Not awaited by the close (a Postgres that never answers, with PG_QUERY_TIMEOUT_MS=0, would hold it): a read
  // cut short by it logs and is done.
  const followErasures = async () => void services.erasureFollower.poll();
  upkeep.push(startPeriodic(followErasures, { firstMs: config.ERASURE_REFRESH_MS, everyMs: config.ERASURE_REFRESH_MS }));
  // And when a request comes after a read was missed (a timer late on a busy event loop).
  app.addHook('onRequest', (_request, _reply, done) => {
    services.erasureFollower.check();
    services.modelRecovery?.check();
    done();
  });

  const erasureCatchUp = createErasureCatchUpAtStart(
    {
      catchUp: () => services.erasure.catchUp(), storeAnswers: () => services.store.ping(), hold: (until) => services.serving.holdCustomerData(until),
      holdCustomers: (until) => services.serving.holdCustomers(until), log: app.log,
    },
    { retryMs: config.ERASURE_CATCH_UP_RETRY_MS, waitMs: options.erasureCatchUpWaitMs },
  );
  const maxBatch = config.MAX_BATCH_SIZE;
  const noPurchases = async () => !(await services.db.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM purchase_events) AS any')).rows[0].any;
  healthRoutes(app, {
    checks: {
      database: async () => (await services.db.query('SELECT 1')).rows.length === 1,
      modelStore: () => services.store.ping(),
      // A store that answers but refuses writes (Redis answering READONLY: REDIS_URL names a replica, or a
      // failover is under way): events, trainings and erasures cannot write to it.
      modelStoreWritable: async () => (await services.store.acceptsWrites?.()) ?? true,
      // A model is active and the store still holds it, or none is needed yet (no purchases to train on).
      // False after the model store lost its data (a Redis restarted empty, keys of the active version
      // evicted): answers are degraded until a training.
      // Two round trips in a row: a slow store answers it from the last finished check (slow-check.ts).
      activeModel: slowCheck('the active model', async () => {
        const active = await services.store.getActive();
        return active !== null ? (await goneFromStore(services.store, active, services.erasureRepository.countAfter)).length === 0 : await noPurchases();
      }, { log: app.log }),
      // The model store's versions are held back until it has been scrubbed of the erasures it lost (erasure-catch-up-at-start.ts),
      // and every customer until the erasures owed were read once (serving.holdCustomers: a start with Postgres down).
      // That read is asked for here, not left to the timed one (ERASURE_REFRESH_MS, up to 10 minutes): the probe that
      // finds Postgres back ends the hold, and no balancer sends traffic to a process that answers every customer
      // with the cold start.
      erasureCatchUp: async () => {
        if (services.serving.holdingCustomers()) await services.erasureFollower.poll();
        return erasureCatchUp.caughtUp() && !services.serving.holdingCustomers();
      },
      ...options.readyChecks,
    },
    servingChecks: {
      // A model this process serves (in memory: it outlives an outage of either store), or none needed yet.
      // Not waiting for a re-check of the active version (a new one loading after a training, a Redis
      // that stops answering): the model in hand answers meanwhile.
      model: async () => services.serving.modelInHand() !== null || (await services.serving.activeModel()) !== null || (await noPurchases()),
      ...(options.servingChecks ?? options.readyChecks),
    },
  });
  itemRoutes(app, { catalog: services.catalog, maxBatch });
  userRoutes(app, { catalog: services.catalog, events: services.events, customers: services.customers, eraseUser: services.eraseUser, owed: (id) => services.owedErasures.has(id),
    owedIds: () => (services.owedErasures.size === 0 ? [] : [...services.owedErasures.ids()]),
    customersHeld: () => services.serving.holdingCustomers(),
  });
  eventRoutes(app, {
    recordPurchases: services.recordPurchases, recordFeedback: services.recordFeedback, events: services.events, catalog: services.catalog,
    maxBatch, frontendMaxBatch: config.FRONTEND_MAX_BATCH_SIZE, authDisabled: config.AUTH_DISABLED,
  });
  returnRoutes(app, { events: services.events, maxBatch });
  recommendationRoutes(app, { serving: services.serving, frontendUserSecret: config.FRONTEND_USER_SECRET });
  itemListRoutes(app, { serving: services.serving });
  trainingJobRoutes(app, { jobService: services.jobService });
  importRoutes(app, { jobService: services.jobService });
  factorImportRoutes(app, { jobService: services.jobService });
  modelRoutes(app, {
    store: services.store, activate: services.activateModel, activateWithinMs: config.PG_QUERY_TIMEOUT_MS,
    served: () => services.serving.modelInHand()?.meta.version ?? null,
  });
  evaluationRoutes(app, { evaluations: services.evaluations });
  onlineMetricRoutes(app, { onlineMetrics: services.onlineMetrics });
  experimentRoutes(app, { experiments: services.experiments });
  profileRoutes(app, { profiles: services.profiles, catalog: services.catalog, lifecycleHistory: services.lifecycleHistory, owed: (id) => services.owedErasures.has(id) });
  overviewRoutes(app, { overview: services.overview });
  audienceRoutes(app, { audiences: services.audiences });
  exportRoutes(app, { jobService: services.jobService, exportDir: config.EXPORT_DIR });
  dashboardRoutes(app, { onOpen: () => services.lifecycleHistory.prefetch() });
  // The key recommendationIds are signed with is read before the first request, so no answer waits for it
  // (a process that cannot read it yet answers with unsigned ids and reads it again in the background).
  // And so is the list of erasures owed (the first read, begun in createServices, or one more when it failed): until a
  // read of it succeeds, every customer is answered as an erased one (a server started while Postgres is down cannot
  // tell which customers' erasure was asked: answered from the model store, they were served until Postgres was back).
  services.serving.holdCustomers(services.owedErasures.firstRead);
  app.addHook('onReady', async () => {
    const owedRead = Promise.race([services.owedErasures.firstRead, services.erasureFollower.poll()]);
    await Promise.all([within(services.recommendationIds.ready(), KEY_READ_WAIT_MS, () => false), within(owedRead, KEY_READ_WAIT_MS, () => undefined)]);
  });
  // The model store is scrubbed again of the erasures it lost before anything of it is served; a store that does
  // not answer is scrubbed in the background, its versions held back meanwhile (privacy/erasure-catch-up-at-start.ts).
  app.addHook('onClose', () => erasureCatchUp.close());
  app.addHook('onReady', () => erasureCatchUp.run());
  // The erasures' worker thread is given ERASURE_CLOSE_WAIT_MS from when closing starts, not after the server's
  // close: that waits for the requests in flight, and a DELETE waits for its erasure's rewrite in that thread,
  // so closing it afterwards was never reached while a rewrite held on (the shutdown hung to the forced exit).
  // The erasures it gives up on fail (503 SHUTTING_DOWN), their DELETE is answered, and the server's close ends.
  let redactionClosing: Promise<void> | undefined;
  app.addHook('preClose', (done) => {
    redactionClosing = services.redaction.close();
    redactionClosing.catch(() => {});
    done();
  });
  app.addHook('onClose', () => redactionClosing ?? services.redaction.close());
  // The inline job runner lives as long as the app: it claims jobs once the app is ready and stops
  // (finishing or interrupting the job in hand) before the caller closes the database.
  const runner = services.jobRunner;
  if (runner) {
    app.addHook('onReady', () => runner.start());
    // Stopping starts when closing does, not after the server's close: that waits for the requests in
    // flight (their keep-alive connections are closed once answered, load-shedding.ts), and the job must
    // be recorded before the forced exit whatever the connections do.
    let stopping: Promise<void> | undefined;
    app.addHook('preClose', (done) => {
      stopping = runner.stop({ graceMs: JOB_STOP_GRACE_MS });
      stopping.catch(() => {});
      done();
    });
    app.addHook('onClose', () => stopping ?? runner.stop({ graceMs: JOB_STOP_GRACE_MS }));
  }
  // Erasures asked for and not completed (a 503 while the model store did not answer, one cut short by a close, a
  // process that died) are completed once the store answers, by one process each (privacy/erasure-redriver.ts).
  // Its stop waits for the erasures a pass handed over, so it is registered after the hooks that start the erasures'
  // worker thread's close (ERASURE_CLOSE_WAIT_MS) and the job runner's stop: preClose hooks run one after another,
  // and with it among the upkeep above, a pass's erasure held in the worker kept both from starting (the close hung
  // to the forced exit, the job in hand not recorded). The erasures the close gives up on stay owed.
  const redriving = startPeriodic((signal) => services.erasureRedriver.run(signal), { firstMs: config.ERASURE_REDRIVE_MS, everyMs: config.ERASURE_REDRIVE_MS });
  app.addHook('preClose', () => redriving.stop());
  return app;
}
