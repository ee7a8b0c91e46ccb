import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * One prom-client registry per service instance (tests build many apps in one process).
 * Names follow recsvc_<subsystem>_<name>_<unit>; `_total` only on counters; never an id as a label.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'recsvc_process_' });
  const registers = [registry];
  return {
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
    fallbacks: new Counter({
      name: 'recsvc_serving_fallbacks_total',
      help: 'Recommendation responses answered by a fallback (cold start, no model)',
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
    segmentSize: new Gauge({
      name: 'recsvc_profiles_segment_users',
      help: 'Customers per RFM segment at the last training',
      labelNames: ['segment'] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
