import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * Opaque cursors of keyset-paged lists (`cursor` in, `nextCursor` out): base64url of a small JSON object
 * holding the last entry's sort key and id. The next page starts strictly after that entry, so entries
 * added or removed before it meanwhile do not shift the pages as `offset` does.
 */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Longest cursor read: an id of 256 characters escaped in JSON, in base64, with room for its key. */
export const MAX_CURSOR_LENGTH = 2048;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The cursor's object, checked against `schema`: anything else (not base64url, not JSON, fields missing,
 * of another list or altered) is a 400 naming `cursor`, never a value that reaches the database unchecked.
 */
export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  let value: unknown;
  if (cursor.length <= MAX_CURSOR_LENGTH && BASE64URL.test(cursor)) {
    try {
      value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      value = undefined;
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badCursor('not a cursor of this list (malformed or altered)');
  return parsed.data;
}

/** A `cursor` the list cannot page from. */
export const badCursor = (why: string) =>
  new AppError('VALIDATION_FAILED', `cursor: ${why}; pass the previous page's nextCursor as it came, or start again without it`, [
    { path: 'querystring.cursor', message: why },
  ]);

/** An entry's id in a cursor: as ids are stored (1..256 characters, no NUL, which Postgres text cannot hold). */
export const cursorId = z.string().min(1).max(256).regex(/^[^\u0000]*$/);

/** A time in a cursor: microseconds since 1970 (Postgres keeps timestamps to the microsecond; a Date to the millisecond). */
export const cursorMicros = z.number().int().min(-Number.MAX_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);

/** SQL of the timestamp `micros` microseconds after 1970: exact, where to_timestamp(float) may round. */
export const timestampOfMicros = (param: string) => `(timestamptz 'epoch' + ${param}::bigint * interval '1 microsecond')`;

/** SQL of a timestamp's microseconds since 1970, as a JS number (extract gives numeric: exact; below 2^53 until the year 2255). */
export const microsOf = (expr: string) => `(extract(epoch FROM ${expr}) * 1000000)::bigint::float8`;

/**
 * A short tag of what else a list's pages are asked with (a search's `q`, a segment): a cursor carries it, so one
 * reused with another search is refused (badCursor) rather than paging that list from a key of this one. A hash,
 * so the cursor stays short whatever the search.
 */
export const listTag = (what: string): string => createHash('sha256').update(what).digest('base64url').slice(0, 12);

export const cursorTag = z.string().length(12);
