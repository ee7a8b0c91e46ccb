import { cancelledState } from './data/query-timeout.js';

/** SQLSTATE of a statement Postgres cancelled at its statement_timeout (or pg_cancel_backend): every try meets it again. */
const STATEMENT_TIMEOUT = '57014';
import { dependencyFailure, storeRefusesWritesUntilMended } from './errors.js';

/**
 * How long a job waits, in all, for a store that stopped answering before it fails as a dependency
 * failure (the job runner's failure message says so): a restart or a failover is over well within it.
 */
export const JOB_OUTAGE_WAIT_MS = 60_000;

/**
 * `fn`'s result, running it again while it fails for want of Postgres or Redis (a restart, a failover:
 * dependencyFailure), with waits doubling from 250 ms to 5 s, for at most `forMs` in all. Any other
 * failure, one after `forMs`, or one once `stop()` is true (checked after each wait too), is thrown as
 * it is; so is a statement Postgres cancelled at its statement_timeout (of the server, database or role),
 * which every try would meet again, so that the job fails at once saying which limit to lift
 * (CANCELLED_FAILURE) instead of after a minute of waiting; so is a Redis that answers but refuses writes
 * until an operator acts (OOM, MISCONF: storeRefusesWritesUntilMended), so that the job fails at once saying
 * why (job-runner failureMessage). READONLY is waited through: a failover ends it within the wait (REDIS_URL
 * naming a replica does not, and fails the job after the wait, saying READONLY). A wait for a lock that the role's lock_timeout
 * gave up (55P03) is tried again within the wait: the lock's holder (an erasure, another import's batch)
 * commits, and the next try takes it; only a lock held past the wait fails the job so. Our own
 * statement limit (a late statement) and a Postgres away or restarting are still waited through. For idempotent writes whose loss costs much more than the wait: an import's batches, a
 * training's writes and publish, a finished job's outcome.
 */
export async function retryWhileUnavailable<T>(
  fn: () => Promise<T>,
  opts: { forMs: number; stop?: () => boolean; onRetry?: (err: unknown, waitMs: number) => void },
): Promise<T> {
  const since = performance.now();
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await fn();
    } catch (err) {
      if (!dependencyFailure(err) || cancelledState(err) === STATEMENT_TIMEOUT || storeRefusesWritesUntilMended(err) || opts.stop?.() || performance.now() - since + wait > opts.forMs) throw err;
      opts.onRetry?.(err, wait);
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      // Stopped while waiting (a job aborted, a runner stopping): no further attempt.
      if (opts.stop?.()) throw err;
    }
  }
}
