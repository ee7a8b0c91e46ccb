import { dependencyFailure } from './errors.js';
import type { Logger } from './jobs/job-runner.js';

/**
 * The log of failures in background work (live updates, refreshes, gauges, cleanups), for a process's
 * logger. Some of that work runs per request or per batch (a live update per customer while Redis is
 * down, a recent-views read per page while Postgres is), so each message is written at most once per
 * `everyMs`, carrying how many were left out since (and `fields`, e.g. the job's id, of the line written). A store that is unavailable is a warning with its
 * message and code, and so is a message without an error; any other failure is an error with its stack.
 */
export function backgroundLog(logger: Logger, opts: { everyMs?: number; now?: () => number } = {}): (msg: string, err?: unknown, fields?: object) => void {
  const everyMs = opts.everyMs ?? 10_000;
  const now = opts.now ?? Date.now;
  const last = new Map<string, { at: number; skipped: number }>();
  return (msg, err, fields = {}) => {
    const t = now();
    const seen = last.get(msg);
    if (seen && t - seen.at < everyMs) {
      seen.skipped++;
      return;
    }
    last.set(msg, { at: t, skipped: 0 });
    const skipped = seen?.skipped ? { skippedSinceLast: seen.skipped } : {};
    if (dependencyFailure(err)) {
      const { message, code } = err as Error & { code?: unknown };
      logger.warn({ ...fields, cause: message, code, ...skipped }, msg);
    } else if (err === undefined) {
      // A notice of what was done about a state (a lost model served from memory), not a failure.
      logger.warn({ ...fields, ...skipped }, msg);
    } else {
      logger.error({ ...fields, err, ...skipped }, msg);
    }
  };
}
