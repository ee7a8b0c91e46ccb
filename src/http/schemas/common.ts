import { INPUT_LIMITS } from '../../data/input-limits.js';
import { MAX_CURSOR_LENGTH } from '../../data/list-cursor.js';
import { parseIsoTimestamp } from '../../data/importers/field-parsers.js';
import { z } from 'zod';
import { tooFarAhead, tooFarBack } from '../../data/event-time.js';

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

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Text that Postgres stores as sent: no NUL (U+0000), which text cannot hold (let through, the first
 * statement failed with the database's own message, naming no field), and no lone surrogate (JSON
 * "\udc00"), which is not a character: Postgres would store U+FFFD instead, text the sender never sent.
 * Refused here, the 400 names the field.
 */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[^\u0000]*$/, 'must not contain the NUL character (U+0000)')
    .refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode (a lone surrogate such as \\udc00 is not a character)');

/**
 * An identifier as the shop knows it (user, item, event, order, recommendation): 1..256 characters of
 * `text` (a failed read of an id with a NUL was once logged as an error and answered as if the id were
 * unknown; one with a lone surrogate stored an id never sent).
 */
export const id = text(INPUT_LIMITS.idLength).min(1);

/** What the ingestion writes say of ids with white space at their ends (http/routes/padded-ids.ts), for their OpenAPI descriptions. */
export const NEW_ID_SPACES =
  'A new customer or product id must not begin or end with white space (spaces, tabs, no-break spaces): 400 VALIDATION_FAILED naming the field. ' +
  'The importers trim ids, so `SKU1 ` would be another product than `SKU1` imported; an id already stored with such spaces is taken as before, ' +
  "a customer's too once erased (their replayed events count as erased; reads, erasure and feedback sent with a read or frontend key take any id).";

/** What POST /v1/events says of event and order ids with white space at their ends (http/routes/padded-ids.ts). */
export const NEW_EVENT_ID_SPACES =
  'A new `eventId` or `orderId` must not begin or end with white space either (400 VALIDATION_FAILED naming the field): the importers trim ' +
  "them too, so `o-7 ` would be another order than `o-7` imported, and an event imported as `e-1` and sent as `e-1 ` would be stored twice. " +
  "An event id already stored with such spaces (a retry) is a duplicate as before, and an order id a stored purchase of the same customer carries takes more purchases; " +
  "an erased customer's event dated at or before the erasure, or under an id it deleted (a replayed batch), is counted as erased whatever its event and order ids.";

/**
 * A query parameter that may be given once. The query parser makes a repeated parameter (`k=5&k=6`) a
 * list, which the schema would refuse with "expected string, received array" (or coercion turn into NaN);
 * rather than pick one of the values, the 400 says the parameter came more than once.
 */
export const once = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value, ctx) => {
    if (!Array.isArray(value)) return value;
    ctx.addIssue({ code: 'custom', message: `given ${value.length} times; send it once` });
    return z.NEVER;
  }, schema);

/**
 * Plain decimal notation, spaces around it aside: what a storefront means by a number (not 0x10, 1e2 or
 * Infinity). Written so that no two digit runs can share a digit: the earlier /^[+-]?(\d+\.?\d*|\.\d+)$/
 * (the dot optional between `\d+` and `\d*`) tried every split of a long digit run that did not end the
 * value, quadratic in its length (15,000 digits and a letter held the event loop for a third of a second).
 */
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
/** Longest query number read (spaces included): far more than any parameter's bound needs (1e9, 3650). */
const MAX_QUERY_NUMBER_LENGTH = 64;

/**
 * A number in the query string: `schema` is a `z.coerce.number()` with its bounds and its default. Given
 * once (see `once`), at most MAX_QUERY_NUMBER_LENGTH characters, in plain decimal notation: `Number()` would read an empty `maxPrice=` (a template's
 * unset value) as 0 and empty the list without a word, and `k=0x10` as 16. The default goes inside: zod
 * leaves the default of a preprocessed schema out of the OpenAPI description.
 */
export const queryNumber = <T extends z.ZodType<number>>(schema: T) =>
  once(
    z.preprocess((value, ctx) => {
      if (typeof value !== 'string') return value;
      if (value.length > MAX_QUERY_NUMBER_LENGTH) {
        ctx.addIssue({ code: 'custom', message: `too long: ${value.length} characters, at most ${MAX_QUERY_NUMBER_LENGTH}` });
        return z.NEVER;
      }
      if (DECIMAL.test(value.trim())) return value;
      ctx.addIssue({ code: 'custom', message: value.trim() === '' ? 'empty: give a number or leave the parameter out' : `"${value.slice(0, 40)}" is not a number such as 10 or 2.5` });
      return z.NEVER;
    }, schema),
  );

/** A yes/no query parameter: true/false or 1/0, given once. */
export const queryFlag = once(z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'));

export const idParam = z.strictObject({
  id: id.describe('Identifier as the shop knows it'),
});

/** ISO 8601 date-time with an offset or Z, parsed to a Date. */
export const timestamp = z.iso
  .datetime({ offset: true, message: 'expected an ISO 8601 date-time such as 2011-12-09T12:50:00Z' })
  .transform((s) => new Date(s));

/**
 * When an event happened, read as the importers read it (parseIsoTimestamp: an offset with or without a
 * colon, `Z`, none for UTC, or a date alone), so a sender's timestamps mean the same through either path;
 * no more than a day ahead of the server's clock (see MAX_EVENT_LEAD_MS) and not before 1970 (EARLIEST_EVENT_MS).
 */
export const eventTimestamp = z
  .string()
  .transform((s, ctx) => {
    const d = parseIsoTimestamp(s);
    if (d) return d;
    ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 date-time such as 2011-12-09T12:50:00Z (an offset such as +09:00 or +0900, or none for UTC), or a date' });
    return z.NEVER;
  })
  .refine((d) => !tooFarAhead(d), { message: "more than a day ahead of the server's clock: the sender's clock or time zone is wrong" })
  .refine((d) => !tooFarBack(d), { message: 'before 1970-01-01: a default value or a wrong format, not when it happened' });

/** Most attributes one user or item may have. */
export const MAX_ATTRIBUTES = INPUT_LIMITS.attributes;
/** Highest unit price accepted; a larger one is a mistake, and 1e308 would make sums Infinity. */
export const MAX_PRICE = INPUT_LIMITS.price;

/** A unit price: finite, 0..MAX_PRICE (JSON's 1e400 parses to Infinity and is refused too). */
export const price = z.number().min(0).max(MAX_PRICE);

const attributeScalar = z.union([text(INPUT_LIMITS.attributeLength), z.number().min(-1e15).max(1e15), z.boolean(), z.null()]);

/**
 * Free-form attributes: scalars (strings up to 1,000 characters, finite numbers, booleans, null) or
 * lists of up to 100 scalars; at most MAX_ATTRIBUTES names of up to 128 characters. Nested objects
 * are refused: nothing reads them, and they would only be a place to store unbounded data.
 */
export const attributes = z
  .preprocess((value, ctx) => {
    // Counted before the values are validated: 100,000 attributes are refused at once, not after
    // checking each (seconds of CPU for a 10 MB body).
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > MAX_ATTRIBUTES) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_ATTRIBUTES} attributes` });
      return z.NEVER;
    }
    return value;
  }, z.record(text(INPUT_LIMITS.attributeNameLength).min(1), z.union([attributeScalar, z.array(attributeScalar).max(100)])))
  .meta({ maxProperties: MAX_ATTRIBUTES })
  .describe('Free-form attributes (country, region, brand, ...)');

/** `?limit&offset` of a list: a page of 1..`max` entries (default `byDefault`), after skipping `offset` in the list's order. */
const pagingOf = (byDefault: number, max: number) =>
  z.strictObject({
    limit: queryNumber(z.coerce.number().int().min(1).max(max).default(byDefault)).describe(`Entries per page (1..${max})`),
    offset: queryNumber(z.coerce.number().int().min(0).default(0)).describe("Entries to skip in the list's order (the next page)"),
  });

/** Jobs and evaluation reports: up to 100 a page, 20 by default. */
export const listPaging = pagingOf(20, 100);

/**
 * `?limit&offset|cursor` of a keyset-paged list: a page of 1..`max` entries (default `byDefault`), from
 * `offset` (default 0) or after the entry a `cursor` names (the previous page's `nextCursor`), never both
 * (`keysetQuery` refuses the pair). `offset` has no schema default, so that one sent beside a cursor, even
 * `offset=0`, is seen.
 */
export const keysetPagingOf = (byDefault: number, max: number) => ({
  limit: queryNumber(z.coerce.number().int().min(1).max(max).default(byDefault)).describe(`Entries per page (1..${max})`),
  offset: queryNumber(z.coerce.number().int().min(0).meta({ default: 0 }))
    .optional()
    .describe("Entries to skip in the list's order; entries added or removed before them meanwhile shift the pages: page with `cursor` instead"),
  cursor: once(z.string().min(1).max(MAX_CURSOR_LENGTH))
    .optional()
    .describe("The previous page's `nextCursor`, as it came: the page starts strictly after that page's last entry, so changes meanwhile neither repeat nor skip entries. Not with `offset`"),
});

/** The query of a keyset-paged list (`shape` holds `keysetPagingOf`'s fields): `offset` and `cursor` together are a 400. */
export const keysetQuery = <S extends ReturnType<typeof keysetPagingOf> & z.ZodRawShape>(shape: S) =>
  z.strictObject(shape).superRefine((q, ctx) => {
    const { offset, cursor } = q as { offset?: number; cursor?: string };
    if (offset !== undefined && cursor !== undefined) ctx.addIssue({ code: 'custom', path: ['offset'], message: 'give `offset` or `cursor`, not both' });
  });

/** `nextCursor` of a keyset-paged list. */
export const nextPageCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null when this page is the last');

/**
 * Jobs and evaluation reports, newest first: `listPaging`, and `after` to page without shifting. `cursor` is
 * `after` by the name the keyset lists (GET /v1/users, ...) give it, so a client pages every list alike; one
 * or the other, not both (cursorPage reads them). As on the keyset lists, `offset` beside `cursor` is a 400
 * (so `offset` has no schema default); beside `after` it skips entries after it, as it always has.
 */
export const cursorPaging = listPaging
  .extend({
    offset: queryNumber(z.coerce.number().int().min(0).meta({ default: 0 }))
      .optional()
      .describe("Entries to skip in the list's order (the next page); after `after`'s entry when both are given. Not with `cursor`"),
    after: once(id.max(128))
      .optional()
      .describe(
        "An entry's id (the previous page's `next`): the page starts after it in the list's order, so entries added meanwhile do not shift the pages as `offset` does",
      ),
    cursor: once(id.max(128))
      .optional()
      .describe(
        "The same as `after`, by the name the other lists (GET /v1/users, ...) page with: the previous page's `nextCursor` (equal to its `next`). Not with `after`",
      ),
  })
  .superRefine((q, ctx) => {
    if (q.after !== undefined && q.cursor !== undefined) ctx.addIssue({ code: 'custom', path: ['cursor'], message: 'give `after` or `cursor`, not both (they mean the same)' });
    if (q.offset !== undefined && q.cursor !== undefined) ctx.addIssue({ code: 'custom', path: ['offset'], message: 'give `offset` or `cursor`, not both' });
  });

/**
 * The page a `cursorPaging` query asks for: `after` from `after` or `cursor`, and `afterParam`, which of them
 * named it (the 400 of an id that is no entry of the list names that parameter).
 */
export const cursorPage = (q: { limit: number; offset?: number; after?: string; cursor?: string }) => ({
  limit: q.limit,
  offset: q.offset ?? 0,
  after: q.cursor ?? q.after,
  afterParam: q.cursor !== undefined ? ('cursor' as const) : ('after' as const),
});

/** The `after` of the next page. */
export const nextCursor = z.string().nullable().describe('Pass as `after` for the next page; null when this page is the last');

/** The `next` of a `cursorPaging` list by the name the keyset lists give it. */
export const sameNextCursor = z.string().nullable().describe('The same as `next`: pass as `cursor` (or `after`) for the next page; null when this page is the last');

/** The paging fields of a `cursorPaging` list's answer: where the next page starts and what this one was asked. */
export const cursorPagingAnswer = {
  next: nextCursor,
  nextCursor: sameNextCursor,
  limit: z.number().int(),
  offset: z.number().int(),
  after: z.string().optional(),
  cursor: z.string().optional(),
};
