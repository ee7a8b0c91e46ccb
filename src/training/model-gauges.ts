import type { Metrics } from '../metrics.js';
import type { ModelStore } from '../store/model-store.js';
import { goneFromStore } from './write-model-version.js';

/**
 * The model gauges, read from the model store before a scrape (so a version published by a worker
 * process or activated through another replica shows up): the active version and recipe
 * (`recsvc_model_active_info`), its age, how many of its artifacts and tables the store lost, and when
 * the newest kept version was trained. Without an active model the info has no series and the age is 0.
 */
export function createModelGauges(deps: {
  store: Pick<ModelStore, 'getActive' | 'listVersions' | 'contentsOf'>;
  metrics: Pick<Metrics, 'activeModel' | 'activeModelAge' | 'activeModelGone' | 'lastTraining'>;
  /** How many customers were erased after an erasure mark (see goneFromStore). */
  erasedSince?: (mark: number) => Promise<number>;
  log?: (msg: string, err?: unknown) => void;
}) {
  const { activeModel, activeModelAge, activeModelGone, lastTraining } = deps.metrics;
  return {
    /** Never rejects: a store that does not answer leaves the last values. */
    async refresh(): Promise<void> {
      try {
        const [active, versions] = await Promise.all([deps.store.getActive(), deps.store.listVersions()]);
        activeModel.reset();
        if (active) {
          activeModel.set({ version: active.version, recipe: active.recipe }, 1);
          activeModelAge.set(Math.max(0, (Date.now() - Date.parse(active.trainedAt)) / 1000));
          activeModelGone.set((await goneFromStore(deps.store, active, deps.erasedSince)).length);
        } else {
          activeModelAge.set(0);
          activeModelGone.set(0);
        }
        const newest = Math.max(0, ...versions.map((v) => Date.parse(v.trainedAt)).filter(Number.isFinite));
        lastTraining.set(newest / 1000);
      } catch (err) {
        deps.log?.('could not refresh the model gauges', err);
      }
    },
  };
}
