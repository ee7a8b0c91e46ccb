import { bindSynchronous, STORE_CALLS } from './instrumented-model-store.js';
import type { ModelStore } from './model-store.js';
import { isCommandTimeout } from './redis-connection.js';

/** Calls that gave up at the command timeout in a row that make the store be skipped for a while. */
export const HANG_TRIP = 3;
/** How often a skipped store is probed with a ping of its own (ms). */
export const HANG_SKIP_MS = 5000;

/** What a skipped call fails with: a dependency failure (503 with Retry-After, a retried write), as the timeout was. */
export const SKIPPED_MESSAGE = 'Command timed out (skipped: the model store did not answer its last calls)';

/** Whether `err` is a call the breaker skipped (the store did not answer its last calls). */
export const skippedCall = (err: unknown): boolean => err instanceof Error && err.message === SKIPPED_MESSAGE;

/** Every call but `ping`, which readiness needs to see a store that answers again. */
const GUARDED = STORE_CALLS.filter((operation) => operation !== 'ping');

/**
 * The same store, skipped while it hangs. A Redis that accepts connections and stops answering (paused,
 * swapping, a network partition that drops packets) makes every call wait for the command timeout (REDIS_COMMAND_TIMEOUT_MS, 2 s by default):
 * every request for a customer not in memory, every live update, each for the whole hang. After HANG_TRIP
 * calls in a row gave up at the timeout, calls fail at once, as a Redis that is down does, so the answers
 * that need no store come at once, until the store answers a ping: a call made HANG_SKIP_MS or more after
 * the last probe sends one in the background (its own timeout is 1 s), and is itself skipped. Letting a
 * call through as the probe instead made one request wait the whole timeout every HANG_SKIP_MS for as
 * long as the store hung. `ping` (readiness) always goes through, and one that answers ends the skip too.
 * When the skip starts, the store is also asked to reconnect (ModelStore.reconnect), and the skip ends
 * the moment its new connection answers: after a partition heals, the old socket would carry bytes
 * again only at the kernel's next retransmission, and a store frozen and thawed is asked again at once
 * rather than at the next probe. A store that refuses connections fails fast already and never trips it.
 */
export function withHangBreaker(
  store: ModelStore,
  opts: {
    now?: () => number;
    log?: (msg: string) => void;
    /** Skipped from the start, until it answers a ping: a start found the store's Redis silent (redis-probe.ts). */
    skipping?: boolean;
  } = {},
): ModelStore {
  const now = opts.now ?? (() => performance.now());
  let timeouts = 0;
  let skipping = opts.skipping ?? false;
  let probedAt = Number.NEGATIVE_INFINITY;
  let probing = false;
  let reconnecting = false;
  const passed = () => {
    if (skipping) opts.log?.('the model store answers again: no longer skipped');
    timeouts = 0;
    skipping = false;
  };
  const timedOut = () => {
    if (++timeouts < HANG_TRIP || skipping) return;
    opts.log?.(`the model store did not answer ${timeouts} calls in a row: skipping it until it answers a ping (one every ${HANG_SKIP_MS / 1000} s)`);
    skipping = true;
    probedAt = now();
    reconnect();
  };
  // The store's socket may be dead for good (a partition that drops packets keeps it open): it opens a
  // new connection, and the skip ends as soon as that one answers, not at the next probe's ping.
  const reconnect = () => {
    if (!store.reconnect || reconnecting) return;
    reconnecting = true;
    store
      .reconnect()
      .then((up) => up && skipping && passed(), () => undefined)
      .finally(() => (reconnecting = false));
  };
  // Skipped from the start: its socket may be one a partition keeps open, as after a trip.
  if (skipping) reconnect();
  const probe = () => {
    if (probing || now() - probedAt < HANG_SKIP_MS) return;
    probing = true;
    probedAt = now();
    store
      .ping()
      .then((up) => up && passed(), () => undefined)
      .finally(() => (probing = false));
  };
  const guard = <T>(call: () => Promise<T>): Promise<T> => {
    if (skipping) {
      probe();
      return Promise.reject(new Error(SKIPPED_MESSAGE));
    }
    return call().then(
      (value) => {
        passed();
        return value;
      },
      (err: unknown) => {
        if (isCommandTimeout(err)) timedOut();
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
