import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * Helmet's headers on every response. The API answers JSON, so its content security policy allows
 * nothing (`default-src 'none'`) and no framing; the two HTML pages set their own: /docs through
 * swagger-ui's `staticCSP` (its scripts and styles by hash, src/http/plugins/docs.ts) and /dashboard
 * in its route (its inline script, same-origin API calls).
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { 'default-src': ["'none'"], 'frame-ancestors': ["'none'"] } },
  });
}
