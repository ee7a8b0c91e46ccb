import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, dependencyFailure, ERRORS, RETRY_AFTER_SECONDS, transactionConflict, type ErrorCode } from '../../errors.js';
import { corsHeadersFor, isPreflight, preflightHeadersFor } from './cors.js';
import { loggableUrl, logAnswered, requestId } from './request-log.js';
import { API_SECURITY_HEADERS } from './security-headers.js';

/**
 * The router's longest path parameter (app.ts). Ids are at most 256 characters (the schemas' limit; a
 * longer one is a 400 naming the field); past this the router answers 414 URI_TOO_LONG without matching.
 */
export const MAX_PARAM_LENGTH = 512;

interface Issue {
  path: string;
  message: string;
}

/**
 * The most issues a validation error lists; one more then says how many were left out. A body of
 * 100 events each wrong in every field, or of 600,000 unknown keys, was answered with every issue (a
 * 7.7 MB error for a 7 MB body): the first ones tell the sender what to fix.
 */
export const MAX_LISTED_ISSUES = 20;
/** The most unknown keys one issue names ("Unrecognized keys: ..."), and how long a quoted key, a path or a message may be. */
const MAX_NAMED_KEYS = 10;
const MAX_KEY_CHARS = 64;
const MAX_PATH_CHARS = 300;
const MAX_MESSAGE_CHARS = 1000;

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

/** A zod issue as a union's alternatives hold it (not wrapped as a validation error). */
interface ZodIssue {
  code?: string;
  path?: PropertyKey[];
  message?: string;
  keys?: unknown;
  errors?: unknown;
  issues?: { message?: string }[];
}

/** What one raw issue says: zod's message, with the names of unknown keys and nested key issues made readable and short. */
function issueMessage(v: { keyword?: string; message?: string; params?: { keys?: unknown; errors?: unknown; issue?: { keys?: unknown; errors?: unknown }; issues?: { message?: string }[] } }): string {
  // A union whose one alternative of the value's kind failed inside it, nested in another's issue: its issues,
  // each with its field (a union at the top level is split into one issue per field instead: validationIssues).
  const inner = v.keyword === 'invalid_union' ? deeperAlternative(v.params?.errors ?? v.params?.issue?.errors) : undefined;
  if (inner) return inner.map((i) => `${i.path!.map(String).join('.') || '(the object)'}: ${zodIssueMessage(i)}`).join('; ');
  // A record's key (an attribute's name) that fails its schema: zod says only "Invalid key in record";
  // what is wrong with the name is in the nested issues.
  const keyIssues = v.keyword === 'invalid_key' ? (v.params?.issues ?? []).map((i) => i.message).filter((m): m is string => Boolean(m)) : [];
  if (keyIssues.length > 0) return `the name: ${keyIssues.join('; ')}`;
  // zod names every unknown key (600,000 of them in one message); the first few say what is wrong.
  const keys = v.params?.keys ?? v.params?.issue?.keys;
  if (v.keyword === 'unrecognized_keys' && Array.isArray(keys) && (keys.length > MAX_NAMED_KEYS || keys.some((k) => String(k).length > MAX_KEY_CHARS))) {
    const named = keys.slice(0, MAX_NAMED_KEYS).map((k) => JSON.stringify(clip(String(k), MAX_KEY_CHARS)));
    const more = keys.length - named.length;
    return `Unrecognized key${keys.length === 1 ? '' : 's'}: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
  }
  return v.message ?? 'invalid';
}

const zodIssueMessage = (i: ZodIssue) => issueMessage({ keyword: i.code, message: i.message, params: { keys: i.keys, errors: i.errors, issues: i.issues } });

/**
 * The issues of the one union alternative the value is of the kind of (an object for `tune`: true, false or a
 * spec), which failed only inside it: its fields (non-empty paths) and its unknown keys. zod says only "Invalid
 * input" of the union; these say what to fix. Undefined when no alternative or several are of the value's kind.
 */
function deeperAlternative(errors: unknown): ZodIssue[] | undefined {
  if (!Array.isArray(errors)) return undefined;
  const inside = (i: ZodIssue) => Array.isArray(i?.path) && (i.path.length > 0 || i.code === 'unrecognized_keys');
  const deeper = errors.filter((branch): branch is ZodIssue[] => Array.isArray(branch) && branch.length > 0 && branch.every(inside));
  return deeper.length === 1 ? deeper[0] : undefined;
}

/**
 * Flattens schema-validation issues to `{ path, message }` with the request part as the path's head: at
 * most MAX_LISTED_ISSUES of them, then one saying how many more there are. A union's issue whose one
 * alternative of the value's kind failed inside (deeperAlternative) is that alternative's issues, each at its
 * field's path (`body.tune.keepRule`, and `body.tune` for its unknown keys), not one "Invalid input".
 */
function validationIssues(err: FastifyError & { validation?: unknown[]; validationContext?: string }): Issue[] {
  const context = err.validationContext ?? 'request';
  const all = err.validation ?? [];
  const at = (path: string) => clip(path ? `${context}.${path}` : context, MAX_PATH_CHARS);
  const expanded = all.slice(0, MAX_LISTED_ISSUES).flatMap((raw): Issue[] => {
    const v = raw as { keyword?: string; instancePath?: string; message?: string; params?: { issue?: { path?: PropertyKey[]; keys?: unknown; errors?: unknown }; keys?: unknown; errors?: unknown; issues?: { message?: string }[] } };
    const path = v.params?.issue?.path?.map(String).join('.') ?? (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const inner = v.keyword === 'invalid_union' ? deeperAlternative(v.params?.errors ?? v.params?.issue?.errors) : undefined;
    if (inner) return inner.map((i) => ({ path: at([path, ...i.path!.map(String)].filter(Boolean).join('.')), message: clip(zodIssueMessage(i), MAX_MESSAGE_CHARS) }));
    return [{ path: at(path), message: clip(issueMessage(v), MAX_MESSAGE_CHARS) }];
  });
  const issues = expanded.slice(0, MAX_LISTED_ISSUES);
  const more = all.length - Math.min(all.length, MAX_LISTED_ISSUES) + expanded.length - issues.length;
  if (more > 0) issues.push({ path: context, message: `and ${more} more issue${more === 1 ? '' : 's'}, not listed (the first ${MAX_LISTED_ISSUES} are)` });
  return issues;
}

const BY_FASTIFY_CODE: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
};

const BY_STATUS: Record<number, ErrorCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'UNAVAILABLE',
};

/**
 * Methods a route of the API may have, for the Allow header of a 405. OPTIONS is not one: with CORS on,
 * @fastify/cors's wildcard OPTIONS route matches every path, and a non-preflight OPTIONS is itself a 405.
 */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A Postgres (pg or PGlite) error of SQLSTATE class 22, "data exception". */
function isDataException(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown };
  return err instanceof Error && typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code) && typeof e.severity === 'string';
}

/** What a router error says: never the URL itself, which Fastify's messages quote whole (5 KB for a 5,000-character id). */
function frameworkMessage(err: FastifyError, request: FastifyRequest): string {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return `A path parameter is longer than ${MAX_PARAM_LENGTH} characters (ids are at most 256); the URL has ${request.url.length}`;
  if (err.code === 'FST_ERR_BAD_URL') return 'The URL is not valid: a percent-encoded sequence does not decode to UTF-8, or it is not a path';
  return err.message;
}

/**
 * Errors Fastify raises before routing (bad percent-encoding, a too-long path parameter), in our shape.
 * No hook runs for such a request (Fastify answers it from a context without any), so what the
 * app-wide hooks give every answer is given here: the request id, the security headers, the log line,
 * and for an origin of `corsOrigins` the CORS headers (@fastify/cors works only as a hook), so a
 * storefront script reads the 414 instead of a network error.
 */
export function frameworkError(err: FastifyError, request: FastifyRequest, reply: FastifyReply, corsOrigins: readonly string[] = []) {
  // A listed origin's preflight gets the CORS plugin's answer, as on any path: refusing it would make the
  // storefront's call a network error, where the request it clears gets this refusal, which it can read.
  const preflight = request.method === 'OPTIONS' && isPreflight(request) ? preflightHeadersFor(corsOrigins, request.headers.origin) : undefined;
  if (preflight) {
    reply.code(204).header('x-request-id', request.id).headers(API_SECURITY_HEADERS).headers(preflight).header('cache-control', 'no-store').header('content-length', '0').send();
    logAnswered(request, reply);
    return reply;
  }
  const status = err.statusCode ?? 400;
  const code: ErrorCode = BY_STATUS[status] ?? 'VALIDATION_FAILED';
  reply
    .code(ERRORS[code].status)
    .header('x-request-id', request.id)
    .headers(API_SECURITY_HEADERS)
    .headers(corsHeadersFor(corsOrigins, request.headers.origin))
    // As every /v1 answer (a 414 is cacheable by default, RFC 9110).
    .header('cache-control', 'no-store')
    .send({ error: { code, message: frameworkMessage(err, request) } });
  logAnswered(request, reply);
  return reply;
}

/** Which catalogue entry a connection-level error (before Fastify sees a request) is. */
function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  return 'MALFORMED_REQUEST';
}

const headerLines = (headers: Record<string, string>) =>
  Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
const SECURITY_HEADER_LINES = headerLines(API_SECURITY_HEADERS);

/** What the CORS answer to a refused request head depends on: its method, Origin, and whether it asks as a preflight. */
interface RefusedHead {
  method?: string;
  origin?: string;
  /** An Access-Control-Request-Method line was there. */
  asksMethod: boolean;
}

/**
 * The request line's method and the CORS lines among the bytes the parser refused (Node gives them as
 * `rawPacket` for its own parse errors: the chunk it was reading, which holds a browser's whole request
 * head up to 64 KiB). Only compared with the listed origins and with OPTIONS, never echoed otherwise.
 */
function refusedHead(rawPacket: unknown): RefusedHead {
  const found: RefusedHead = { asksMethod: false };
  if (!Buffer.isBuffer(rawPacket)) return found;
  const head = rawPacket.toString('latin1');
  const end = head.indexOf('\r\n\r\n');
  // Line by line, not one pattern: these are anyone's bytes, and a pattern with overlapping runs of
  // blanks took cubic time on a long line of them (seconds of a blocked event loop for 2 KB). The last
  // line is left out when the head did not end: it may be cut short.
  const lines = (end === -1 ? head : head.slice(0, end)).split('\r\n');
  if (end === -1) lines.pop();
  if (lines.length > 0) found.method = lines[0].slice(0, Math.max(0, lines[0].indexOf(' ')));
  for (let k = 1; k < lines.length; k++) {
    const name = lines[k].slice(0, lines[k].indexOf(':') + 1).toLowerCase();
    if (name === 'origin:' && found.origin === undefined) found.origin = lines[k].slice(7).trim();
    if (name === 'access-control-request-method:') found.asksMethod = true;
  }
  return found;
}

/**
 * Errors Node's HTTP parser raises before there is a request (headers over the size limit, a request
 * that never finished, bytes that are not HTTP): Fastify's own answer is in another shape, so this one
 * writes ours on the raw socket and closes it, as Fastify does. Fastify calls it bound to the app.
 *
 * There are no parsed headers (they are what failed): the answer gets a new request id, logged with the
 * status so a client reporting it can be found, and the security headers. The CORS headers of an origin
 * of `corsOrigins` when its Origin line is among the refused bytes (a 431, a 400), so a storefront script
 * reads the refusal instead of a network error; a request that timed out (408) has none to read. A
 * listed origin's preflight among them (a URL over the parser's 16 KB makes the preflight a 431 too) gets
 * the CORS plugin's 204 instead: refused, it would stop the browser from sending the request whose
 * refusal its script can read.
 */
export function clientErrorHandler(corsOrigins: readonly string[] = []) {
  return function answerClientError(this: FastifyInstance, err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const reqId = randomUUID();
    const head = corsOrigins.length > 0 ? refusedHead(err.rawPacket) : { asksMethod: false };
    const preflight = head.method === 'OPTIONS' && head.asksMethod ? preflightHeadersFor(corsOrigins, head.origin) : undefined;
    if (preflight) {
      if (socket.writable) {
        socket.write(`HTTP/1.1 204 ${STATUS_CODES[204]}\r\nContent-Length: 0\r\nX-Request-Id: ${reqId}\r\n${SECURITY_HEADER_LINES}${headerLines(preflight)}Cache-Control: no-store\r\nConnection: close\r\n\r\n`);
      }
      this.log.info({ reqId, status: 204, parserError: err.code }, 'preflight answered, its request refused by the parser');
      socket.destroy();
      return;
    }
    const code = clientErrorCode(err);
    const { status, message } = ERRORS[code];
    const body = JSON.stringify({ error: { code, message } });
    const cors = corsOrigins.length > 0 ? headerLines(corsHeadersFor(corsOrigins, head.origin)) : '';
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${reqId}\r\n${SECURITY_HEADER_LINES}${cors}Connection: close\r\n\r\n${body}`,
      );
    }
    this.log.info({ reqId, status, parserError: err.code }, 'request refused before parsing');
    socket.destroy();
  };
}

/**
 * CONNECT (a proxy tunnel): Node hands it to the server's 'connect' listeners instead of a request, and
 * with none closes the connection without a word. This is no proxy: the answer is a 405 in the error
 * shape, with a request id, the security headers and a log line, and the connection is closed (its
 * bytes after the head would be the tunnel's). A browser cannot send CONNECT, so no CORS headers.
 */
export function refuseConnect(app: FastifyInstance): void {
  app.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const reqId = randomUUID();
    const body = JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: 'CONNECT is not supported: this service is not a proxy' } });
    socket.on('error', () => socket.destroy());
    socket.end(
      `HTTP/1.1 405 ${STATUS_CODES[405]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${reqId}\r\n${SECURITY_HEADER_LINES}Connection: close\r\n\r\n${body}`,
    );
    // A client that never reads its answer does not hold the socket: the server's timeouts no longer apply to it.
    setTimeout(() => socket.destroy(), 5_000).unref();
    app.log.info({ reqId, status: 405, method: 'CONNECT', url: req.url?.slice(0, 200) }, 'CONNECT refused');
  });
}

/**
 * An `Expect` header other than 100-continue (RFC 9110 10.1.1): Node hands such a request to the server's
 * 'checkExpectation' listeners instead of the app, and with none answers a bare 417 itself (no body, no
 * request id, no log line). This listener gives the 417 what other refusals outside routes have: the
 * error shape (EXPECTATION_FAILED), the request id (the caller's sane X-Request-Id, else a new one), the
 * security headers, an allowed origin's CORS headers and a log line. The body is not read: the
 * connection is closed after the answer.
 */
export function refuseExpectation(app: FastifyInstance, corsOrigins: readonly string[] = []): void {
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const reqId = requestId(req);
    const expect = String(req.headers.expect ?? '').slice(0, 100);
    const body = JSON.stringify({
      error: { code: 'EXPECTATION_FAILED', message: `Expect: ${expect} cannot be met: this server meets only 100-continue; send the request without it` },
    });
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
    res.writeHead(417, {
      ...API_SECURITY_HEADERS,
      ...corsHeadersFor(corsOrigins, origin),
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-request-id': reqId,
      'cache-control': 'no-store',
      connection: 'close',
    });
    res.end(body);
    app.log.info({ reqId, method: req.method, url: loggableUrl(req.url ?? ''), status: 417, ms: Math.round((performance.now() - started) * 10) / 10, expect }, 'request');
  });
}

/** At most one 'dependency unavailable' warning per failure code in this period. */
const DEPENDENCY_WARNING_MS = 10_000;

/**
 * Maps every error to `{ error: { code, message, details? } }`. Client errors say what is wrong;
 * server errors are logged with their stack and answered without internals.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  // Per cause code: when its warning was last written and how many refusals went unwritten since.
  const warned = new Map<string, { at: number; skipped: number }>();
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const unavailable = dependencyFailure(err);
    if (unavailable) {
      // Postgres or Redis is down: the request may succeed as it is once it is back (writes are idempotent).
      // A short line without the stack (a stack was 1.2 KB), naming the store's failure in the message and
      // code, at most once per DEPENDENCY_WARNING_MS per code with how many were left out: during an
      // outage every request is refused, and each has its own request line with status 503 anyway.
      const key = String(err.code ?? err.message);
      const last = warned.get(key);
      const now = performance.now();
      // A transaction rolled back in a conflict is no outage: a lock-order bug of our own would deadlock at
      // every try, so each is logged as an error with its stack, for someone to read.
      if (transactionConflict(err)) request.log.error({ err }, 'transaction rolled back in a conflict with another (deadlock or serialization failure)');
      else if (!last || now - last.at >= DEPENDENCY_WARNING_MS) {
        warned.set(key, { at: now, skipped: 0 });
        request.log.warn({ cause: err.message, code: err.code, ...(last?.skipped ? { skippedSinceLast: last.skipped } : {}) }, 'dependency unavailable');
      } else last.skipped++;
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: { code: unavailable.code, message: unavailable.message, details: unavailable.details } });
    }
    if (err instanceof AppError) {
      // A 503 says when to retry (the API's 503s do: docs), e.g. an erasure given up as the server closed (SHUTTING_DOWN).
      if (err.status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reply.code(err.status).send({ error: { code: err.code, message: err.message, details: err.details } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const details = validationIssues(err);
      const first = details[0];
      const message = first ? `${first.path}: ${first.message}` : ERRORS.VALIDATION_FAILED.message;
      return reply.code(400).send({ error: { code: 'VALIDATION_FAILED', message, details } });
    }
    if (isDataException(err)) {
      // Postgres class 22 (data exception): a value the client sent cannot be stored, e.g. a NUL
      // character in a text field. Nothing was written: the statement failed.
      return reply.code(400).send({ error: { code: 'VALIDATION_FAILED', message: `A value the request sent is not valid text or data for the database: ${err.message}` } });
    }
    const status = err.statusCode ?? 500;
    const mapped = BY_FASTIFY_CODE[err.code] ?? (err instanceof SyntaxError && status === 400 ? 'MALFORMED_JSON' : BY_STATUS[status]);
    if (mapped === 'UNSUPPORTED_MEDIA_TYPE') {
      // Fastify says only "Unsupported Media Type": a browser's fetch with a string body and no header sends text/plain.
      const sent = request.headers['content-type'] ?? 'none';
      return reply.code(415).send({ error: { code: mapped, message: `send the body as JSON with Content-Type: application/json (got ${sent.slice(0, 100)})` } });
    }
    if (status < 500 && mapped) {
      return reply.code(ERRORS[mapped].status).send({ error: { code: mapped, message: err.message || ERRORS[mapped].message } });
    }
    if (status === 503) {
      request.log.warn({ err }, 'unavailable');
      return reply
        .code(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ error: { code: 'UNAVAILABLE', message: ERRORS.UNAVAILABLE.message } });
    }
    request.log.error({ err }, 'unhandled error');
    return reply.code(500).send({ error: { code: 'INTERNAL', message: ERRORS.INTERNAL.message } });
  });

  // Unknown routes answer in the same shape. A path that exists with other methods (PATCH on a user) is a
  // 405 with Allow (RFC 9110 15.5.6), not a 404 that sends the client looking for a typo in the path:
  // the paths are public anyway (/docs/json), and this handler is rate-limited per IP like any request.
  // When the request's own method has a route (a handler that called callNotFound, such as a missing
  // static file under /docs), the answer stays 404.
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = ROUTE_METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      const allow = allowed.join(', ');
      return reply.code(405).header('allow', allow).send({ error: { code: 'METHOD_NOT_ALLOWED', message: `${request.method} is not allowed on ${path}; allowed: ${allow}` } });
    }
    return reply.code(404).send({ error: { code: 'ROUTE_NOT_FOUND', message: `No route ${request.method} ${path}` } });
  });
}
