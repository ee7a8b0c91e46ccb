import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { EventRepository, RefusedReturn, ReturnInput } from '../../data/event-repository.js';
import { AppError } from '../../errors.js';
import { errors } from '../schemas/common.js';
import { ingestResult } from '../schemas/events.js';
import { returnsBody } from '../schemas/returns.js';
import { checkBatchSize, countFirst } from './batch-size.js';

/** Most refused returns a 422 names in its details. */
const DETAILS_KEPT = 20;

/**
 * POST /v1/returns: units a customer sent back (or an order cancelled). Stored as return events (migration 033);
 * training, evaluation and profiles read purchases net of them (data/return-allocation.ts), from the next training on.
 */
export function returnRoutes(app: FastifyInstance, deps: { events: Pick<EventRepository, 'insertReturns'>; maxBatch: number }) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const checkSize = (n: number) => checkBatchSize(n, deps.maxBatch, 'returns');
  r.post('/v1/returns', {
    config: { scope: 'write', ingest: 'returns' },
    preValidation: countFirst('returns', (n) => checkSize(n)),
    schema: {
      operationId: 'recordReturns',
      tags: ['events'],
      summary: 'Record returns: units of an item a customer sent back (idempotent: a retried batch adds nothing twice)',
      description:
        'A return takes its units off the purchases of its customer and item made at or before it (only those of the order `orderId` ' +
        'names, when given), the latest first. A purchase returned whole no longer counts as bought (not in training, not bought together ' +
        'with the rest of its order, not in spend, frequency or value tier); one returned in part keeps the units kept. Training, ' +
        "evaluation and profiles see it from the next training on; the customer's purchase list (GET /v1/users/:id/events) still lists " +
        'the purchase. A return the customer has no such purchase left for (none bought, all returned already, a later date, another ' +
        'order), or of more units than are left, is 422 UNPROCESSABLE naming each (`details[].path` `body.returns.<i>`), and nothing of ' +
        'the batch is stored. Returns of erased customers dated at or before their erasure are counted as `erased`, not stored.',
      body: returnsBody,
      response: { 200: ingestResult, ...errors(400, 401, 403, 413, 422) },
    },
    handler: async (req) => {
      checkSize(req.body.returns.length);
      const now = new Date();
      const returns: ReturnInput[] = req.body.returns.map((e) => ({ ...e, ts: e.ts ?? now }));
      // Erased customers' replayed returns are counted as erased, not refused for purchases the erasure deleted; a
      // copy of an id the batch names before is a duplicate. The check runs where the write does, under the
      // customers' locks: two batches returning the one unit bought, sent at once, cannot both pass it.
      const refuse = (refused: RefusedReturn[]) => {
        const details = refused.slice(0, DETAILS_KEPT).map(({ k, units }) => {
          const e = returns[k];
          const where = `of item ${JSON.stringify(e.itemId)} by customer ${JSON.stringify(e.userId)} at or before ${e.ts.toISOString()}${e.orderId != null ? ` in order ${JSON.stringify(e.orderId)}` : ''}`;
          const message =
            units === e.quantity
              ? `no purchase ${where} is left to return (none stored, or all of it returned already)`
              : `returns ${e.quantity} units, but only ${e.quantity - units} of those bought ${where} are left to return`;
          return { path: `body.returns.${k}`, message };
        });
        return new AppError(
          'UNPROCESSABLE',
          `${refused.length} of the ${returns.length} returns take back more than the customer bought and has not returned; nothing was stored: ${details[0].message}`,
          details,
        );
      };
      const { inserted, duplicates, erased: erasedCount } = await deps.events.insertReturns(returns, refuse);
      return { accepted: returns.length, inserted, duplicates, erased: erasedCount };
    },
  });
}
