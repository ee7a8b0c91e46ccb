import type { Counter, Histogram } from 'prom-client';
import { dependencyFailure } from '../errors.js';
import type { ModelStore } from './model-store.js';

export interface StoreInstruments {
  duration: Histogram<'operation'>;
  errors: Counter<'operation'>;
  /** Where the store is (a URL without credentials), put in front of the message of a failure to reach it. */
  where?: string;
}

const STORE_PREFIX = 'model store at ';

/** Whether `err` (or its `cause`) is a failure to reach the model store, named so by instrumentModelStore. */
export function failedInModelStore(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  return err.message.startsWith(STORE_PREFIX) || failedInModelStore(err.cause, depth + 1);
}

/** The store's asynchronous calls, timed and counted; peekUserEvents (in process, synchronous) and close are not. */
export const STORE_CALLS = [
  'putArtifact', 'getArtifact', 'putEntries', 'getEntries', 'publish', 'activate', 'getActive', 'listVersions', 'deleteVersion',
  'appendUserEvents', 'getUserEvents', 'deleteUser', 'deleteUserEntries', 'redactArtifact', 'ping', 'contentsOf',
  'erasureRecords', 'raiseErasureRecords', 'noteScrubbedAgain', 'deleteUserEvents', 'readArtifactRange', 'patchArtifact',
  'leaseDraft', 'releaseDraft', 'sweepDrafts',
] as const satisfies readonly (keyof ModelStore)[];

/**
 * The same store with every call's latency observed in `recsvc_store_operation_duration_seconds` and
 * every failure counted in `recsvc_store_errors_total`, by operation (a fixed set: never a key or id).
 * Optional methods stay absent when the store has none, so callers still tell what it offers.
 */
export function instrumentModelStore(store: ModelStore, m: StoreInstruments): ModelStore {
  const out: ModelStore = { ...store };
  for (const operation of STORE_CALLS) {
    if (!store[operation]) continue;
    m.duration.zero({ operation });
    m.errors.inc({ operation }, 0);
    const original = (store[operation] as (...args: unknown[]) => Promise<unknown>).bind(store);
    (out as unknown as Record<string, unknown>)[operation] = async (...args: unknown[]) => {
      const end = m.duration.startTimer({ operation });
      try {
        return await original(...args);
      } catch (err) {
        m.errors.inc({ operation });
        // ioredis says "Reached the max retries per request limit" or "Stream isn't writeable" and names no
        // server: a job's error or a log line then does not tell an operator which store failed. Wrapped, not
        // edited: the original stays the cause, which dependencyFailure reads (its checks of Redis replies
        // such as "LOADING ..." look at the start of the message).
        if (m.where && err instanceof Error && !err.message.startsWith(STORE_PREFIX) && dependencyFailure(err)) {
          throw new Error(`${STORE_PREFIX}${m.where}: ${err.message}`, { cause: err });
        }
        throw err;
      } finally {
        end();
      }
    };
  }
  bindSynchronous(store, out);
  return out;
}

/** The store's calls that are not wrapped (in process or subscriptions, and close), bound onto a wrapper. */
export function bindSynchronous(store: ModelStore, out: ModelStore): void {
  if (store.peekUserEvents) out.peekUserEvents = store.peekUserEvents.bind(store);
  if (store.onUserErased) out.onUserErased = store.onUserErased.bind(store);
  if (store.announceErasureAsked) out.announceErasureAsked = store.announceErasureAsked.bind(store);
  if (store.onErasureAsked) out.onErasureAsked = store.onErasureAsked.bind(store);
  if (store.onActiveChanged) out.onActiveChanged = store.onActiveChanged.bind(store);
  if (store.reconnect) out.reconnect = store.reconnect.bind(store);
  out.close = store.close.bind(store);
}
