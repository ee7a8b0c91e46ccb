import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { EventRepository, InteractionInput, PurchaseInput } from '../../data/event-repository.js';
import { AppError } from '../../errors.js';
import type { RecordFeedback, RecordPurchases } from '../../serving/record-purchases.js';
import { mayAct } from '../plugins/auth.js';
import { errors } from '../schemas/common.js';
import { eventsBody, feedbackBody, feedbackResult, ingestResult } from '../schemas/events.js';

export function eventRoutes(
  app: FastifyInstance,
  deps: { recordPurchases: RecordPurchases; recordFeedback: RecordFeedback; events: EventRepository; maxBatch: number; authDisabled: boolean },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const checkSize = (n: number) => {
    if (n > deps.maxBatch) throw new AppError('BATCH_TOO_LARGE', `A batch holds at most ${deps.maxBatch} events, got ${n}`);
  };

  r.post('/v1/events', {
    config: { scope: 'write', ingest: 'events' },
    schema: {
      operationId: 'recordPurchases',
      tags: ['events'],
      summary: 'Record purchases, views, add-to-carts and ratings (idempotent: a retried batch adds nothing twice)',
      description:
        'An event without `type` is a purchase. Views, add-to-carts and ratings are stored apart: training weighs them by the ' +
        "recipe's eventWeights; buy-again, profiles and RFM never see them. Purchases and the other types are each stored all " +
        'or nothing; should the second write fail, retrying the batch stores what is missing and nothing twice.',
      body: eventsBody,
      response: { 200: ingestResult, ...errors(400, 401, 403, 413) },
    },
    handler: async (req) => {
      checkSize(req.body.events.length);
      const now = new Date();
      const purchases: PurchaseInput[] = [];
      const interactions: InteractionInput[] = [];
      for (const e of req.body.events) {
        if ('quantity' in e) {
          const { type: _, ...p } = e;
          purchases.push({ ...p, ts: p.ts ?? now });
        } else interactions.push({ ...e, ts: e.ts ?? now });
      }
      const a = await deps.events.insertInteractions(interactions);
      const b = purchases.length > 0 ? await deps.recordPurchases(purchases) : { inserted: 0, duplicates: 0, erased: 0 };
      return { accepted: req.body.events.length, inserted: a.inserted + b.inserted, duplicates: a.duplicates + b.duplicates, erased: a.erased + b.erased };
    },
  });

  r.post('/v1/feedback', {
    config: { scope: 'frontend', ingest: 'feedback' },
    schema: {
      operationId: 'recordFeedback',
      tags: ['events'],
      summary: 'Record how visitors reacted to recommendations (impression, click, add_to_cart, purchase)',
      body: feedbackBody,
      response: { 200: feedbackResult, ...errors(400, 401, 403, 413) },
    },
    handler: async (req) => {
      checkSize(req.body.events.length);
      const now = new Date();
      const feedback = req.body.events.map((e) => ({ ...e, ts: e.ts ?? now }));
      // A server's key (write) may name new items, as POST /v1/events may; a browser's may not.
      const server = mayAct(req, 'write', deps.authDisabled);
      const { inserted, duplicates, erased, unknownItems } = await deps.recordFeedback(feedback, { purchasesToo: server, knownItemsOnly: !server });
      if (!mayAct(req, 'read', deps.authDisabled)) return { accepted: req.body.events.length, unknownItems };
      return { accepted: req.body.events.length, inserted, duplicates, erased, ...(server ? {} : { unknownItems }) };
    },
  });
}
