import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { within } from '../../within-time.js';
import { errorResponse } from '../schemas/common.js';

const status = z.object({ status: z.enum(['ok', 'unavailable']), checks: z.record(z.string(), z.boolean()).optional() });

const notReady = status.meta({ 'x-response-description': 'Not ready: `checks` names the dependency that does not answer' });

/** A check that has not answered in this time counts as failed: a balancer's probe must not hang. */
const CHECK_TIMEOUT_MS = 1000;

const withinTime = (check: () => Promise<boolean>): Promise<boolean> => within(check().catch(() => false), CHECK_TIMEOUT_MS, () => false);

/**
 * Liveness says the process runs (it stays 200 whatever the dependencies do: restarting the process
 * would not bring them back); readiness says each dependency answers and a model is served, so a
 * balancer may send traffic, and names the checks that failed.
 */
export function healthRoutes(app: FastifyInstance, deps: { checks: Record<string, () => Promise<boolean>>; servingChecks: Record<string, () => Promise<boolean>> }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get('/health/live', { schema: { operationId: 'getLiveness', tags: ['operations'], summary: 'Liveness: the process runs', response: { 200: status } } }, async () => ({ status: 'ok' as const }));
  r.get('/health/ready', { schema: { operationId: 'getReadiness', tags: ['operations'], summary: 'Readiness: each dependency answers and a model is served (503 names what does not)', response: { 200: status, 503: notReady } } }, async (_req, reply) =>
    answer(reply, deps.checks),
  );
  // Readiness takes every replica out of a balancer while Postgres or Redis is away, since they share
  // both; this one keeps a replica in while it can still answer the storefront (degraded) from memory.
  r.get(
    '/health/serving',
    {
      schema: {
        operationId: 'getServing',
        tags: ['operations'],
        summary: 'Whether this process can answer recommendation requests now, from a model in memory, whatever Postgres and Redis do (for a storefront balancer that prefers degraded answers to none; 503 names what it lacks)',
        // Also shed with the requests it speaks for (closing, overloaded): then in the error shape.
        response: { 200: status, 503: z.union([notReady, errorResponse]) },
      },
    },
    async (_req, reply) => answer(reply, deps.servingChecks),
  );
}

async function answer(reply: FastifyReply, checks: Record<string, () => Promise<boolean>>) {
  const entries = await Promise.all(Object.entries(checks).map(async ([name, check]) => [name, await withinTime(check)] as const));
  const ok = entries.every(([, v]) => v);
  return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: Object.fromEntries(entries) });
}
