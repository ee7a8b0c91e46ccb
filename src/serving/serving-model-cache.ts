import type { ModelStore } from '../store/model-store.js';
import { loadServingModel, type ServingModel } from './serving-model.js';

export interface ServingModelCache {
  /** The active version's serving model, or null when no usable model is active. */
  current(): Promise<ServingModel | null>;
  /** The model current() would give without waiting, or undefined when it must be re-resolved first. */
  peek(): ServingModel | null | undefined;
  /**
   * Whether the store answered, at the last read of the active pointer, that no version is active: false
   * while none was read yet, when that read failed (an outage), or when it found a version (loaded or not:
   * one whose serving artifacts cannot be loaded is active all the same). What a null current() means.
   */
  noneActive(): boolean;
  /** The model this process holds, however long ago the active version was checked (null before any). */
  inHand(): ServingModel | null;
  /** A newly loaded version being readied (prepare) before it replaces the model in hand, else null. */
  readying(): ServingModel | null;
  /** Forgets when the active version was last checked, so the next call re-resolves it (after activate). */
  invalidate(): void;
  /**
   * The version active now, re-read for this caller only (an export that must not use the version before a
   * training it follows): waits for a pointer read begun after the call, and the load of a new version,
   * while every other caller goes on with the model in hand.
   */
  latest(): Promise<ServingModel | null>;
  /**
   * An activation was announced (by any process): when this process serves a model already, load the
   * new one now in the background while the model in hand answers, so no request waits for it. A
   * process that never served (a worker, a CLI) loads nothing; its next call re-resolves.
   */
  activeChanged(): void;
}

/**
 * Keeps the active version's decoded serving model in process memory. The active pointer is re-read
 * at most every `recheckMs` (one small read shared by all requests in flight), and at once when the
 * store announces an activation (activeChanged; the periodic check covers messages lost meanwhile), and
 * a version's artifacts are decoded once. A periodic re-check runs in the background while the model in
 * hand answers. Everything a version's answers are cached in (entries, finished
 * answers) lives on its ServingModel, so once the new version is served nothing of the old one is. While
 * the first version loads, or one activated by this process (invalidate), callers wait for it; a version
 * found by a re-check or announced loads and is readied (prepare) while the model in hand answers. If it
 * fails to load, the previous model keeps serving and the next check tries again.
 */
export function createServingModelCache(deps: {
  store: ModelStore;
  recheckMs?: number;
  /** Bound of each version's per-user entry cache (bytes). */
  entryCacheBytes?: number;
  /** Bound of each version's cache of finished answers (bytes). */
  answerCacheBytes?: number;
  /**
   * Readies a newly loaded version before it answers (serving marks the customers erased since the load
   * started, `loadStartedAt` on performance.now(), and loads its on-request scorer, so the first customer
   * scored on request does not wait for it). Called right after the load. Replacing a model in hand, it
   * is waited for while the model in hand answers; the first model answers at once and is readied in the
   * background. Must not reject.
   */
  prepare?: (model: ServingModel, loadStartedAt: number) => Promise<void>;
  log?: (msg: string, err?: unknown) => void;
}): ServingModelCache {
  const recheckMs = deps.recheckMs ?? 1000;
  let model: ServingModel | null = null;
  let checkedAt = -Infinity;
  let pending: Promise<ServingModel | null> | null = null;
  let keptAfterLoss = false;
  // The last pointer read answered that no version is active (noneActive).
  let answeredNone = false;
  let readying: ServingModel | null = null;
  // Activations made here (invalidate): a refresh that started before the last one does not count as a check.
  let invalidations = 0;
  // Set when an activation is announced, or made here, while a refresh is in flight: that refresh may
  // have read the pointer before the flip, so another one follows it.
  let changedDuringRefresh = false;

  async function refresh(): Promise<ServingModel | null> {
    const seen = invalidations;
    try {
      const meta = await deps.store.getActive().catch((err: unknown) => {
        answeredNone = false;
        throw err;
      });
      answeredNone = !meta;
      if (!meta) {
        // Nothing is ever un-published: an active pointer that vanished means the store lost its data
        // (a Redis restarted without persistence). The version in memory keeps answering (users whose
        // entries were not read yet get cold-start answers) until a training publishes a new one,
        // rather than every request falling back to a popularity query in Postgres.
        if (model && !keptAfterLoss) deps.log?.(`the model store has no active model any more; serving ${model.meta.version} from memory`);
        keptAfterLoss = model !== null;
      } else if (!model || model.meta.version !== meta.version) {
        keptAfterLoss = false;
        const loadStartedAt = performance.now();
        const loaded = await loadServingModel(deps.store, meta, { entryCacheBytes: deps.entryCacheBytes, answerCacheBytes: deps.answerCacheBytes });
        if (loaded) {
          const readied = deps.prepare?.(loaded, loadStartedAt);
          if (model && readied) {
            readying = loaded;
            try {
              await readied;
            } finally {
              // One step: there is no moment where the version is neither readying nor in hand.
              readying = null;
              model = loaded;
            }
          } else model = loaded;
        } else deps.log?.(`model version ${meta.version} has no serving artifacts; keeping the previous one`);
      }
    } catch (err) {
      deps.log?.('could not refresh the serving model', err);
    }
    // An activation here while this refresh ran: it may have read the pointer before, so callers wait
    // for the refresh after it (started by startRefresh's follow-up).
    checkedAt = invalidations === seen ? performance.now() : -Infinity;
    return model;
  }

  function startRefresh(): Promise<ServingModel | null> {
    return (pending ??= refresh().finally(() => {
      pending = null;
      // That refresh may have read the pointer before the announced flip: read it again, in the
      // background while a model is in hand, else on the next call.
      if (!changedDuringRefresh) return;
      changedDuringRefresh = false;
      if (model) void startRefresh();
      else checkedAt = -Infinity;
    }));
  }

  const cache: ServingModelCache = {
    peek() {
      return performance.now() - checkedAt < recheckMs ? model : undefined;
    },
    current() {
      if (performance.now() - checkedAt < recheckMs) return Promise.resolve(model);
      const next = startRefresh();
      // The periodic re-check is not waited for when a model is in hand: a store that answers slowly or
      // not at all (each command gives up after REDIS_COMMAND_TIMEOUT_MS) must not hold every request in the meantime. A new
      // version it finds serves the requests after it. Before any model, and after an activation here
      // (invalidate), callers wait.
      if (model && checkedAt !== -Infinity) return Promise.resolve(model);
      // Invalidated while a refresh that may have read the pointer before was in flight: the one after it.
      return changedDuringRefresh ? next.then(() => pending ?? model) : next;
    },
    noneActive: () => answeredNone,
    inHand: () => model,
    readying: () => readying,
    async latest() {
      // A refresh under way may have read the pointer before this call: the one after it.
      if (pending) await pending;
      return startRefresh();
    },
    invalidate() {
      checkedAt = -Infinity;
      invalidations++;
      if (pending) changedDuringRefresh = true;
    },
    activeChanged() {
      if (pending) changedDuringRefresh = true;
      else if (model) void startRefresh();
      else checkedAt = -Infinity;
    },
  };
  return cache;
}
