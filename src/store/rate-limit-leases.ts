import type { RedisClient } from './redis-connection.js';

/**
 * Rate-limit counters shared by every replica through Redis, without a Redis round trip per request.
 *
 * Each bucket's window is one Redis key (one slot, so it works on a cluster) counting the requests of all
 * replicas. A replica does not add 1 per request: it takes a lease of the next `leaseSize(max)` counts
 * with one INCRBY and hands them out in process, one per request, in order. A request whose count is
 * above `max` is over the limit, so the replicas together never let more than `max` through a window;
 * what they may lose is the unused rest of each replica's last lease (at most one lease, a thousandth
 * of the budget, per replica). Budgets under 2,000 get leases of one count: a round trip per request,
 * exact across replicas, as the per-IP limit on keyless requests needs. A per-key budget of 600,000 a
 * minute takes a round trip every 600 requests.
 *
 * Requests that arrive while a lease is on its way wait for the next one, which is as large as their
 * queue: a burst costs two round trips, not one per request, even with leases of one.
 *
 * Once a bucket's budget is spent, the replica answers "over" without asking Redis until the window
 * ends: a flood costs no round trips either. Windows are timed on the monotonic clock from when the lease
 * was asked for, so a late reply or a wall-clock step never stretches one.
 */

/** The lease of a bucket's budget: one count per `LEASE_SHARE` of the budget (at least 1). */
export const LEASE_SHARE = 1 / 1000;

export const leaseSize = (max: number): number => Math.max(1, Math.floor(max * LEASE_SHARE));

/** Buckets held before ended windows are swept (then the oldest idle ones, if too many were live). */
const MAX_BUCKETS = 10_000;

/** INCRBY the window's counter by a lease, start the window's expiry if it has none; returns [count, ttl ms]. */
const LEASE_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
`;

export interface RateCount {
  /** This request's count in the window, over all replicas (> max: over the limit). */
  current: number;
  /** Milliseconds until the window ends. */
  ttl: number;
}

type Done = (err: Error | null, count?: RateCount) => void;

interface Bucket {
  /** The next count to hand out and the last count of the lease: (next..end) are this replica's. */
  next: number;
  end: number;
  /** When the window (the Redis key) ends, on performance.now()'s clock. */
  expiresAt: number;
  /** Requests waiting for a lease, in arrival order; non-null while one is being fetched. */
  waiting: { done: Done; max: number }[] | null;
}

type LeaseCommand = (key: string, size: number, windowMs: number) => Promise<[number, number]>;

export interface LeaseCounters {
  /** Counts one request of `bucket` in a window of `windowMs` with a budget of `max`. */
  incr(bucket: string, done: Done, windowMs: number, max: number): void;
}

export function createLeaseCounters(redis: RedisClient, prefix: string, maxBuckets = MAX_BUCKETS): LeaseCounters {
  const client = redis as RedisClient & { rateLimitLease?: LeaseCommand };
  if (!client.rateLimitLease) redis.defineCommand('rateLimitLease', { numberOfKeys: 1, lua: LEASE_SCRIPT });
  const lease: LeaseCommand = (key, size, windowMs) => client.rateLimitLease!(key, size, windowMs);
  const buckets = new Map<string, Bucket>();
  const clock = () => performance.now();

  /** A count for a request from the bucket's lease, or null when it needs a new lease. */
  const take = (b: Bucket, max: number): number | null => {
    if (b.next <= b.end) return b.next++;
    // Spent: every later request of the window is over, whatever the other replicas do.
    if (b.end >= max) return b.end + 1;
    return null;
  };

  /** Drops ended windows; when live ones still fill the map, the oldest idle half (that only under-admits them). */
  const sweep = (now: number) => {
    for (const [key, b] of buckets) if (b.expiresAt <= now && !b.waiting) buckets.delete(key);
    if (buckets.size <= (maxBuckets * 3) / 4) return;
    for (const [key, b] of buckets) {
      if (buckets.size <= maxBuckets / 2) break;
      if (!b.waiting) buckets.delete(key);
    }
  };

  const fetch = (bucket: string, b: Bucket, windowMs: number) => {
    const waiting = b.waiting!;
    // Every waiting request takes one count of this lease, so a lease as long as the queue strands nothing.
    const size = Math.max(leaseSize(waiting[0].max), waiting.length);
    // The window is timed from the ask: Redis started (or had started) it no later than that.
    const asked = clock();
    lease(prefix + bucket, size, windowMs).then(
      ([count, ttl]) => {
        b.next = count - size + 1;
        b.end = count;
        b.expiresAt = asked + ttl;
        const left = Math.max(0, b.expiresAt - clock());
        // The bucket's state is settled before any caller hears back.
        const answers: [Done, number][] = [];
        let served = 0;
        for (; served < waiting.length; served++) {
          const current = take(b, waiting[served].max);
          if (current === null) break;
          answers.push([waiting[served].done, current]);
        }
        b.waiting = served < waiting.length ? waiting.slice(served) : null;
        if (b.waiting) fetch(bucket, b, windowMs);
        for (const [done, current] of answers) done(null, { current, ttl: left });
      },
      (err: Error) => {
        // Redis is away or slow: these requests are not counted (the limiter lets them through) and the
        // next request asks again.
        b.waiting = null;
        for (const w of waiting) w.done(err);
      },
    );
  };

  return {
    incr(bucket, done, windowMs, max) {
      const now = clock();
      let b = buckets.get(bucket);
      if (b && b.expiresAt <= now && !b.waiting) {
        buckets.delete(bucket);
        b = undefined;
      }
      if (!b) {
        if (buckets.size >= maxBuckets) sweep(now);
        b = { next: 1, end: 0, expiresAt: 0, waiting: null };
        buckets.set(bucket, b);
      }
      if (!b.waiting && b.expiresAt > now) {
        const current = take(b, max);
        if (current !== null) return done(null, { current, ttl: b.expiresAt - now });
      }
      if (b.waiting) {
        b.waiting.push({ done, max });
        return;
      }
      b.waiting = [{ done, max }];
      fetch(bucket, b, windowMs);
    },
  };
}
