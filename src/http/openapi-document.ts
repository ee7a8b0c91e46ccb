/**
 * Finishing touches on the OpenAPI document @fastify/swagger builds from the zod schemas, so that it
 * passes a strict OpenAPI 3.1 validator and reads well in generated clients.
 */

import { MAX_PARAM_LENGTH } from './plugins/error-handler.js';
import { BODY_METHODS } from './plugins/json-body.js';

type Json = Record<string, unknown>;

/** The 400s every operation may answer: a field that is not valid, and a request the HTTP layer refuses (host-header.ts). */
const INVALID_REQUEST = 'The request is not valid: the error names the field (code VALIDATION_FAILED)';
const NO_HOST = 'an HTTP/1.1 request without a Host header (code MALFORMED_REQUEST)';
/** The 400s of an operation whose method carries a body, refused before it is validated (plugins/json-body.ts). */
const BAD_BODY = 'a body that is not valid JSON (code MALFORMED_JSON) or nests deeper than MAX_JSON_DEPTH levels (code JSON_TOO_DEEP)';

/** What each status means in this API; every response of every operation is described by one of these. */
export const RESPONSE_DESCRIPTIONS: Record<string, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the job is queued; poll the URL in the Location header for its status',
  204: 'Done; no content',
  400: `${INVALID_REQUEST}; ${BAD_BODY}; ${NO_HOST}`,
  401: 'No API key, or a key that is not valid (code UNAUTHORIZED)',
  403: 'The API key lacks the scope this route needs (code FORBIDDEN)',
  404: 'Not found (code NOT_FOUND)',
  409: 'Conflicts with the current state, e.g. a job of this kind already runs (code CONFLICT or JOB_ALREADY_RUNNING)',
  413: 'The body or the batch is too large (code PAYLOAD_TOO_LARGE or BATCH_TOO_LARGE)',
  414: `A path parameter is longer than the router takes, ${MAX_PARAM_LENGTH} characters; ids are at most 256 (code URI_TOO_LONG)`,
  415: 'The body is not JSON: send it with Content-Type: application/json (code UNSUPPORTED_MEDIA_TYPE)',
  422: 'Well-formed but cannot be processed, e.g. an invalid recipe (code UNPROCESSABLE or INVALID_RECIPE)',
  429: 'Too many requests: retry after the seconds in the Retry-After header (code RATE_LIMITED)',
  503: 'Not available right now: retry after the seconds in the Retry-After header (code DEPENDENCY_UNAVAILABLE: Postgres or the model store is unreachable, or a database statement passed its time limit and was cancelled (the message says which); OVERLOADED; or SHUTTING_DOWN)',
};

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
const COMPONENT_REF = '#/components/schemas/';
const INPUT_SUFFIX = 'Input';

function eachRef(node: unknown, visit: (ref: string) => void): void {
  if (Array.isArray(node)) node.forEach((n) => eachRef(n, visit));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') visit(v);
      else eachRef(v, visit);
    }
  }
}

function mapRefs(node: unknown, rename: (ref: string) => string): unknown {
  if (Array.isArray(node)) return node.map((n) => mapRefs(n, rename));
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? rename(v) : mapRefs(v, rename)]));
}

/** Component names reachable from the paths, following references between components. */
function referencedComponents(paths: unknown, schemas: Record<string, unknown>): Set<string> {
  const seen = new Set<string>();
  const visit = (ref: string) => {
    if (!ref.startsWith(COMPONENT_REF)) return;
    const name = ref.slice(COMPONENT_REF.length);
    if (seen.has(name)) return;
    seen.add(name);
    eachRef(schemas[name], visit);
  };
  eachRef(paths, visit);
  return seen;
}

/**
 * Tidies the component schemas:
 * - drops `$id` and `$schema`: the provider sets `$id: '#/components/schemas/X'`, and a JSON Schema 2020-12
 *   `$id` may not carry a fragment, so strict validators reject every component (the document's default
 *   dialect already is the OpenAPI one);
 * - keeps only components an operation uses: the provider emits an input and an output variant of every
 *   registered schema, most of which nothing references;
 * - names an input variant `X` rather than `XInput` when no output variant `X` is used (or it is the same
 *   schema), so a request-only schema registered as `ContextRecommendationInput` is not `...InputInput`.
 */
export function tidyComponents(document: Json): Json {
  const components = (document.components ?? {}) as Json;
  const raw = (components.schemas ?? {}) as Record<string, Json>;
  const schemas = Object.fromEntries(Object.entries(raw).map(([name, { $id: _id, $schema: _schema, ...schema }]) => [name, schema]));
  const used = referencedComponents(document.paths, schemas);

  const renames = new Map<string, string>();
  const rename = (ref: string) => {
    const to = ref.startsWith(COMPONENT_REF) ? renames.get(ref.slice(COMPONENT_REF.length)) : undefined;
    return to === undefined ? ref : COMPONENT_REF + to;
  };
  const same = (a: unknown, b: unknown) => JSON.stringify(mapRefs(a, rename)) === JSON.stringify(b);
  // Until nothing changes: merging one input variant into its twin can make a variant that refers to it
  // equal to its own twin.
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of used) {
      const base = name.slice(0, -INPUT_SUFFIX.length);
      if (!name.endsWith(INPUT_SUFFIX) || renames.has(name) || (used.has(base) && !same(schemas[name], schemas[base]))) continue;
      renames.set(name, base);
      changed = true;
    }
  }
  const kept: Record<string, unknown> = {};
  for (const name of used) {
    const target = renames.get(name) ?? name;
    // An input variant merged into its (used, equal) output twin leaves the twin in place.
    if (target !== name && used.has(target)) continue;
    kept[target] = mapRefs(schemas[name], rename);
  }
  return { ...document, paths: mapRefs(document.paths, rename), components: { ...components, schemas: Object.fromEntries(Object.entries(kept).sort(([a], [b]) => (a < b ? -1 : 1))) } };
}

/** Gives each response without a description of its own the API's description of its status. */
export function describeResponses(document: Json): Json {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  for (const operations of Object.values(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!METHODS.has(method)) continue;
      for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Json>)) {
        const fallback = RESPONSE_DESCRIPTIONS[status];
        if ((response.description === undefined || response.description === 'Default Response') && fallback) response.description = fallback;
      }
    }
  }
  return document;
}

/** The 503s an operation answers beside the app-wide ones (RESPONSE_DESCRIPTIONS): their codes, added to its description. */
const OPERATION_503S: Record<string, string> = {
  eraseUser:
    'ERASURE_HELD_ELSEWHERE: another process of the service holds this erasure (it was asked again there, or the lease of this one ran out and that process took it) and completes it; its details hold { path: "erasure", recorded: true }, so it need not be sent again',
};

/** The header every 429 and 503 in the error shape carries (plugins/error-handler.ts, plugins/rate-limit.ts, plugins/load-shedding.ts). */
const RETRY_AFTER = { description: 'Seconds to wait before sending the request again', schema: { type: 'integer', minimum: 0 } };

/** Operations whose 200 is a file, not JSON: the media types they send (the route schemas can only say JSON). */
const FILE_RESPONSES: Record<string, readonly string[]> = { downloadExport: ['text/csv', 'application/x-ndjson'] };

/**
 * Whether a JSON Schema accepts null (`type: 'null'` or a list with it, `const`/`enum` null, a branch of
 * anyOf/oneOf that does, OpenAPI 3.0's `nullable`), following references to the components. A body that
 * accepts null is one a route takes without any: Fastify validates an absent body as undefined, which
 * zod's `.nullish()` (the JSON Schema's null) accepts.
 */
export function acceptsNull(schema: unknown, components: Record<string, unknown>, seen = new Set<string>()): boolean {
  if (!schema || typeof schema !== 'object') return schema === true;
  const s = schema as Json;
  if (typeof s.$ref === 'string' && s.$ref.startsWith(COMPONENT_REF)) {
    const name = s.$ref.slice(COMPONENT_REF.length);
    if (seen.has(name)) return false;
    seen.add(name);
    return acceptsNull(components[name], components, seen);
  }
  if (s.nullable === true || s.type === 'null' || (Array.isArray(s.type) && s.type.includes('null'))) return true;
  if (s.const === null || (Array.isArray(s.enum) && s.enum.includes(null))) return true;
  return [s.anyOf, s.oneOf].some((branches) => Array.isArray(branches) && branches.some((b) => acceptsNull(b, components, seen)));
}

/** The body errors of an operation that takes no body, answered when a client sends one anyway. */
const BODYLESS_DESCRIPTIONS: Record<string, string> = {
  413: 'This operation takes no body; one sent anyway is over BODY_LIMIT_BYTES (code PAYLOAD_TOO_LARGE)',
  415: 'This operation takes no body; one sent anyway is not JSON (Content-Type: application/json) (code UNSUPPORTED_MEDIA_TYPE)',
};

/**
 * What the routes' schemas cannot say themselves: a /v1 operation without query parameters answers any with
 * 400 VALIDATION_FAILED (plugins/query-free-routes.ts), listed where its schema has no 400; a 400 names the
 * body's codes only where the method carries a body; an operation
 * without a body describes its 413 and 415 as answers to a body sent anyway; a body whose schema accepts
 * null is not required; a file download's 200 is described with the media types it sends; an operation's own 503
 * codes are added to its 503's description; and every 429 and 503 in the error shape (every /v1 one, /health/serving's when shed) names its Retry-After header.
 */
export function documentRouteConventions(document: Json): Json {
  const paths = (document.paths ?? {}) as Record<string, Record<string, Json>>;
  const schemas = ((document.components as Json | undefined)?.schemas ?? {}) as Record<string, unknown>;
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!METHODS.has(method)) continue;
      const responses = (operation.responses ??= {}) as Record<string, Json>;
      const takesQuery = ((operation.parameters ?? []) as Json[]).some((p) => p.in === 'query');
      // Fastify parses the body of a POST, PUT, PATCH or DELETE whether the operation takes one or not.
      const parsesBody = BODY_METHODS.has(method.toUpperCase());
      if (path.startsWith('/v1/') && !takesQuery && !responses['400']) {
        responses['400'] = {
          description: ['A query parameter: this operation takes none (code VALIDATION_FAILED)', ...(parsesBody ? [BAD_BODY] : []), NO_HOST].join('; '),
          content: { 'application/json': { schema: { $ref: `${COMPONENT_REF}Error` } } },
        };
      } else if (!parsesBody && responses['400']?.description === RESPONSE_DESCRIPTIONS[400]) {
        // A GET's body is never read: its 400 cannot be about one.
        responses['400'] = { ...responses['400'], description: `${INVALID_REQUEST}; ${NO_HOST}` };
      }
      // An operation that takes no body still has one parsed when a client sends it (docs.ts lists 413 and
      // 415 on every POST, PUT, PATCH and DELETE): its descriptions say so, not "send it as JSON".
      if (operation.requestBody === undefined) {
        for (const [status, description] of Object.entries(BODYLESS_DESCRIPTIONS)) {
          if (responses[status]) responses[status] = { ...responses[status], description };
        }
      }
      // @fastify/swagger marks every request body required; one whose schema accepts null (zod's
      // `.nullish()`: POST /v1/training-jobs trains the default recipe without one) may be left out.
      const requestBody = operation.requestBody as { required?: boolean; content?: Record<string, { schema?: unknown }> } | undefined;
      if (requestBody?.required && Object.values(requestBody.content ?? {}).some((m) => acceptsNull(m.schema, schemas))) requestBody.required = false;
      const own503 = OPERATION_503S[operation.operationId as string];
      if (own503 && responses['503']) responses['503'] = { ...responses['503'], description: `${responses['503'].description as string}; or ${own503}` };
      // An answer in the error shape goes through the error handler, the rate limiter or load shedding, which add the
      // header: every /v1 429 and 503, and the 503 /health/serving answers when shed with the requests it speaks for
      // (SHUTTING_DOWN, OVERLOADED; not its not-ready answer). /health/ready's 503 is never in that shape: it names none.
      for (const status of ['429', '503']) {
        const response = responses[status];
        if (!response || !(path.startsWith('/v1/') || JSON.stringify(response.content ?? {}).includes(`"${COMPONENT_REF}Error"`))) continue;
        const header = path.startsWith('/v1/') ? RETRY_AFTER : { ...RETRY_AFTER, description: `${RETRY_AFTER.description} (with an answer in the error shape only)` };
        responses[status] = { ...response, headers: { 'Retry-After': header } };
      }
      const media = FILE_RESPONSES[operation.operationId as string];
      if (media && responses['200']) {
        responses['200'] = { ...responses['200'], content: Object.fromEntries(media.map((type) => [type, { schema: { type: 'string' } }])) };
      }
    }
  }
  return document;
}
