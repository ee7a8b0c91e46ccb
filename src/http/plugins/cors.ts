import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** A CORS preflight (Fetch standard): an OPTIONS request with Origin and Access-Control-Request-Method. */
export const isPreflight = (request: FastifyRequest) => request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;

/** Headers a browser script may read: the request id to report a problem, the limits to back off. */
const EXPOSED_HEADERS = ['x-request-id', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];

/** What a listed origin's scripts may send; also written on preflights answered outside the plugin. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'x-api-key', 'x-request-id', 'x-user-token'];
/** Preflights are cached 10 minutes, so a page does not pay one per call. */
const MAX_AGE_SECONDS = 600;

/**
 * The CORS headers of an answer to `origin` written outside the plugin's hooks (the router's refusals,
 * error-handler.ts): the ones the plugin gives a listed origin's simple request, none for another origin.
 */
export function corsHeadersFor(origins: readonly string[], origin: string | undefined): Record<string, string> {
  if (origin === undefined || !origins.includes(origin)) return {};
  return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': EXPOSED_HEADERS.join(', ') };
}

/**
 * The headers of the plugin's 204 answer to a listed origin's preflight, for a preflight answered outside
 * its hooks (a URL the router or the HTTP parser refuses, error-handler.ts); undefined for another origin.
 * The plugin answers a listed origin's preflight on any path, known or not: the request it clears is the
 * one that gets the refusal, which carries the CORS headers, so the storefront's script can read it.
 */
export function preflightHeadersFor(origins: readonly string[], origin: string | undefined): Record<string, string> | undefined {
  if (origin === undefined || !origins.includes(origin)) return undefined;
  return {
    ...corsHeadersFor(origins, origin),
    'access-control-allow-methods': METHODS.join(', '),
    'access-control-allow-headers': ALLOWED_HEADERS.join(', '),
    'access-control-max-age': String(MAX_AGE_SECONDS),
  };
}

/**
 * CORS for browser frontends on the shop's own origins (`CORS_ORIGINS`). Without any, nothing is
 * registered: no CORS header is ever sent and browsers on other origins cannot read answers. A
 * preflight from a listed origin gets 204 with the methods and headers the API uses; from any other
 * origin no Access-Control-Allow-Origin header, so the browser refuses.
 *
 * An OPTIONS that is not a preflight (no Origin, or no Access-Control-Request-Method) is answered as
 * without CORS: the plugin's OPTIONS route hands it to the not-found handler (405 with Allow on a known
 * path, else 404), in the error shape. The plugin's own answer to it (`strictPreflight`) was a
 * text/plain 400 "Invalid Preflight Request"; with `strictPreflight: false` it would be a 204 on any
 * path, known or not. The delegator is the plugin's way to choose options per request.
 */
export async function registerCors(app: FastifyInstance, opts: { origins: string[] }): Promise<void> {
  if (opts.origins.length === 0) return;
  const options: FastifyCorsOptions = {
    origin: opts.origins,
    methods: METHODS,
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: MAX_AGE_SECONDS,
  };
  const notPreflight: FastifyCorsOptions = { ...options, preflight: false };
  await app.register(cors, {
    delegator: (request, callback) => callback(null, request.method === 'OPTIONS' && !isPreflight(request) ? notPreflight : options),
  });
}
