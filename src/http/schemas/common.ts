import { z } from 'zod';

/** The one error shape of every 4xx/5xx response. */
export const errorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'VALIDATION_FAILED' }),
      message: z.string(),
      details: z.array(z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });

/** Error responses a route may return, keyed by status, for its response schema. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, errorResponse])) as Record<number, typeof errorResponse>;
}

export const idParam = z.strictObject({
  id: z.string().min(1).max(256).describe('Identifier as the shop knows it'),
});

/** ISO 8601 date-time with an offset or Z, parsed to a Date. */
export const timestamp = z.iso
  .datetime({ offset: true, message: 'expected an ISO 8601 date-time such as 2011-12-09T12:50:00Z' })
  .transform((s) => new Date(s));

export const attributes = z.record(z.string().max(128), z.unknown()).describe('Free-form attributes (country, region, brand, ...)');

export const paging = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
