import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** An incoming id is kept only when it is short and plain: it goes into logs and a response header. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is sane (a load balancer or frontend that
 * made one can follow its call through our logs), else a new UUID (unique across replicas, unlike
 * Fastify's per-process counter).
 */
export function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Echoes the request id in every response (errors included) and writes one log line per request, when
 * it is answered: method, URL, status and time. Fastify's own request logging (a line on arrival and
 * one on completion) is turned off in app.ts (`logController`). The logger binds `reqId` itself.
 */
export function registerRequestLog(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    logAnswered(request, reply);
    done();
  });
}

/** The one line of an answered request: method, URL, status and time (also written for answers no hook sees, error-handler.ts). */
export function logAnswered(request: FastifyRequest, reply: FastifyReply): void {
  // The URL's redaction costs about 0.5 µs: not paid on every answer when the line is not written (LOG_LEVEL=warn).
  if ((request.log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') === false) return;
  request.log.info({ method: request.method, url: loggableUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
}

/**
 * Names of query parameters that carry credentials when a client puts them in the URL (`?api_key=`,
 * `?token=`, `?x-api-key=`, the API's own header names, `?client_secret=`): the service reads keys from
 * headers only and refuses such a query, but the URL would still be logged. A name counts when, read
 * case-insensitively and percent-decoded, it is or ends in key, token, secret, password or auth(orization),
 * with or without an `x-`/`x_` prefix: a list of exact names always misses the next spelling.
 */
const SECRET_NAME = /(?:key|token|secret|passw(?:or)?d|auth(?:orization)?)(?:\[\])?$/i;

/** A query parameter's name as the query parser reads it (`+` is a space; bad escapes kept as they are). */
function paramName(raw: string): string {
  const name = raw.replaceAll('+', ' ');
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/** The URL as logged: values of credential-like query parameters replaced by `[redacted]`. */
export function loggableUrl(url: string): string {
  const query = url.indexOf('?');
  if (query < 0) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      return eq > 0 && SECRET_NAME.test(paramName(param.slice(0, eq)).trim()) ? `${param.slice(0, eq)}=[redacted]` : param;
    });
  return `${url.slice(0, query + 1)}${params.join('&')}`;
}
