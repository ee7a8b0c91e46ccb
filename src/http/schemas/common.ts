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

/** Attribute values may hold objects and arrays, this many levels deep counting the attributes object. */
export const MAX_ATTRIBUTE_DEPTH = 16;

/**
 * True when `value` nests objects or arrays deeper than `max` levels. Walked with an explicit stack:
 * the value comes from a request and may nest deeper than any call stack (Postgres refused a few
 * thousand levels with a 500, which is how the limit came about).
 */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

export const attributes = z
  .record(z.string().max(128), z.unknown())
  .refine((a) => !nestsDeeperThan(a, MAX_ATTRIBUTE_DEPTH), `attributes may nest at most ${MAX_ATTRIBUTE_DEPTH} levels deep`)
  .describe('Free-form attributes (country, region, brand, ...)');

export const paging = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});
