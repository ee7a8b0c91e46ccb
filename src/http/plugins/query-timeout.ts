import type { FastifyInstance, RouteHandlerMethod, RouteOptions } from 'fastify';
import { LONG_STATEMENT_MS, withQueryTimeout } from '../../data/query-timeout.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * An admin report that may read a long history (online metrics over a year): its statements are
     * limited to LONG_STATEMENT_MS rather than PG_QUERY_TIMEOUT_MS. (Erasures and rollbacks get that
     * limit where they queue for the erasure lock, privacy/user-erasure.ts.)
     */
    longStatements?: boolean;
  }
}

/**
 * Every route's handler runs with its Postgres statements limited to `ms` (PG_QUERY_TIMEOUT_MS; 0 = no
 * limit): a statement that gets no answer in time fails as a dependency failure, which the handler turns
 * into a fallback answer or the error handler into 503 with Retry-After. Register before the routes.
 */
export function registerQueryTimeout(app: FastifyInstance, opts: { ms: number }) {
  if (opts.ms <= 0) return;
  app.addHook('onRoute', (route: RouteOptions) => {
    const handler = route.handler;
    const ms = route.config?.longStatements ? Math.max(opts.ms, LONG_STATEMENT_MS) : opts.ms;
    route.handler = function limited(this: FastifyInstance, request, reply) {
      return withQueryTimeout(ms, () => handler.call(this, request, reply));
    } as RouteHandlerMethod;
  });
}
