import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.js';

/**
 * Times every request by its route template (never the raw URL: ids would explode the label set)
 * and serves the registry at GET /metrics for Prometheus.
 */
export function registerMetrics(app: FastifyInstance, deps: { metrics: Metrics; beforeScrape?: () => Promise<void> }) {
  const { metrics } = deps;
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    await deps.beforeScrape?.();
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
