import type { FastifyInstance, onResponseHookHandler, RouteOptions } from 'fastify';
import type { IngestKind, Metrics } from '../../metrics.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** An ingestion route: its records are counted in recsvc_ingest_records_total{kind, outcome}. */
    ingest?: IngestKind;
  }
}

/** Records in an ingestion request: the batch array (`events`, `items`) when there is one, else one record. */
function recordCount(kind: IngestKind, body: unknown): number {
  const list = (body as Record<string, unknown> | null | undefined)?.[kind === 'feedback' ? 'events' : kind];
  return Array.isArray(list) ? list.length : 1;
}

/**
 * Times every request by its route template (never the raw URL: ids would explode the label set)
 * and serves the registry at GET /metrics for Prometheus.
 *
 * Each route gets its own timing hook when it is registered (so register this before the routes), with
 * its method and template already known: reading `request.routeOptions` instead would build a new object
 * on every request. Requests no route matched are timed by one app-wide hook as route "unmatched".
 */
export function registerMetrics(app: FastifyInstance, deps: { metrics: Metrics; beforeScrape?: () => Promise<void> }) {
  const { metrics } = deps;
  const { httpDuration } = metrics;
  const timer = (method: string | undefined, route: string): onResponseHookHandler =>
    function recordDuration(request, reply, done) {
      httpDuration.observe({ method: method ?? request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      done();
    };

  // Accepted: answered 2xx. Rejected: refused as bad input (4xx other than auth and rate limits), so
  // nothing of the batch was written.
  const ingestCounter = (kind: IngestKind): onResponseHookHandler =>
    function countRecords(request, reply, done) {
      const status = reply.statusCode;
      const outcome = status < 300 ? 'accepted' : status >= 400 && status < 500 && ![401, 403, 429].includes(status) ? 'rejected' : null;
      if (outcome) metrics.ingested.inc({ kind, outcome }, recordCount(kind, request.body));
      done();
    };

  app.addHook('onRoute', (route: RouteOptions) => {
    const own = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    const ingest = route.config?.ingest;
    // A route serving several methods is labelled with the method of each request.
    route.onResponse = [...own, timer(Array.isArray(route.method) ? undefined : route.method, route.url), ...(ingest ? [ingestCounter(ingest)] : [])];
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) httpDuration.observe({ method: request.method, route: 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    done();
  });

  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    await deps.beforeScrape?.();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
