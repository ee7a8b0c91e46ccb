import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { JOB_TYPES } from './jobs/job-types.js';

/**
 * One prom-client registry per service instance (tests build many apps in one process).
 * Names follow recsvc_<subsystem>_<name>_<unit>; `_total` only on counters; never an id as a label.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'recsvc_process_' });
  // Dropped from prom-client's defaults: gauges named `_total` (our rule keeps that for counters; the
  // per-type gauges beside them carry the same counts) and active requests, which has no series at rest.
  for (const name of ['nodejs_active_resources_total', 'nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_requests']) {
    registry.removeSingleMetric(`recsvc_process_${name}`);
  }
  const registers = [registry];
  const metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'recsvc_http_request_duration_seconds',
      help: 'HTTP request latency by route template, method and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    recommendationsServed: new Counter({
      name: 'recsvc_serving_recommendations_total',
      help: 'Recommendation responses by endpoint kind and strategy',
      labelNames: ['kind', 'strategy'] as const,
      registers,
    }),
    listSlots: new Counter({
      name: 'recsvc_serving_list_slots_total',
      help: 'Items served in recommendation lists, by endpoint kind and the source that put each on the list (its dominant source, first of its sources)',
      labelNames: ['kind', 'source'] as const,
      registers,
    }),
    fallbacks: new Counter({
      name: 'recsvc_serving_fallbacks_total',
      help: 'Recommendation responses answered by a fallback (cold start, no model), by reason (customers-held: every customer held at a start with Postgres down)',
      labelNames: ['kind', 'reason'] as const,
      registers,
    }),
    activeModel: new Gauge({
      name: 'recsvc_model_active_info',
      help: 'The active model version (value 1)',
      labelNames: ['version', 'recipe'] as const,
      registers,
    }),
    activeModelAge: new Gauge({
      name: 'recsvc_model_active_age_seconds',
      help: 'Seconds since the active model was trained',
      registers,
    }),
    servedModel: new Gauge({
      name: 'recsvc_model_served_info',
      help: 'The model version this process answers with, from memory (value 1): it outlives an outage of the model store, and differs from the active one until a new version is loaded',
      labelNames: ['version', 'recipe'] as const,
      registers,
    }),
    servedModelAge: new Gauge({
      name: 'recsvc_model_served_age_seconds',
      help: 'Seconds since the model this process answers with was trained (no series before it holds one)',
      registers,
    }),
    modelStoreUp: new Gauge({
      name: 'recsvc_model_store_up',
      help: 'Whether the model store (Redis) answered the last scrape\'s reads: 1 yes, 0 no (the active-model gauges then keep their last values)',
      registers,
    }),
    activeModelGone: new Gauge({
      name: 'recsvc_model_active_missing_parts',
      help: 'Artifacts and tables of the active model version that the model store no longer holds (keys evicted under maxmemory, a cluster shard restarted empty); above 0, customers get fallback answers until a training',
      registers,
    }),
    jobDuration: new Histogram({
      name: 'recsvc_jobs_duration_seconds',
      help: 'Duration of finished jobs by type and outcome',
      labelNames: ['type', 'status'] as const,
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800],
      registers,
    }),
    evaluationMetric: new Gauge({
      name: 'recsvc_evaluation_metric_ratio',
      help: 'Latest offline evaluation of the active recipe, by strategy, metric, k and mode',
      labelNames: ['strategy', 'metric', 'k', 'mode'] as const,
      registers,
    }),
    onlineRate: new Gauge({
      name: 'recsvc_feedback_rate_ratio',
      help: 'Click-through and conversion rates from feedback events, by strategy',
      labelNames: ['strategy', 'rate'] as const,
      registers,
    }),
    answerCacheHits: new Counter({
      name: 'recsvc_serving_answer_cache_hits_total',
      help: 'User recommendation requests answered from a kept finished answer',
      registers,
    }),
    answerCacheMisses: new Counter({
      name: 'recsvc_serving_answer_cache_misses_total',
      help: 'User recommendation requests whose answer could be kept but was not (computed anew)',
      registers,
    }),
    catalogOverlayPasses: new Counter({
      name: 'recsvc_serving_catalog_overlay_passes_total',
      help: 'Passes of the catalog overlay that finished (each reads the catalog changes its last pass could not see)',
      registers,
    }),
    catalogOverlayRows: new Counter({
      name: 'recsvc_serving_catalog_overlay_rows_total',
      help: 'Catalog rows the overlay read, over all its passes (a quiet catalogue: none)',
      registers,
    }),
    storeDuration: new Histogram({
      name: 'recsvc_store_operation_duration_seconds',
      help: 'Model store calls by operation (getEntries, getUserEvents, publish...), failed ones included',
      labelNames: ['operation'] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    storeErrors: new Counter({
      name: 'recsvc_store_errors_total',
      help: 'Model store calls that failed, by operation',
      labelNames: ['operation'] as const,
      registers,
    }),
    dbDuration: new Histogram({
      name: 'recsvc_db_query_duration_seconds',
      help: 'Postgres calls by kind of statement (select, insert, update, delete, other; transaction = a whole transaction)',
      labelNames: ['statement'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
      registers,
    }),
    dbErrors: new Counter({
      name: 'recsvc_db_errors_total',
      help: 'Postgres calls that failed, by kind of statement',
      labelNames: ['statement'] as const,
      registers,
    }),
    dbTimeouts: new Counter({
      name: 'recsvc_db_timeouts_total',
      help: 'Postgres calls given up at their statement limit (PG_QUERY_TIMEOUT_MS, or the long limit) or cancelled by Postgres itself (statement_timeout, lock_timeout, pg_cancel_backend), by kind of statement: a Postgres that stops answering; also counted as errors',
      labelNames: ['statement'] as const,
      registers,
    }),
    ingested: new Counter({
      name: 'recsvc_ingest_records_total',
      help: 'Records sent to the ingestion API (events, feedback, items, users), accepted or rejected (a rejected batch writes nothing)',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    jobFailures: new Counter({
      name: 'recsvc_jobs_failures_total',
      help: 'Jobs that failed, by type',
      labelNames: ['type'] as const,
      registers,
    }),
    jobsLastEnded: new Gauge({
      name: 'recsvc_jobs_last_ended_timestamp_seconds',
      help: 'When the newest job of each type ended with each outcome (unix seconds; 0: never), read from the job table, so it holds whichever process ran the job (npm run worker included): alert when a type\'s failed is newer than its succeeded',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
    jobsPending: new Gauge({
      name: 'recsvc_jobs_pending_jobs',
      help: 'Jobs queued or running, by type, read from the job table',
      labelNames: ['type', 'status'] as const,
      registers,
    }),
    lastTraining: new Gauge({
      name: 'recsvc_training_last_success_timestamp_seconds',
      help: 'When the newest kept model version was trained (unix seconds)',
      registers,
    }),
    buildInfo: new Gauge({
      name: 'recsvc_build_info',
      help: 'The running build (value 1)',
      labelNames: ['version', 'node'] as const,
      registers,
    }),
    erasuresPending: new Gauge({
      name: 'recsvc_erasure_requests_pending',
      help: 'Erasures asked for (DELETE /v1/users/:id) and not recorded yet, owed by the service, as of this process\'s last look (ERASURE_REDRIVE_MS)',
      registers,
    }),
    erasuresRedriven: new Counter({
      name: 'recsvc_erasure_redriven_total',
      help: 'Erasures owed (asked, then failed or cut short) that this process completed without the caller sending them again',
      registers,
    }),
    segmentSize: new Gauge({
      name: 'recsvc_profiles_segment_users',
      help: 'Customers per RFM segment of the served version\'s profiles, as GET /v1/segments counts them (customers whose erasure is owed left out)',
      labelNames: ['segment'] as const,
      registers,
    }),
  };
  // Series with a known, fixed label set start at zero, so a rate() or an alert sees them before the first event.
  for (const type of Object.values(JOB_TYPES)) {
    metrics.jobFailures.inc({ type }, 0);
    for (const status of ['succeeded', 'failed'] as const) metrics.jobDuration.zero({ type, status });
  }
  for (const kind of INGEST_KINDS) for (const outcome of ['accepted', 'rejected'] as const) metrics.ingested.inc({ kind, outcome }, 0);
  return metrics;
}

/** What the ingestion API takes in, the `kind` label of recsvc_ingest_records_total. */
export const INGEST_KINDS = ['events', 'feedback', 'items', 'users', 'returns'] as const;
export type IngestKind = (typeof INGEST_KINDS)[number];

export type Metrics = ReturnType<typeof createMetrics>;
