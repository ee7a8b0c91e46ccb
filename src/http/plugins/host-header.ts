import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.js';

/**
 * An HTTP/1.1 request without a Host header (RFC 9112 3.2: the server must answer 400) is refused in the
 * error shape, with the request id and the log line of every answer. Node's own refusal of it
 * (requireHostHeader, turned off in app.ts) was an empty 400 that no hook saw.
 */
export function registerHostRequired(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor >= 1 && request.headers.host === undefined) {
      throw new AppError('MALFORMED_REQUEST', 'The request has no Host header, which HTTP/1.1 requires');
    }
  });
}
