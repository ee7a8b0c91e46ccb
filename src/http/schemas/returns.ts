import { z } from 'zod';
import { INPUT_LIMITS } from '../../data/input-limits.js';
import { eventTimestamp, id as ref } from './common.js';

export const returnEvent = z
  .strictObject({
    eventId: ref.optional().describe('Idempotency key; derived from the content when absent'),
    userId: ref.describe('The customer who returns'),
    itemId: ref.describe('The item returned'),
    quantity: z.number().int().positive().max(INPUT_LIMITS.quantity).describe('Units returned'),
    orderId: ref.nullable().optional().describe('The order the units were bought in, when known: only its purchases lose them'),
    ts: eventTimestamp
      .optional()
      .describe("When it was returned (ISO 8601, from 1970 to at most a day ahead of the server's clock); may be left out only with an eventId (then: the time of the request)"),
  })
  .refine((e) => e.eventId !== undefined || e.ts !== undefined, { message: 'ts is required when no eventId is given (a retry must derive the same id)', path: ['ts'] })
  .meta({ id: 'Return' });

export const returnsBody = z.strictObject({ returns: z.array(returnEvent).min(1) });
