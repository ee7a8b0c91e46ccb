import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { specRoutes, type SpecRoute } from '../../helpers/spec-routes.js';

/**
 * Property tests: every route of the OpenAPI document gets random hostile path parameters, query
 * strings and JSON bodies with an admin key (so auth is not what stops them). Whatever arrives, the
 * answer is a 2xx (the input happened to be valid) or a 4xx in the error shape, never a 5xx; and a
 * rejected request leaves every table of the test's schema as it was.
 *
 * Bodies are JSON text, not objects, so they can hold what JSON.stringify cannot write: numbers
 * beyond double range, `__proto__` as an own key, nesting deeper than a stack. They follow the route's
 * body schema part of the time (real field names, values of about the right type), so validation is
 * passed often enough to reach the use cases and the database.
 */
type Json = Record<string, unknown>;
const NUM_RUNS = 25;

const { routes, components } = await specRoutes();

const NASTY_STRINGS = [
  '', ' ', '\u0000', 'a\u0000b', 'NaN', 'Infinity', '-Infinity', '1e309', '-1', '0x1F', '1_000', '__proto__', 'constructor', 'prototype',
  '[object Object]', 'null', 'undefined', 'true', '%00', '../../etc/passwd', "'; DROP TABLE items; --", '\uFEFF', '\u202E\u0645\u0631', '𝕏🛒👩‍👩‍👧',
  '2011-13-45T25:61:00Z', '0000-00-00', 'country:', ':France', 'a:b:c', '9'.repeat(400),
];
const NASTY_NUMBERS = ['1e308', '-1e308', '1e400', '-1e400', '-0', '0', '5e-324', '0.1', '9007199254740993', '123456789012345678901234567890', '-1', '1', '2', '100', '101', '1000001'];
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\u0000', 'k[]', 'a.b', '$where'];

const hostileString = fc.oneof(
  fc.constantFrom(...NASTY_STRINGS),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 200, maxLength: 2000 }),
  fc.integer({ min: 10_000, max: 300_000 }).map((n) => 'x'.repeat(n)),
);
const str = (a: fc.Arbitrary<string>) => a.map((s) => JSON.stringify(s));
const hostileNumber = fc.oneof(fc.constantFrom(...NASTY_NUMBERS), fc.double().filter(Number.isFinite).map(String), fc.integer().map(String));
const objectText = (entries: [string, string][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/** Nesting deeper than any schema expects: arrays or objects, up to tens of thousands of levels. */
const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 50_000 }), fc.boolean())
  .map(([depth, arrays]) => (arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)));

/** Any JSON text, leaning on values that trip parsers, coercions and databases. */
const hostileJson: fc.Arbitrary<string> = fc.letrec<{ json: string; array: string; object: string }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('null', 'true', 'false', '{}', '[]'),
    hostileNumber,
    str(hostileString),
    tie('array'),
    tie('object'),
    deepNesting,
  ),
  array: fc.array(tie('json'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
  object: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 10 })), tie('json')), { maxLength: 4 }).map(objectText),
})).json;

function resolve(schema: Json | undefined): Json {
  let s = schema ?? {};
  while (typeof s.$ref === 'string') s = components[s.$ref.replace('#/components/schemas/', '')] ?? {};
  return s;
}

/** Plausible values of a string field, so some requests pass validation. */
const PLAUSIBLE_STRINGS = ['x1', 'u1', 'item-2', '2011-12-09T12:50:00Z', '2011-11-01', 'country:France', 'hybrid', 'content', 'generic', 'temporal', 'champions', 'segment', 'purchase'];

function plausibleString(s: Json): fc.Arbitrary<string> {
  if (s.format === 'date-time') return fc.constantFrom('2011-12-09T12:50:00Z', '2011-01-01T00:00:00.000+01:00');
  if (s.format === 'date') return fc.constant('2011-11-01');
  const pattern = typeof s.pattern === 'string' ? new RegExp(s.pattern, 'u') : undefined;
  const fits = PLAUSIBLE_STRINGS.filter((v) => (!pattern || pattern.test(v)) && v.length >= Number(s.minLength ?? 0) && v.length <= Number(s.maxLength ?? Infinity));
  return fc.constantFrom(...(fits.length ? fits : PLAUSIBLE_STRINGS));
}

function plausibleNumber(s: Json): fc.Arbitrary<string> {
  const min = Math.max(Number(s.minimum ?? s.exclusiveMinimum ?? 0), -1e6);
  const max = Math.min(Number(s.maximum ?? s.exclusiveMaximum ?? 20), min + 20);
  return s.type === 'integer' ? fc.integer({ min: Math.ceil(min) + 1, max: Math.max(Math.ceil(min) + 1, Math.floor(max)) }).map(String) : fc.double({ min, max, noNaN: true }).map(String);
}

/**
 * JSON text shaped by `schema`: real field names and values of the right type, with each value
 * replaced by a hostile one with odds hostile:typed (so 1:20 mostly mutates one field of a valid body,
 * 1:1 garbles most of it).
 */
function guided(schema: Json | undefined, hostile: number, typedWeight: number, depth = 0): fc.Arbitrary<string> {
  const s = resolve(schema);
  if (depth > 4) return hostileJson;
  const alts: fc.WeightedArbitrary<string>[] = [];
  const typed = (arbitrary: fc.Arbitrary<string>) => alts.push({ weight: typedWeight, arbitrary });
  const inner = (sub: Json | undefined) => guided(sub, hostile, typedWeight, depth + 1);
  for (const sub of [...((s.anyOf as Json[]) ?? []), ...((s.oneOf as Json[]) ?? [])]) typed(inner(sub));
  if (s.const !== undefined) typed(fc.constant(JSON.stringify(s.const)));
  if (Array.isArray(s.enum)) typed(fc.constantFrom(...s.enum.map((v) => JSON.stringify(v))));
  switch (s.type) {
    case 'object': {
      const required = new Set((s.required as string[]) ?? []);
      const props = Object.entries((s.properties as Record<string, Json>) ?? {});
      const entry = (name: string, prop: Json) =>
        required.has(name)
          ? inner(prop).map((v) => [[name, v] as [string, string]])
          : fc.option(inner(prop), { nil: undefined, freq: 2 }).map((v) => (v === undefined ? [] : [[name, v] as [string, string]]));
      const known = props.length ? fc.tuple(...props.map(([name, prop]) => entry(name, prop))).map((xs) => xs.flat()) : fc.constant([] as [string, string][]);
      const extra = fc.array(fc.tuple(fc.constantFrom(...NASTY_KEYS), hostileJson), { minLength: 1, maxLength: 2 });
      const none = fc.constant([] as [string, string][]);
      typed(fc.tuple(known, fc.oneof({ weight: typedWeight, arbitrary: none }, { weight: hostile, arbitrary: extra })).map(([a, b]) => objectText([...a, ...b])));
      break;
    }
    case 'array':
      typed(fc.array(inner(s.items as Json), { minLength: Math.min(1, Number(s.maxItems ?? 1)), maxLength: 3 }).map((xs) => `[${xs.join(',')}]`));
      break;
    case 'string':
      typed(str(plausibleString(s)));
      break;
    case 'number':
    case 'integer':
      typed(plausibleNumber(s));
      break;
    case 'boolean':
      typed(fc.constantFrom('true', 'false'));
      break;
  }
  if (alts.length === 0) typed(hostileJson);
  return fc.oneof({ weight: hostile, arbitrary: hostileJson }, ...alts);
}

/** A path parameter: hostile text URL-encoded, or raw percent sequences that do not decode. */
const pathValue = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('x1', 'u1', 'champions') },
  { weight: 2, arbitrary: hostileString.map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom('%E0%A4%A', '%', '%zz', '%00', '..%2F..%2F', '%C0%AE') },
);

/** Query values are text: plausible, numeric-looking or hostile. */
const queryValue = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...PLAUSIBLE_STRINGS, 'true', '0', '1', '0.5', '10', '100', '1000') }, hostileNumber, hostileString);

function requestFor(route: SpecRoute) {
  const names = route.parameters.filter((p) => p.in === 'query').map((p) => p.name);
  const queryKey = fc.oneof(
    { weight: names.length ? 6 : 0, arbitrary: names.length ? fc.constantFrom(...names) : fc.constant('k') },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY_KEYS, '__proto__[x]', 'k[0]') },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );
  const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((pairs) => new URLSearchParams(pairs).toString());
  const pathParams = fc.array(pathValue, { minLength: 3, maxLength: 3 });
  const takesBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
  const body = takesBody
    ? fc.oneof(
        { weight: 3, arbitrary: guided(route.body, 1, 20) },
        { weight: 3, arbitrary: guided(route.body, 1, 1) },
        { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
      )
    : fc.constant(undefined);
  return fc.record({ query, pathParams, body }).map(({ query, pathParams, body }) => {
    let i = 0;
    const path = route.path.replace(/\{[^}]+\}/g, () => pathParams[i++ % pathParams.length]!);
    return { url: query ? `${path}?${query}` : path, body };
  });
}

describe('hostile input to every route of the spec', () => {
  let t: TestApp;
  let tables: string[] = [];
  let fingerprint = '';

  /**
   * A fingerprint of every table of the test's schema: row count and a digest of the rows, per table. One statement
   * for all the tables (a round trip each made this file's time: two snapshots of every table for each of ~1,300 runs).
   */
  const snapshot = async () => {
    const { rows } = await t.services.db.query<{ name: string; n: number; digest: string }>(fingerprint);
    return Object.fromEntries(rows.map(({ name, n, digest }) => [name, { n, digest }]));
  };

  beforeAll(async () => {
    const usePostgres = await serviceAvailable(POSTGRES_URL);
    // JOB_RUNNER=worker: an accepted job stays queued rather than running during the test.
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb, env: { JOB_RUNNER: 'worker' } });
    const { rows } = await t.services.db.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    // erasure_requests_settled is the erasures' change log, not what a request stores: every erasure, a never-known
    // id's too (404: the store is scrubbed anyway), is recorded as asked and then settled, and the settled id is what
    // the other processes read to take it off their owed lists (migration 037; dropped after a day).
    tables = rows.map((r) => r.name).filter((name) => name !== 'erasure_requests_settled');
    fingerprint = tables
      .map((table) => `SELECT '${table}' AS name, count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM "${table}" t`)
      .join(' UNION ALL ');
  });
  afterAll(() => t?.dispose());

  it('When the spec is read, Then it lists the routes and the test schema its tables', () => {
    expect(routes.length).toBeGreaterThan(25);
    expect(tables).toEqual(expect.arrayContaining(['items', 'users', 'purchase_events', 'feedback_events', 'jobs']));
  });

  it('When attributes nest thousands of levels deep, Then 400 JSON_TOO_DEEP before parsing and nothing is stored; nested attribute objects are refused too', async () => {
    const nested = (depth: number) => `{"attributes":{"a":${'{"a":'.repeat(depth - 1)}1${'}'.repeat(depth - 1)}}}`;
    const put = (url: string, payload: string) => t.app.inject({ method: 'PUT', url, headers: { ...auth('admin'), 'content-type': 'application/json' }, payload });
    const before = await snapshot();
    for (const url of ['/v1/users/deep-user', '/v1/items/deep-item']) {
      const res = await put(url, nested(5000));
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'JSON_TOO_DEEP' });
      const shallow = await put(url, nested(3));
      expect(shallow.statusCode, shallow.body).toBe(400);
      expect(shallow.json().error.code).toBe('VALIDATION_FAILED');
      expect(shallow.json().error.details[0].path).toMatch(/^body\.attributes/);
    }
    expect(await snapshot()).toEqual(before);
    expect((await put('/v1/users/deep-user', '{"attributes":{"a":"flat"}}')).statusCode).toBe(200);
  });

  for (const route of routes) {
    it(`When ${route.method} ${route.path} (${route.operationId}) gets hostile input, Then it answers 2xx or a 4xx in the error shape and a rejection stores nothing`, async () => {
      // The tables as a rejection left them (checked equal to before it), so the next run need not read them again;
      // a 2xx may have changed them, and the next run reads them afresh.
      let unchanged: Awaited<ReturnType<typeof snapshot>> | undefined;
      await fc.assert(
        fc.asyncProperty(requestFor(route), async ({ url, body }) => {
          const before = unchanged ?? (await snapshot());
          unchanged = undefined;
          const res = await t.app.inject({
            method: route.method,
            url,
            headers: { ...auth('admin'), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            payload: body,
          });
          const what = `${route.method} ${url.slice(0, 200)} ${String(body).slice(0, 200)} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
          expect(res.statusCode, what).toBeLessThan(500);
          if (res.statusCode >= 400) {
            const error = (res.json() as { error?: { code?: unknown; message?: unknown } }).error;
            expect(typeof error?.code, what).toBe('string');
            expect(typeof error?.message, what).toBe('string');
            const after = await snapshot();
            expect(after, what).toEqual(before);
            unchanged = after;
          }
        }),
        { numRuns: NUM_RUNS },
      );
    }, 60_000);
  }
});
