import type { ModelMeta } from '../store/model-store.js';
import { LIST_STRATEGIES } from './recommendation.js';

/** How often the kept versions are read again for their strategies (in the background, when asked). */
const KEPT_REFRESH_MS = 60_000;

/** A version's strategies from its metadata: `hybrid` and its recipe's sources (train-model.ts `info.recipe`). */
export function strategiesOfVersion(meta: Pick<ModelMeta, 'info'>): string[] {
  const sources = (meta.info.recipe as { sources?: unknown } | undefined)?.sources;
  return sources !== null && typeof sources === 'object' ? ['hybrid', ...Object.keys(sources)] : [];
}

/**
 * The strategies a list of this service may carry, for keeping a browser's feedback labels: the fallbacks'
 * and item lists' (LIST_STRATEGIES), those of every version this process has loaded (`learn`, called as
 * each one loads), and those of the versions the store keeps, so a click on a list served just before a
 * flip or a rollback, or by another replica that loaded a version first, keeps its label. Never waits on
 * the store: its versions are read in the background (at most once a minute, when asked; serving's ready()
 * asks first); while it cannot answer, what was learnt before stands. The set only grows: a strategy once
 * served stays known to this process.
 */
export function createServedStrategies(deps: {
  listVersions: () => Promise<ModelMeta[]>;
  refreshMs?: number;
  log?: (msg: string, err?: unknown) => void;
}) {
  const known = new Set<string>(LIST_STRATEGIES);
  const refreshMs = deps.refreshMs ?? KEPT_REFRESH_MS;
  let readAt = Number.NEGATIVE_INFINITY;
  let reading = false;
  const readKept = () => {
    if (reading || performance.now() - readAt < refreshMs) return;
    reading = true;
    deps
      .listVersions()
      .then((versions) => {
        for (const v of versions) for (const s of strategiesOfVersion(v)) known.add(s);
        readAt = performance.now();
      })
      .catch((err) => deps.log?.('could not read the kept versions for their strategies', err))
      .finally(() => (reading = false));
  };
  return {
    /** A loaded version's strategies. */
    learn(strategies: readonly string[]): void {
      for (const s of strategies) known.add(s);
    },
    /** What is known now; starts a background read of the kept versions when the last one is old. */
    now(): ReadonlySet<string> {
      readKept();
      return known;
    },
  };
}
