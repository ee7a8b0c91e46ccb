import { INPUT_LIMITS } from '../../data/input-limits.js';
import { z } from 'zod';
import { INTERACTION_TYPES } from '../../data/event-repository.js';
import { campaignId } from '../../exports/export-request.js';
import { eventTimestamp, id as ref, keysetPagingOf, keysetQuery, nextPageCursor, price, text } from './common.js';

/**
 * An event without an eventId gets one derived from its content, time included: a time defaulted to
 * "now" would differ on a retry and store the event twice, so such events must say when they happened.
 */
const fixedTime = (e: { eventId?: string; ts?: Date }) => e.eventId !== undefined || e.ts !== undefined;
const TS_NEEDED = { message: 'ts is required when no eventId is given (a retry must derive the same id)', path: ['ts'] };

export const purchaseEvent = z.strictObject({
  eventId: ref.optional().describe('Idempotency key; derived from the content when absent'),
  type: z.literal('purchase').optional().describe('`purchase` (the default when absent)'),
  userId: ref,
  itemId: ref,
  quantity: z.number().int().positive().max(INPUT_LIMITS.quantity),
  price: price.nullable().optional().describe('Unit price'),
  orderId: ref.nullable().optional().describe('Basket: events of one order were bought together'),
  ts: eventTimestamp.optional().describe('When it happened (ISO 8601, from 1970 to at most a day ahead of the server\'s clock); may be left out only with an eventId (then: the time of the request)'),
}).refine(fixedTime, TS_NEEDED);

/**
 * A view, add-to-cart or rating: intent without a sale. Weighted into item-kNN, ALS and co-occurrence
 * by the recipe's eventWeights; never a purchase for buy-again, profiles or RFM.
 */
export const interactionEvent = z
  .strictObject({
    eventId: ref.optional().describe('Idempotency key; derived from the content when absent'),
    type: z.enum(INTERACTION_TYPES).describe('view, add_to_cart or rating'),
    userId: ref,
    itemId: ref,
    value: z.number().min(1).max(5).optional().describe('The rating, 1..5 stars: required with type rating, refused with the others'),
    ts: eventTimestamp.optional().describe('When it happened (ISO 8601, from 1970 to at most a day ahead of the server\'s clock); may be left out only with an eventId (then: the time of the request)'),
  })
  .refine(fixedTime, TS_NEEDED)
  .refine((e) => (e.type === 'rating') === (e.value !== undefined), { message: 'value (1..5) is required with type rating and refused with the others', path: ['value'] });

/** One event of POST /v1/events: a purchase (no `type`, or `purchase`), or a view, add-to-cart or rating. */
export const ingestEvent = z.discriminatedUnion('type', [purchaseEvent, interactionEvent]).meta({ id: 'Event' });

export const eventsBody = z.strictObject({ events: z.array(ingestEvent).min(1) });

export const ingestResult = z
  .object({
    accepted: z.number().int().describe('Events in the request'),
    inserted: z.number().int().describe('Events stored now'),
    duplicates: z.number().int().describe('Events already stored by an earlier request'),
    erased: z
      .number()
      .int()
      .describe('Events of erased customers dated at or before their erasure, or (for 7 days after it) carrying the id of an event it deleted: not stored (an erased history stays erased)'),
    unknownItems: z
      .number()
      .int()
      .optional()
      .describe('Feedback sent with a frontend key about items the catalog does not hold: not stored (a browser does not add catalog items)'),
  })
  .meta({ id: 'IngestResult' });

/**
 * What POST /v1/feedback answers. A browser's (frontend) key gets `accepted` and `unknownItems` only: how
 * many were stored, duplicates or erased would tell anyone with the public key whether another visitor's
 * event exists (feedback without an id is deduplicated on user, item, type and time) or a customer was erased.
 */
export const feedbackResult = ingestResult
  .extend({
    inserted: ingestResult.shape.inserted.optional().describe('Events stored now (not given to a frontend key)'),
    duplicates: ingestResult.shape.duplicates.optional().describe('Events already stored by an earlier request (not given to a frontend key)'),
    erased: ingestResult.shape.erased
      .optional()
      .describe('Events of erased customers dated at or before their erasure, or (for 7 days after it) carrying the id of an event it deleted: not stored (not given to a frontend key)'),
    unknownLabels: z
      .number()
      .int()
      .optional()
      .describe(
        'Events sent with a frontend key whose strategy, experimentId or arm differ from those of the signed recommendationId they name ' +
          '(stored with the recommendationId\'s), that name an experiment without a signed recommendationId of a list served in it, ' +
          'whose strategy (without one) is not one the service serves, or whose campaignId no export was made for: stored without that ' +
          'label (a browser cannot make up strategies, experiment arms or campaigns in the online metrics)',
      ),
  })
  .meta({ id: 'FeedbackResult' });

export const feedbackEvent = z.strictObject({
  eventId: ref.optional(),
  userId: ref,
  itemId: ref,
  type: z.enum(['impression', 'click', 'add_to_cart', 'purchase']),
  recommendationId: ref
    .nullable()
    .optional()
    .describe(
      'The recommendationId of the response shown. With a frontend key, one the service signed (at most 7 days old) gives the event ' +
        "that response's strategy, experimentId and arm, whatever the event says",
    ),
  strategy: text(64)
    .nullable()
    .optional()
    // An empty strategy says no more than none: stored as none, so reports and gauges count them as one.
    .transform((s) => (s === '' ? null : s))
    .describe("The response's strategy (with a frontend key: taken from the recommendationId when it is the service's); an empty one is none"),
  experimentId: ref
    .max(64)
    .nullable()
    .optional()
    .describe("The response's experiment.id, when it had one (with a frontend key: kept only as the signed recommendationId has it)"),
  arm: ref.max(64).nullable().optional().describe("The response's experiment.arm; required with experimentId"),
  campaignId: campaignId.nullable().optional().describe('The campaign (export) that showed the recommendation, for per-campaign online metrics'),
  ts: eventTimestamp
    .optional()
    .describe(
      "When it happened (ISO 8601, from 1970 to at most a day ahead of the server's clock; with a frontend key at most 7 days back); may be left out only with an eventId (then: the time of the request)",
    ),
})
  .refine(fixedTime, TS_NEEDED)
  .refine((e) => (e.experimentId == null) === (e.arm == null), { message: 'experimentId and arm go together: send both or neither', path: ['arm'] });

export const feedbackBody = z.strictObject({ events: z.array(feedbackEvent).min(1) });

export const purchaseResponse = z.object({
  eventId: z.string(),
  userId: z.string(),
  itemId: z.string(),
  quantity: z.number(),
  price: z.number().nullable(),
  orderId: z.string().nullable(),
  ts: z.string(),
  title: z.string().optional().describe("The item's catalog title, when it has one"),
});

/** A customer's purchases: up to 1,000 a page, 100 by default, from `offset` or after a `cursor`. */
export const purchasePagingQuery = keysetQuery(keysetPagingOf(100, 1000));

export const purchasePageResponse = z.object({
  events: z.array(purchaseResponse).describe('Newest first (event ids break ties)'),
  nextCursor: nextPageCursor.describe('Pass as `cursor` for the next page; null on the last. Purchases stored meanwhile do not shift the pages'),
});
