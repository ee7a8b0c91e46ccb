import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The headers helmet would set with `options`, computed once: helmet is a middleware that writes
 * them on a response, so it is run against a recorder.
 */
export function helmetHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, () => {});
  return headers;
}

/**
 * Helmet's headers for a JSON API: no active content and no framing (`default-src 'none';
 * frame-ancestors 'none'`), HSTS, nosniff, no referrer, same-origin resources. Headers that only matter
 * for HTML documents (X-DNS-Prefetch-Control, Origin-Agent-Cluster, X-Download-Options,
 * X-Permitted-Cross-Domain-Policies, X-XSS-Protection, COOP) are left out. Also written on the answers
 * no hook runs for (error-handler.ts: router errors, connection-level errors).
 */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = helmetHeaders({
  contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  xFrameOptions: { action: 'deny' },
});

/**
 * API_SECURITY_HEADERS on every response. The two HTML pages set their own policy: /docs through
 * swagger-ui's `staticCSP` (its scripts are files under /docs/static, src/http/plugins/docs.ts) and
 * /dashboard in its route.
 *
 * The headers are computed once and added by one app-wide hook. @fastify/helmet was measured first: it
 * builds helmet's middleware anew on every request (parsing the policy each time) and read the route's
 * options twice, ~13 us of CPU per request, a quarter of what a served recommendation costs.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(API_SECURITY_HEADERS);
    // Decided by the route the router matched, not by the request target: `GET http://host/v1/...` and
    // `/%76%31/...` reach the same /v1 route. A request no route matched gets no-store too, as does one
    // matched by a wildcard on every path (the CORS plugin's OPTIONS route, `*`).
    const route = request.routeOptions.url;
    if (route === undefined || route === '*' || route.startsWith('/v1/')) reply.header('cache-control', API_CACHE_CONTROL);
    done();
  });
}

/**
 * Every /v1 answer is the service's own, now: a recommendation carries a new recommendationId (feedback
 * is attributed by it) and may be a customer's personal list, which a CDN or proxy caching `/v1/*` by URL
 * would hand to the next visitor. So nothing under /v1 is stored by any cache. The pages (/docs,
 * /dashboard) keep their own revalidating policies.
 */
export const API_CACHE_CONTROL = 'no-store';
