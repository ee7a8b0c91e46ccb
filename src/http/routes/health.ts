import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const status = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.boolean()).optional() });

/** Liveness says the process runs; readiness says its dependencies answer, so a balancer may send traffic. */
export function healthRoutes(app: FastifyInstance, deps: { checks: Record<string, () => Promise<boolean>> }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/health/live', { schema: { tags: ['operations'], response: { 200: status } } }, async () => ({ status: 'ok' as const }));
  r.get('/health/ready', { schema: { tags: ['operations'], response: { 200: status, 503: status } } }, async (_req, reply) => {
    const entries = await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, v]) => v);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
}
