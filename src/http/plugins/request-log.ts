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
  request.log.info({ method: request.method, url: loggableUrl(request.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
}

/**
 * Query parameters that carry credentials when a client puts them in the URL (`?api_key=`, `?token=`):
 * the service reads keys from headers only and refuses such a query, but the URL would still be logged.
 */
const SECRET_PARAMS = /([?&](?:api[_-]?key|key|(?:access[_-]?|user[_-]?|x-user-)?token|secret|password|auth(?:orization)?)=)[^&#]*/gi;

/** The URL as logged: values of credential-like query parameters replaced by `[redacted]`. */
export function loggableUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_PARAMS, '$1[redacted]') : url;
}
