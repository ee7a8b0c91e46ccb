import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

/**
 * Operations routes keep answering under load and while draining: a probe must not be shed. Told by the
 * route matched (whatever form its request target took: absolute, percent-encoded); a request no route
 * matched is not one.
 */
export const isOperationsRoute = (request: FastifyRequest) => {
  const route = request.routeOptions.url;
  return route !== undefined && (route.startsWith('/health/') || route === '/metrics');
};

/**
 * The storefront balancer's probe says whether recommendation requests would be answered, so it is shed
 * with them (closing, overloaded) while the other operations routes still answer.
 */
const shedWithRequests = (request: FastifyRequest) => !isOperationsRoute(request) || request.routeOptions.url === '/health/serving';

export interface LoadSheddingOptions {
  maxEventLoopDelayMs: number;
  maxHeapUsedMb: number;
  /** Seconds a client is told to wait (Retry-After) on a 503. */
  retryAfterSeconds?: number;
}

/**
 * Two kinds of 503, both in the error shape with Retry-After:
 * - OVERLOADED (@fastify/under-pressure): the event loop lags or the heap is over its limit, so new work
 *   would only make every answer late; health and metrics still answer.
 * - SHUTTING_DOWN: once app.close() has begun, requests still arriving on open connections are told to
 *   go elsewhere (with Connection: close) while in-flight ones finish. Fastify's built-in answer for
 *   this (`return503OnClosing`) is in another shape and is turned off in app.ts.
 * Once closing has begun, each answer sent (an in-flight request's too) is followed by closing the
 * connections left idle: the server's close would otherwise wait for a keep-alive client to hang up or
 * for keepAliveTimeout (72 s), past the forced exit. A connection with a request still coming (pipelined)
 * is not idle: that request gets its SHUTTING_DOWN answer first.
 */
export async function registerLoadShedding(app: FastifyInstance, opts: LoadSheddingOptions): Promise<void> {
  const retryAfter = String(opts.retryAfterSeconds ?? 5);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing || !shedWithRequests(request)) return done();
    reply.header('retry-after', retryAfter).header('connection', 'close');
    done(new AppError('SHUTTING_DOWN'));
  });
  app.addHook('onResponse', (_request, _reply, done) => {
    // On the next turn: the connection counts as idle only once its answer is fully through.
    if (closing) setImmediate(() => app.server.closeIdleConnections());
    done();
  });

  if (opts.maxEventLoopDelayMs === 0 && opts.maxHeapUsedMb === 0) return;
  await app.register(underPressure, {
    maxEventLoopDelay: opts.maxEventLoopDelayMs,
    maxHeapUsedBytes: opts.maxHeapUsedMb * 1024 * 1024,
    pressureHandler: async (request, reply, type, value) => {
      if (!shedWithRequests(request)) return;
      request.log.warn({ type, value }, 'shedding load');
      reply.header('retry-after', retryAfter);
      throw new AppError('OVERLOADED');
    },
  });
}
