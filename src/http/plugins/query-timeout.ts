import type { FastifyInstance, RouteHandlerMethod, RouteOptions } from 'fastify';
import { withQueryTimeout } from '../../data/query-timeout.js';

/**
 * Every route's handler runs with its Postgres statements limited to `ms` (PG_QUERY_TIMEOUT_MS; 0 = no
 * limit): a statement that gets no answer in time fails as a dependency failure, which the handler turns
 * into a fallback answer or the error handler into 503 with Retry-After. Register before the routes.
 */
export function registerQueryTimeout(app: FastifyInstance, opts: { ms: number }) {
  if (opts.ms <= 0) return;
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler;
    route.handler = function limited(this: FastifyInstance, request, reply) {
      return withQueryTimeout(opts.ms, () => handler.call(this, request, reply));
    } as RouteHandlerMethod;
  });
}
