import { bindSynchronous, STORE_CALLS } from './instrumented-model-store.js';
import type { ModelStore } from './model-store.js';

/** Calls that gave up at the command timeout in a row that make the store be skipped for a while. */
export const HANG_TRIP = 3;
/** How long a hanging store is skipped before one call is let through again (ms). */
export const HANG_SKIP_MS = 5000;

/** What a skipped call fails with: a dependency failure (503 with Retry-After, a retried write), as the timeout was. */
export const SKIPPED_MESSAGE = 'Command timed out (skipped: the model store did not answer its last calls)';

/** Every call but `ping`, which readiness needs to see a store that answers again. */
const GUARDED = STORE_CALLS.filter((operation) => operation !== 'ping');

/**
 * The same store, skipped while it hangs. A Redis that accepts connections and stops answering (paused,
 * swapping, a network partition that drops packets) makes every call wait for the command timeout (2 s):
 * every request for a customer not in memory, every live update, each for the whole hang. After HANG_TRIP
 * calls in a row gave up at the timeout, calls fail at once for HANG_SKIP_MS, as a Redis that is down
 * does, so the answers that need no store come at once; then calls go through again, and the first
 * that succeeds ends it. `ping` (readiness) always goes through, so a store that answers again is seen at
 * the next health check. A store that refuses connections fails fast already and never trips it.
 */
export function withHangBreaker(store: ModelStore, opts: { now?: () => number; log?: (msg: string) => void } = {}): ModelStore {
  const now = opts.now ?? (() => performance.now());
  let timeouts = 0;
  let skipUntil = Number.NEGATIVE_INFINITY;
  const passed = () => {
    timeouts = 0;
    skipUntil = Number.NEGATIVE_INFINITY;
  };
  const timedOut = () => {
    if (++timeouts < HANG_TRIP) return;
    if (skipUntil < now()) opts.log?.(`the model store did not answer ${timeouts} calls in a row: skipping it for ${HANG_SKIP_MS / 1000} s`);
    skipUntil = now() + HANG_SKIP_MS;
  };
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (now() < skipUntil) return Promise.reject(new Error(SKIPPED_MESSAGE));
    return call().then(
      (value) => {
        passed();
        return value;
      },
      (err: unknown) => {
        if (err instanceof Error && err.message.includes('Command timed out')) timedOut();
        throw err;
      },
    );
  };
  const out: ModelStore = { ...store };
  for (const operation of GUARDED) {
    if (!store[operation]) continue;
    const original = (store[operation] as (...args: unknown[]) => Promise<unknown>).bind(store);
    (out as unknown as Record<string, unknown>)[operation] = (...args: unknown[]) => guard(() => original(...args));
  }
  out.ping = async () => {
    const up = await store.ping();
    if (up) passed();
    return up;
  };
  bindSynchronous(store, out);
  return out;
}
