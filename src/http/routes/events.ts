import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { CatalogRepository } from '../../data/catalog-repository.js';
import { deriveEventIds, interactionContent, purchaseContent, type EventRepository, type InteractionInput, type PurchaseInput } from '../../data/event-repository.js';
import { AppError } from '../../errors.js';
import type { RecordFeedback, RecordPurchases } from '../../serving/record-purchases.js';
import { BROWSER_FEEDBACK_DAYS_BACK } from '../../serving/recommendation-ids.js';
import { mayAct } from '../plugins/auth.js';
import { errors, NEW_EVENT_ID_SPACES, NEW_ID_SPACES } from '../schemas/common.js';
import { checkBatchSize, countFirst } from './batch-size.js';
import { refuseNewPaddedIds, type NamedId } from './padded-ids.js';
import { eventsBody, feedbackBody, feedbackResult, ingestResult } from '../schemas/events.js';

function checkBrowserTimes(feedback: { ts: Date }[], now: Date): void {
  const oldest = now.getTime() - BROWSER_FEEDBACK_DAYS_BACK * 86_400_000;
  const late = feedback.flatMap((e, i) => (e.ts.getTime() < oldest ? [i] : []));
  if (late.length === 0) return;
  throw new AppError(
    'VALIDATION_FAILED',
    `feedback sent with a frontend key may be dated at most ${BROWSER_FEEDBACK_DAYS_BACK} days back; events ${late.slice(0, 5).join(', ')}${late.length > 5 ? ', ...' : ''} are older (send older feedback with a write key)`,
    late.slice(0, 20).map((i) => ({ path: `body.events.${i}.ts`, message: `more than ${BROWSER_FEEDBACK_DAYS_BACK} days back` })),
  );
}

/**
 * Of the body's events at `asked` (indices), those an erasure claims, as the writes would find them: each
 * event as stored (its time, `now` when it has none) under its id, given or derived from its content over
 * its own kind's list, as insertPurchases and insertInteractions derive it.
 */
async function erasedOfBatch(
  events: Pick<EventRepository, 'erasedAmong'>,
  body: readonly ({ quantity: number } | { type: string })[],
  purchases: PurchaseInput[],
  interactions: InteractionInput[],
  asked: number[],
): Promise<Set<number>> {
  const purchaseIds = deriveEventIds(purchases, (e) => purchaseContent(e));
  const interactionIds = deriveEventIds(interactions, (e) => interactionContent(e));
  // Where each body event went: its index in its kind's list.
  const at: number[] = [];
  let [p, v] = [0, 0];
  for (const e of body) at.push('quantity' in e ? p++ : v++);
  const refs = asked.map((i) => {
    const [list, ids] = 'quantity' in body[i] ? [purchases, purchaseIds] : [interactions, interactionIds];
    const e = list[at[i]];
    return { userId: e.userId, ts: e.ts, id: ids[at[i]] };
  });
  const erased = await events.erasedAmong(refs);
  return new Set(asked.filter((_, j) => erased.has(j)));
}

export function eventRoutes(
  app: FastifyInstance,
  deps: {
    recordPurchases: RecordPurchases;
    recordFeedback: RecordFeedback;
    events: EventRepository;
    /** Whether a customer or product is stored already: a new id of an event may not have white space at its ends (padded-ids.ts). */
    catalog: Pick<CatalogRepository, 'storedIds' | 'storedOrErasedUserIds'>;
    maxBatch: number;
    /** Most events in one request with a frontend key (FRONTEND_MAX_BATCH_SIZE); never more than maxBatch. */
    frontendMaxBatch: number;
    authDisabled: boolean;
  },
) {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const checkSize = (n: number) => checkBatchSize(n, deps.maxBatch, 'events');
  // The frontend key is public: anyone may send it, and a rate limit counts requests, not the events in them.
  const browserMax = Math.min(deps.frontendMaxBatch, deps.maxBatch);
  const checkBrowserSize = (n: number) => checkBatchSize(n, browserMax, 'events', 'A batch sent with a frontend key');

  r.post('/v1/events', {
    config: { scope: 'write', ingest: 'events' },
    preValidation: countFirst('events', (n) => checkSize(n)),
    schema: {
      operationId: 'recordPurchases',
      tags: ['events'],
      summary: 'Record purchases, views, add-to-carts and ratings (idempotent: a retried batch adds nothing twice)',
      description:
        'An event without `type` is a purchase. Views, add-to-carts and ratings are stored apart: training weighs them by the ' +
        "recipe's eventWeights; buy-again, profiles and RFM never see them. Purchases and the other types are each stored all " +
        'or nothing; should the second write fail, retrying the batch stores what is missing and nothing twice. ' +
        NEW_ID_SPACES +
        ' ' +
        NEW_EVENT_ID_SPACES,
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
      await refuseNewPaddedIds(
        deps.catalog,
        req.body.events.flatMap((e, i): NamedId[] => [
          { path: `body.events.${i}.userId`, kind: 'user', id: e.userId },
          { path: `body.events.${i}.itemId`, kind: 'item', id: e.itemId },
          ...(e.eventId === undefined ? [] : [{ path: `body.events.${i}.eventId`, kind: 'quantity' in e ? ('purchase' as const) : ('interaction' as const), id: e.eventId, event: i }]),
          ...('quantity' in e && e.orderId != null ? [{ path: `body.events.${i}.orderId`, kind: 'order' as const, id: e.orderId, userId: e.userId, event: i }] : []),
        ]),
        { stored: deps.events, erased: (events) => erasedOfBatch(deps.events, req.body.events, purchases, interactions, events) },
      );
      const a = await deps.events.insertInteractions(interactions);
      const b = purchases.length > 0 ? await deps.recordPurchases(purchases) : { inserted: 0, duplicates: 0, erased: 0 };
      return { accepted: req.body.events.length, inserted: a.inserted + b.inserted, duplicates: a.duplicates + b.duplicates, erased: a.erased + b.erased };
    },
  });

  r.post('/v1/feedback', {
    config: { scope: 'frontend', ingest: 'feedback' },
    preValidation: countFirst('events', (n, req) => (mayAct(req, 'read', deps.authDisabled) ? checkSize(n) : checkBrowserSize(n))),
    schema: {
      operationId: 'recordFeedback',
      tags: ['events'],
      summary: 'Record how visitors reacted to recommendations (impression, click, add_to_cart, purchase)',
      description:
        'A request made with a frontend key (a browser) holds at most FRONTEND_MAX_BATCH_SIZE events (100 by default), one made with ' +
        'a read, write or admin key at most MAX_BATCH_SIZE (5,000 by default); more is 413 BATCH_TOO_LARGE and nothing of the batch is stored. ' +
        'With a write or admin key (which creates the customers and products it names): ' +
        NEW_ID_SPACES,
      body: feedbackBody,
      response: { 200: feedbackResult, ...errors(400, 401, 403, 413) },
    },
    handler: async (req) => {
      // A server's key (write) may name new items, as POST /v1/events may; a browser's may not.
      const server = mayAct(req, 'write', deps.authDisabled);
      // A browser's (frontend) key, public, is held to small batches, to what the service served and to recent times.
      const browser = !mayAct(req, 'read', deps.authDisabled);
      if (browser) checkBrowserSize(req.body.events.length);
      else checkSize(req.body.events.length);
      // A server's key creates the customers and products it names and records its purchases, as POST /v1/events
      // does: it may not make new ids with white space at their ends either (padded-ids.ts).
      if (server) {
        await refuseNewPaddedIds(
          deps.catalog,
          req.body.events.flatMap((e, i) => [
            { path: `body.events.${i}.userId`, kind: 'user' as const, id: e.userId },
            { path: `body.events.${i}.itemId`, kind: 'item' as const, id: e.itemId },
          ]),
        );
      }
      const now = new Date();
      const feedback = req.body.events.map((e) => ({ ...e, ts: e.ts ?? now }));
      if (browser) checkBrowserTimes(feedback, now);
      const { inserted, duplicates, erased, unknownItems, unknownLabels } = await deps.recordFeedback(feedback, { purchasesToo: server, knownItemsOnly: !server, knownLabelsOnly: browser });
      if (browser) return { accepted: req.body.events.length, unknownItems, unknownLabels };
      return { accepted: req.body.events.length, inserted, duplicates, erased, ...(server ? {} : { unknownItems }) };
    },
  });
}
