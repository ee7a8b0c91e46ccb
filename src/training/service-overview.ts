import type { CustomerRepository, DataCounts } from '../data/customer-repository.js';
import type { ModelStore } from '../store/model-store.js';

/** What the dashboard's overview shows first: the data held and the model served. */
export interface ServiceOverview {
  counts: DataCounts;
  model: {
    version: string;
    recipe: string;
    trainedAt: string;
    /** Seconds since the served version was trained. */
    ageSeconds: number;
    /** Strategies the served version answers (`hybrid` and its recommenders). */
    strategies: string[];
  } | null;
}

export type ServiceOverviewReader = () => Promise<ServiceOverview>;

/** Reads the counts and the active model side by side; nothing is cached, so the numbers match the API's. */
export function createServiceOverview(deps: {
  customers: Pick<CustomerRepository, 'counts'>;
  store: Pick<ModelStore, 'getActive'>;
  offeredStrategies: () => Promise<readonly string[] | null>;
  now?: () => number;
}): ServiceOverviewReader {
  const now = deps.now ?? Date.now;
  return async () => {
    const [counts, active, strategies] = await Promise.all([deps.customers.counts(), deps.store.getActive(), deps.offeredStrategies()]);
    const model = active && {
      version: active.version,
      recipe: active.recipe,
      trainedAt: active.trainedAt,
      ageSeconds: Math.max(0, Math.round((now() - Date.parse(active.trainedAt)) / 1000)),
      strategies: [...(strategies ?? [])],
    };
    return { counts, model };
  };
}
