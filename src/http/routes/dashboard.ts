import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const PAGE = readFileSync(new URL('../static/dashboard.html', import.meta.url), 'utf8');

/**
 * GET /dashboard: a small operations page (model versions with rollback, latest evaluations, online
 * CTR/conversion, segments). The page itself holds no data; it reads the admin API with the key the
 * operator types, so it needs no scope of its own and shows nothing without an admin key.
 */
export function dashboardRoutes(app: FastifyInstance) {
  app.get('/dashboard', { schema: { hide: true } }, async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      // The page runs only its own inline script and talks only to this origin.
      .header('content-security-policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
      .send(PAGE),
  );
}
