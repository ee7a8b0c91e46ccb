import { within } from './within-time.js';

/** How long a readiness call waits for a fresh answer of a slow check (ms): below the route's 1 s, so the last answer is given in time. */
export const SLOW_CHECK_WAIT_MS = 800;
/** How long a finished answer stands for calls whose own check is still running (ms); older, the check counts as failed. */
export const SLOW_CHECK_KEEP_MS = 15_000;

/**
 * A readiness check of several round trips that a slow store still passes. `check` answers within the
 * call when it can (SLOW_CHECK_WAIT_MS); when it cannot, and the last finished check was slow too, the
 * call answers what that check said, if it finished within SLOW_CHECK_KEEP_MS, and leaves the check running for the calls after it
 * (one at a time). Why: readiness's `activeModel` reads the active pointer and then what the store holds
 * of that version, two round trips in a row; a Redis that answers every command 700 ms late took 1.4 s,
 * past the 1 s each check is given, and kept a working service unready for minutes
 * (tests/e2e/server-start-redis-slow.test.ts). A store that stops answering finishes no check: readiness
 * says false once the last answer is SLOW_CHECK_KEEP_MS old, and a check still running then is given up for a
 * new one (the calls after a store that is back are not kept waiting on a check that never ends). Logs when a check first takes longer than
 * the wait, and when one fits in it again.
 */
export function slowCheck(
  what: string,
  check: () => Promise<boolean>,
  opts: { log?: { warn(msg: string): void; info(msg: string): void }; waitMs?: number; keepMs?: number; now?: () => number } = {},
): () => Promise<boolean> {
  const waitMs = opts.waitMs ?? SLOW_CHECK_WAIT_MS;
  const keepMs = opts.keepMs ?? SLOW_CHECK_KEEP_MS;
  const now = opts.now ?? (() => performance.now());
  let running: { answer: Promise<boolean>; began: number } | null = null;
  let last: { ok: boolean; at: number } | null = null;
  let slow = false;
  const start = () => {
    const began = now();
    const answer = check()
      .catch(() => false)
      .then((ok) => {
        // A check given up for lasting past keepMs (below) leaves the answer to the one started after it.
        if (running?.answer !== answer) return ok;
        const took = now() - began;
        last = { ok, at: now() };
        running = null;
        if (took > waitMs && !slow) {
          slow = true;
          opts.log?.warn(`readiness: checking ${what} took ${Math.round(took)} ms, more than the ${waitMs} ms a readiness check waits (a slow store): readiness answers from the last finished check while it is under ${keepMs / 1000} s old`);
        } else if (took <= waitMs && slow) {
          slow = false;
          opts.log?.info(`readiness: checking ${what} takes ${Math.round(took)} ms again, within the ${waitMs} ms a readiness check waits`);
        }
        return ok;
      });
    return { answer, began };
  };
  return async () => {
    // A check that never finishes (a statement or command with no limit of its own, a promise never settled)
    // is given up once it has run keepMs, so it cannot hold readiness false after the store is back.
    if (running && now() - running.began > keepMs) running = null;
    running ??= start();
    const fresh = await within(running.answer, waitMs, () => null);
    if (fresh !== null) return fresh;
    // Only a store already seen slow is answered for from the past: one slow call of a fast store (a
    // Redis emptied or hanging just now, a busy moment) still fails at once, as before.
    return slow && last !== null && now() - last.at <= keepMs && last.ok;
  };
}
