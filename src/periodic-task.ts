import { startShared } from './data/query-timeout.js';

export interface PeriodicTask {
  /** Clears the timers, aborts the run in hand (it stops at its next step) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Background upkeep an API process repeats (counting closed days of feedback, deleting expired feedback):
 * first after `firstMs` (after the start's own work), then every `everyMs`. One run at a time: a slow
 * Postgres does not pile runs up. Its statements get the long limit (data/query-timeout.ts), not a
 * request's. `run` must not reject (it logs its own failures); the timers keep no process alive.
 */
export function startPeriodic(run: (signal: AbortSignal) => Promise<unknown>, opts: { firstMs: number; everyMs: number }): PeriodicTask {
  const stopped = new AbortController();
  let running: Promise<unknown> | null = null;
  const tick = () => {
    running ??= startShared(() => run(stopped.signal)).finally(() => (running = null));
  };
  const first = setTimeout(tick, opts.firstMs);
  const every = setInterval(tick, opts.everyMs);
  first.unref();
  every.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(every);
      stopped.abort();
      await running;
    },
  };
}
