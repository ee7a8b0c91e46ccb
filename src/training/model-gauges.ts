import type { Metrics } from '../metrics.js';
import type { ModelMeta, ModelStore } from '../store/model-store.js';
import { goneFromStore } from './write-model-version.js';

/**
 * The model gauges, read from the model store before a scrape (so a version published by a worker
 * process or activated through another replica shows up): the active version and recipe
 * (`recsvc_model_active_info`), its age, how many of its artifacts and tables the store lost, and when
 * the newest kept version was trained. Without an active model neither the info nor the age has a series.
 * Beside them, what this process answers with from memory (`recsvc_model_served_info`, its age), which
 * outlives a Redis that is down or came back empty, and whether the store answered (`recsvc_model_store_up`).
 */
export function createModelGauges(deps: {
  store: Pick<ModelStore, 'getActive' | 'listVersions' | 'contentsOf'>;
  metrics: Pick<Metrics, 'activeModel' | 'activeModelAge' | 'activeModelGone' | 'lastTraining' | 'servedModel' | 'servedModelAge' | 'modelStoreUp'>;
  /** The model this process answers with (in memory), or null before it holds one. */
  served?: () => Pick<ModelMeta, 'version' | 'recipe' | 'trainedAt'> | null;
  /** How many customers were erased after an erasure mark (see goneFromStore). */
  erasedSince?: (mark: number) => Promise<number>;
  log?: (msg: string, err?: unknown) => void;
}) {
  const { activeModel, activeModelAge, activeModelGone, lastTraining, servedModel, servedModelAge, modelStoreUp } = deps.metrics;
  // Gauges without labels start at 0, which reads as a model trained this instant: no series until a
  // refresh finds one (a process that starts while the store does not answer).
  activeModelAge.remove();
  lastTraining.remove();
  return {
    /** Never rejects: a store that does not answer leaves the last values (and says so: recsvc_model_store_up 0). */
    async refresh(): Promise<void> {
      // What this process serves needs no store: set first, whatever the store does.
      const served = deps.served?.() ?? null;
      servedModel.reset();
      servedModelAge.reset();
      if (served) {
        servedModel.set({ version: served.version, recipe: served.recipe }, 1);
        servedModelAge.set(Math.max(0, (Date.now() - Date.parse(served.trainedAt)) / 1000));
      }
      let storeAnswered = false;
      try {
        const [active, versions] = await Promise.all([deps.store.getActive(), deps.store.listVersions()]);
        storeAnswered = true;
        // The store answered; what follows also asks Postgres (erasures), whose failure is not the store's.
        modelStoreUp.set(1);
        activeModel.reset();
        if (active) {
          activeModel.set({ version: active.version, recipe: active.recipe }, 1);
          activeModelAge.set(Math.max(0, (Date.now() - Date.parse(active.trainedAt)) / 1000));
          activeModelGone.set((await goneFromStore(deps.store, active, deps.erasedSince)).length);
        } else {
          // No series rather than 0 (reset() would leave 0 on a gauge without labels): 0 reads as a model
          // trained this instant, so an alert on its age would never fire exactly when there is none.
          activeModelAge.remove();
          activeModelGone.set(0);
        }
        const newest = Math.max(0, ...versions.map((v) => Date.parse(v.trainedAt)).filter(Number.isFinite));
        if (newest > 0) lastTraining.set(newest / 1000);
        else lastTraining.remove();
      } catch (err) {
        if (!storeAnswered) modelStoreUp.set(0);
        deps.log?.('could not refresh the model gauges', err);
      }
    },
  };
}
