import type { FastifyInstance, onResponseHookHandler, RouteOptions } from 'fastify';
import type { Metrics } from '../../metrics.js';

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

  app.addHook('onRoute', (route: RouteOptions) => {
    const own = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    // A route serving several methods is labelled with the method of each request.
    route.onResponse = [...own, timer(Array.isArray(route.method) ? undefined : route.method, route.url)];
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
