import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, preParsingHookHandler, RouteOptions } from 'fastify';
import { AppError } from '../../errors.js';

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The 413 of a frontend key's body over `limit` bytes; `size` when the Content-Length told it. */
function tooLarge(limit: number, size?: number): AppError {
  const sent = size === undefined ? 'this one is larger' : `this one has ${size}`;
  return new AppError('PAYLOAD_TOO_LARGE', `A request made with a frontend key may send a body of at most ${limit} bytes (FRONTEND_BODY_LIMIT_BYTES); ${sent}`);
}

/**
 * Passes a body through while counting its bytes; fails with the 413 once they pass `limit`. Fastify's
 * body reader checks a Content-Length against `receivedEncodedLength`: the stream it reads from (a
 * compressed body's inflater) keeps telling it.
 */
class LimitedBody extends Transform {
  private received = 0;
  constructor(
    private readonly source: NodeJS.ReadableStream & { receivedEncodedLength?: number },
    private readonly limit: number,
  ) {
    super();
  }

  get receivedEncodedLength(): number {
    return this.source.receivedEncodedLength ?? this.received;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length;
    if (this.received > this.limit) return callback(tooLarge(this.limit));
    callback(null, chunk);
  }
}

/**
 * A smaller body limit for requests made with a frontend key (FRONTEND_BODY_LIMIT_BYTES) than for the
 * backends' keys (BODY_LIMIT_BYTES). The key is public: anyone may send BODY_LIMIT_BYTES (10 MB) with it,
 * which cost seconds of parsing and validation, while its largest batch (FRONTEND_MAX_BATCH_SIZE events)
 * needs a small fraction of that.
 *
 * Checked before the body is read: the key's check (auth.ts) is each scoped route's first onRequest hook,
 * so the request's scope is known in preParsing. A Content-Length over the limit is refused without
 * reading the body (and the connection closed: the rest is not read either); a body without one (chunked)
 * or a compressed one is counted as it is read, inflated (compress.ts inflates first: its hook goes before
 * the route's others), and refused once over. Attached to the routes a frontend key may call (scope
 * `frontend`) with a method that carries a body: register before the routes and after the compression plugin.
 */
export function registerFrontendBodyLimit(app: FastifyInstance, opts: { limit: number }): void {
  const { limit } = opts;
  const check: preParsingHookHandler = function frontendBodyLimit(request: FastifyRequest, reply: FastifyReply, payload, done) {
    if (request.apiScope !== 'frontend') return done(null, payload);
    const length = request.headers['content-length'];
    const size = length === undefined ? Number.NaN : Number(length);
    // A compressed body's Content-Length is not its size: its inflated bytes are counted instead.
    const encoded = request.headers['content-encoding'] !== undefined && request.headers['content-encoding'] !== 'identity';
    if (!encoded && size > limit) {
      reply.header('connection', 'close');
      return done(tooLarge(limit, size));
    }
    // A plain body of a known length: Node reads no more than the Content-Length, which is within the limit.
    if (!encoded && !Number.isNaN(size)) return done(null, payload);
    // Neither a length nor chunks: no body.
    if (Number.isNaN(size) && request.headers['transfer-encoding'] === undefined) return done(null, payload);
    // Fastify closes the connection when the body reader fails (the client may still be sending).
    const limited = new LimitedBody(payload, limit);
    payload.pipe(limited);
    payload.once('error', (err) => limited.destroy(err));
    done(null, limited);
  };
  app.addHook('onRoute', (route: RouteOptions) => {
    // Fastify reads no body on a GET or HEAD: the storefront's list requests run no check.
    if (route.config?.scope !== 'frontend' || ![route.method].flat().some((m) => BODY_METHODS.has(m))) return;
    route.preParsing = [...(route.preParsing === undefined ? [] : [route.preParsing].flat()), check];
  });
}
