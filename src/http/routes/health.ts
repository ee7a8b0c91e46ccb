import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const status = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.boolean()).optional() });

const notReady = status.meta({ 'x-response-description': 'Not ready: `checks` names the dependency that does not answer' });

/** Liveness says the process runs; readiness says its dependencies answer, so a balancer may send traffic. */
export function healthRoutes(app: FastifyInstance, deps: { checks: Record<string, () => Promise<boolean>> }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/health/live', { schema: { operationId: 'getLiveness', tags: ['operations'], summary: 'Liveness: the process runs', response: { 200: status } } }, async () => ({ status: 'ok' as const }));
  r.get('/health/ready', { schema: { operationId: 'getReadiness', tags: ['operations'], summary: 'Readiness: each dependency answers (503 names the one that does not)', response: { 200: status, 503: notReady } } }, async (_req, reply) => {
    const entries = await Promise.all(
      Object.entries(deps.checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const),
    );
    const checks = Object.fromEntries(entries);
    const ok = entries.every(([, v]) => v);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
}
