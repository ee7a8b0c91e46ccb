import { createHash, timingSafeEqual } from 'node:crypto';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { backgroundLog } from '../../background-log.js';
import { AppError } from '../../errors.js';
import { presentedKey } from './auth.js';
import { clientNetwork } from './client-network.js';
import { isOperationsRoute } from './load-shedding.js';
import { createLeaseCounters, type LeaseCounters } from '../../store/rate-limit-leases.js';
import { isCommandTimeout, openRedis, reopener, type RedisTarget } from '../../store/redis-connection.js';

export interface RateLimitOptions {
  /** Configured API keys; a request presenting one is limited per key, any other per client IP. */
  keys: string[];
  /** Those of `keys` that are public (frontend: in the storefront's pages), also limited per client IP. */
  publicKeys?: string[];
  /** Requests per minute per client IP with a public key, in each process; 0 = only the key's budget. */
  publicKeyPerIpPerMinute?: number;
  /** Auth turned off: every request counts as one anonymous key. */
  authDisabled: boolean;
  perKeyPerMinute: number;
  perIpPerMinute: number;
  /** Counters in Redis or a Redis Cluster (shared by every replica); unset = in this process. */
  redis?: RedisTarget;
  /** Prefix of the counters' Redis keys. */
  redisPrefix?: string;
  /** Whether registering waits (up to READY_WAIT_MS) for the Redis connection; false for a Redis found silent at start. Default true. */
  waitForRedis?: boolean;
}

export const DEFAULT_RATE_LIMIT_PREFIX = 'recsvc:rate-limit:';

const READY_WAIT_MS = 1000;

/** Leases in a row that timed out before the counters' connection is reopened (leaseStore). */
export const LEASE_TIMEOUTS_TO_REOPEN = 3;

/**
 * Requests per minute per API key and, for requests without a valid key (missing, wrong, public pages),
 * per client IP: a flood of bad keys is answered 429 after RATE_LIMIT_PER_IP_PER_MINUTE, while a shop's
 * key (shared by all its visitors' browsers) gets a generous budget that only stops a runaway client.
 * A public (frontend) key is also limited per client IP and replica (RATE_LIMIT_FRONTEND_PER_IP_PER_MINUTE).
 * 429s are in the error shape with Retry-After. Health and metrics are never limited.
 *
 * The check is one app-wide onRequest hook, so it runs before authentication and on unknown routes too
 * (probing for routes is limited like anything else). With Redis the counters are shared by all replicas,
 * which take their counts in leases (store/rate-limit-leases.ts): a key's budget costs a Redis round trip
 * per thousandth of it, not per request. While Redis does not answer (within 250 ms), each replica
 * counts the budgets in process instead (leaseStore).
 */
export async function registerRateLimit(app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  // Counter names carry a digest of the key, never the key itself (Redis is not a place for secrets).
  const publicKeys = new Set(opts.publicKeys ?? []);
  const buckets = opts.keys.map((k) => ({ bytes: Buffer.from(k), bucket: `key:${createHash('sha256').update(k).digest('hex').slice(0, 16)}`, isPublic: publicKeys.has(k) }));
  /** The configured key the request presents, compared in constant time as in auth.ts. */
  const keyOf = (request: FastifyRequest) => {
    const key = presentedKey(request);
    if (key === undefined) return undefined;
    const presented = Buffer.from(key);
    let found: (typeof buckets)[number] | undefined;
    for (const b of buckets) if (b.bytes.length === presented.length && timingSafeEqual(b.bytes, presented)) found = b;
    return found;
  };
  const bucketOf = (request: FastifyRequest): string => {
    if (opts.authDisabled) return 'key:anonymous';
    return keyOf(request)?.bucket ?? `ip:${clientNetwork(request.ip)}`;
  };
  const isKey = (bucket: string) => bucket.startsWith('key:');

  // A public key's budget is shared by every shopper, so one client looping on it could use it all up and
  // lock the storefront out: under such a key each client IP also has a budget, checked first, so what it
  // refuses is not charged to the key. Counted in this process (per replica, no round trip to Redis on
  // the storefront's every request): fixed one-minute windows in a bounded LRU map.
  const perIp = opts.publicKeyPerIpPerMinute ?? 0;
  if (perIp > 0 && publicKeys.size > 0 && !opts.authDisabled) {
    const windows = localWindows();
    app.addHook('onRequest', async (request, reply) => {
      if (isOperationsRoute(request)) return;
      const key = keyOf(request);
      if (!key?.isPublic) return;
      const { current, ttl } = windows.incr(`${key.bucket}:ip:${clientNetwork(request.ip)}`, 60_000);
      if (current <= perIp) return;
      const after = Math.max(1, Math.ceil(ttl / 1000));
      // The same headers the other limits' 429s carry, so a client reads every 429 one way.
      reply.headers({ 'retry-after': after, 'x-ratelimit-limit': perIp, 'x-ratelimit-remaining': 0, 'x-ratelimit-reset': after });
      throw new AppError('RATE_LIMITED', `Too many requests from this client with a frontend key: at most ${perIp} per minute; retry in ${after} s`);
    });
  }
  if (opts.perKeyPerMinute === 0 && opts.perIpPerMinute === 0) return;

  // Each counter is one key (one slot), so the limiter's script runs on a cluster as it does on one server.
  // A lease whose reply did not come is counted in process and never sent again (a resend on the next
  // connection would charge it twice: ioredis resends the commands of a closed socket by default).
  const redis = opts.redis
    ? openRedis(opts.redis, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250, autoResendUnfulfilledCommands: false })
    : undefined;
  if (redis) {
    // Connection errors surface as skipped checks (skipOnError); ioredis reconnects by itself.
    redis.on('error', () => {});
    app.addHook('onClose', async () => {
      redis.disconnect();
    });
    // Without an offline queue a check before the connection (a cluster: its slot map) is up is skipped:
    // give it a moment here so the first requests are counted too. A Redis that refuses the connection (down)
    // is not waited for (it cost the server's start 1 s before it listened); one that does not answer costs 1 s,
    // unless the start found it silent already (waitForRedis false).
    if (opts.waitForRedis ?? true) await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        redis.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, READY_WAIT_MS);
      redis.once('ready', done);
      redis.once('error', done);
    });
  }

  await app.register(rateLimit, {
    global: false,
    timeWindow: 60_000,
    // Limit headers go out with 429s only (with Retry-After): on every answer they cost three header
    // writes per request for a budget a well-behaved client never reaches.
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    max: (_request, bucket) => (isKey(bucket) ? opts.perKeyPerMinute : opts.perIpPerMinute),
    keyGenerator: bucketOf,
    allowList: (request, bucket) => isOperationsRoute(request) || (isKey(bucket) ? opts.perKeyPerMinute : opts.perIpPerMinute) === 0,
    ...(redis ? { store: leaseStore(createLeaseCounters(redis, opts.redisPrefix ?? DEFAULT_RATE_LIMIT_PREFIX), backgroundLog(app.log, { everyMs: 30_000 }), reopener(redis)), skipOnError: true } : {}),
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Too many requests: at most ${context.max} per minute; retry in ${context.after}`),
  });
  app.addHook('onRequest', app.rateLimit());
}

/** Fixed windows counted in this process, per bucket, in a bounded map (the least recently used out). */
function localWindows() {
  const windows = new LRUCache<string, { count: number; resetAt: number }>({ max: 100_000 });
  return {
    /** This request's count in its bucket's window, and the milliseconds until the window ends. */
    incr(bucket: string, windowMs: number): { current: number; ttl: number } {
      const now = Date.now();
      let window = windows.get(bucket);
      if (!window || window.resetAt <= now) windows.set(bucket, (window = { count: 0, resetAt: now + windowMs }));
      return { current: ++window.count, ttl: window.resetAt - now };
    },
  };
}

/**
 * The plugin's store interface over shared lease counters; every route's limiter shares the same counters.
 * While Redis does not answer, each replica counts in process instead: a budget per replica rather than
 * none at all (a guessed key or a flood is still stopped during the outage), and it is logged.
 *
 * LEASE_TIMEOUTS_TO_REOPEN leases in a row that timed out have the connection reopened (redis-connection.ts,
 * reopener): a partition leaves the socket dead, and kept, every request whose bucket needed a lease waited
 * out the 250 ms timeout (measured: +250 ms on every `/v1` request during a partition) and Redis counted
 * again only up to 88 s after the heal. Until the new connection is ready, leases fail at once (no offline
 * queue). One slow reply (a Redis busy with a long script) is not enough: reopening at each spike left a
 * review's slow Redis with 10 new connections in 10 s and a quarter of the requests counted only in process.
 */
function leaseStore(counters: LeaseCounters, log: (msg: string, err?: unknown) => void, reopen: () => Promise<boolean>): FastifyRateLimitStoreCtor {
  const local = localWindows();
  let timeouts = 0;
  return class LeaseStore implements FastifyRateLimitStore {
    incr(key: string, done: (err: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number, max: number): void {
      counters.incr(
        key,
        (err, count) => {
          if (!err) {
            timeouts = 0;
            return done(null, count);
          }
          log('rate limits counted in this process: their Redis does not answer', err);
          if (!isCommandTimeout(err)) timeouts = 0;
          else if (++timeouts >= LEASE_TIMEOUTS_TO_REOPEN) {
            timeouts = 0;
            void reopen();
          }
          done(null, local.incr(key, timeWindow));
        },
        timeWindow,
        max,
      );
    }
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
