import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, preParsingHookHandler, RouteOptions } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { feedbackEvent } from '../schemas/events.js';
import { BODY_METHODS } from './json-body.js';


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

/** `ts` has no length limit: a date-time as clients write it at its longest usual form (milliseconds, an offset). */
const LONGEST_TIMESTAMP = '2026-12-05T15:00:00.000+00:00';

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  maxLength?: number;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
}

/**
 * The bytes of one feedback event (POST /v1/feedback) as compact JSON with every field at its longest: each string
 * the schema bounds at its maxLength (ASCII), each enum at its longest value, `ts` as LONGEST_TIMESTAMP. Read from
 * the schema, so a field added or lengthened there counts here.
 */
export function longestFeedbackEventBytes(): number {
  const { properties = {} } = z.toJSONSchema(feedbackEvent, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const event: Record<string, string> = {};
  for (const [key, prop] of Object.entries(properties)) {
    const text = (prop.anyOf ?? [prop]).find((branch) => branch.type === 'string');
    if (!text) continue;
    if (text.enum) event[key] = text.enum.map(String).reduce((a, b) => (b.length > a.length ? b : a), '');
    else event[key] = text.maxLength === undefined ? LONGEST_TIMESTAMP : 'x'.repeat(text.maxLength);
  }
  return Buffer.byteLength(JSON.stringify(event));
}

/**
 * Warnings for a server's start about the frontend body limit: when the limit that applies (`config`'s
 * FRONTEND_BODY_LIMIT_BYTES, set or following the batch, at most BODY_LIMIT_BYTES) cannot hold a full frontend
 * batch (FRONTEND_MAX_BATCH_SIZE, set or its default) of feedback events at their longest fields, the batches a
 * browser may send are refused 413 by their size instead: say so, with the limit that would hold one. Unset, the
 * limit follows the batch (config.ts frontendBodyLimitFor), so only BODY_LIMIT_BYTES can cap it below one. `env`
 * tells what was set.
 */
export function frontendBodyLimitWarnings(
  config: Pick<Config, 'FRONTEND_BODY_LIMIT_BYTES' | 'BODY_LIMIT_BYTES' | 'FRONTEND_MAX_BATCH_SIZE' | 'MAX_BATCH_SIZE'>,
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  // Blank counts as unset, as loadConfig reads it.
  const setTo = (env.FRONTEND_BODY_LIMIT_BYTES ?? '').trim();
  const limit = config.FRONTEND_BODY_LIMIT_BYTES;
  const batch = Math.min(config.FRONTEND_MAX_BATCH_SIZE, config.MAX_BATCH_SIZE);
  // {"events":[e,e,...]}
  const envelope = Buffer.byteLength('{"events":[]}');
  const event = longestFeedbackEventBytes();
  const needed = envelope + batch * event + (batch - 1);
  if (needed <= limit) return [];
  const fits = Math.max(0, Math.floor((limit - envelope + 1) / (event + 1)));
  const refused = `a frontend key's batch of more than ${fits} such events gets 413 PAYLOAD_TOO_LARGE, not stored`;
  if (setTo === '') {
    return [
      `BODY_LIMIT_BYTES ${limit} caps the frontend body limit, which follows FRONTEND_MAX_BATCH_SIZE, so it cannot hold a full batch of FRONTEND_MAX_BATCH_SIZE ${batch} ` +
        `feedback events with every field at its longest (${needed} bytes of JSON, ${event} an event): ${refused}. ` +
        `Raise BODY_LIMIT_BYTES to at least ${needed}, or lower FRONTEND_MAX_BATCH_SIZE to ${fits}`,
    ];
  }
  const capped = Number(setTo) > limit ? ' (BODY_LIMIT_BYTES, which caps it)' : '';
  return [
    `FRONTEND_BODY_LIMIT_BYTES ${limit}${capped} cannot hold a full batch of FRONTEND_MAX_BATCH_SIZE ${batch} feedback events with every field at its longest ` +
      `(${needed} bytes of JSON, ${event} an event): ${refused}. ` +
      `Raise ${capped ? 'BODY_LIMIT_BYTES and ' : ''}FRONTEND_BODY_LIMIT_BYTES to at least ${needed}, or unset FRONTEND_BODY_LIMIT_BYTES: it then follows FRONTEND_MAX_BATCH_SIZE`,
  ];
}
