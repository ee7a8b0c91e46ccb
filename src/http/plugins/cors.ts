import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/**
 * CORS for browser frontends on the shop's own origins (`CORS_ORIGINS`). Without any, nothing is
 * registered: no CORS header is ever sent and browsers on other origins cannot read answers. A
 * preflight from a listed origin gets 204 with the methods and headers the API uses; from any other
 * origin no Access-Control-Allow-Origin header, so the browser refuses.
 */
export async function registerCors(app: FastifyInstance, opts: { origins: string[] }): Promise<void> {
  if (opts.origins.length === 0) return;
  await app.register(cors, {
    origin: opts.origins,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-api-key', 'x-request-id', 'x-user-token'],
    // A browser script may read these: the request id to report a problem, the limits to back off.
    exposedHeaders: ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
    // Preflights are cached 10 minutes, so a page does not pay one per call.
    maxAge: 600,
  });
}
