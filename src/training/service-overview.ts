import type { CustomerRepository, DataCounts } from '../data/customer-repository.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { keepCounts } from '../data/kept-counts.js';

/** What the dashboard's overview shows first: the data held and the model served. */
export interface ServiceOverview {
  /** The counts as last read (kept in the process, see keepCounts), with when that read began and its age. */
  counts: DataCounts & { countedAt: string; ageSeconds: number };
  model: {
    version: string;
    /** The name the recipe gives itself. */
    recipe: string;
    /** The recipe file it was trained from (models/RECIPEFILE.json); absent for versions trained before it was recorded. */
    recipeFile?: string;
    trainedAt: string;
    /** Seconds since the served version was trained. */
    ageSeconds: number;
    /** Strategies the served version answers (`hybrid` and its recommenders). */
    strategies: string[];
  } | null;
  /**
   * Only when the model store's active version is not the one this process serves: the version it names
   * (this process is about to load it), or null (the store lost its models, a Redis restarted empty, while
   * this process keeps serving from memory). Absent also when the store did not answer (while this process
   * serves nothing, the overview then fails with the store's error: 503).
   */
  activeInStore?: string | null;
}

export type ServiceOverviewReader = (() => Promise<ServiceOverview>) & {
  /** The background count under way, if any (tests). */
  settled?: () => Promise<unknown>;
};

/** How old kept counts may be before a call counts again (OVERVIEW_COUNTS_MAX_AGE_MS's default). */
export const COUNTS_MAX_AGE_MS = 30_000;
/** How long a call waits for that new count before answering with the last one. */
export const COUNTS_WAIT_MS = 500;

/** The model a process answers with: its metadata and the strategies it offers. */
export interface ServedModel {
  meta: Pick<ModelMeta, 'version' | 'recipe' | 'recipeFile' | 'trainedAt'>;
  info: { strategies: readonly string[] };
}

/**
 * Reads the counts and the model this process serves side by side (the version, recipe and strategies of
 * one model, the one its answers carry, even when the store lost it). The model and the store's active
 * version are read on every call. The counts (whole-table counts, the distinct orders among every purchase:
 * 5.5-10.8 s at ten times our data) are kept in the process (keepCounts): a call answers with counts at most
 * `countsMaxAgeMs` old, or waits up to `countsWaitMs` for a new count and else answers with the last one,
 * `countedAt` and `ageSeconds` saying how old they are.
 */
export function createServiceOverview(deps: {
  customers: Pick<CustomerRepository, 'counts'>;
  store: Pick<ModelStore, 'getActive'>;
  /** The model this process answers with (serving's), null before it serves one. */
  served: () => Promise<ServedModel | null>;
  now?: () => number;
  countsMaxAgeMs?: number;
  countsWaitMs?: number;
  log?: (msg: string, err: unknown) => void;
}): ServiceOverviewReader {
  const now = deps.now ?? Date.now;
  const kept = keepCounts(() => deps.customers.counts(), { maxAgeMs: deps.countsMaxAgeMs ?? COUNTS_MAX_AGE_MS, waitMs: deps.countsWaitMs ?? COUNTS_WAIT_MS, now, log: deps.log });
  const read = async () => {
    const [counted, served, active] = await Promise.all([
      kept.get(),
      deps.served(),
      // A store that does not answer leaves the served model to be shown (it answers from memory).
      deps.store.getActive().then((m) => ({ version: m?.version ?? null }), (err: unknown) => ({ failed: err })),
    ]);
    // Serving nothing, with a store that did not answer: no model to show, and `model: null` would read as a
    // shop never trained (the dashboard offers a first training). The store's error is the answer (503).
    if ('failed' in active && !served) throw active.failed;
    const model = served && {
      version: served.meta.version,
      recipe: served.meta.recipe,
      ...(served.meta.recipeFile ? { recipeFile: served.meta.recipeFile } : {}),
      trainedAt: served.meta.trainedAt,
      ageSeconds: Math.max(0, Math.round((now() - Date.parse(served.meta.trainedAt)) / 1000)),
      strategies: [...served.info.strategies],
    };
    const differs = !('failed' in active) && active.version !== (model?.version ?? null);
    const counts = {
      ...counted.value,
      countedAt: new Date(counted.countedAt).toISOString(),
      ageSeconds: Math.max(0, Math.round((now() - counted.countedAt) / 1000)),
    };
    return { counts, model, ...(differs ? { activeInStore: active.version } : {}) };
  };
  return Object.assign(read, { settled: kept.settled });
}
