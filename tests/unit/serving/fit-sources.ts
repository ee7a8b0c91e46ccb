import type { Dataset } from '../../../src/recommenders/dataset.js';
import { createHybrid } from '../../../src/recommenders/hybrid.js';
import type { Recommender } from '../../../src/recommenders/recommender.js';
import { recommenderFactory } from '../../../src/recommenders/registry.js';

/** Small-fixture hyperparameters: segments from 5 buyers, pairs from 2 orders, tiny ALS. */
export const FIXTURE_PARAMS: Record<string, unknown> = {
  popularity: { minSegmentBuyers: 5, halfLifeDays: null },
  'item-knn': { shrink: 0 },
  content: {},
  cooccurrence: { minSupport: 2 },
  als: { factors: 4, iterations: 5 },
  'buy-again': {},
};

/** Fits every source with the fixture parameters and blends them, as a recipe would. */
export function fitSources(ds: Dataset, names = Object.keys(FIXTURE_PARAMS)) {
  const sources = new Map<string, Recommender>();
  for (const name of names) {
    const factory = recommenderFactory(name)!;
    sources.set(name, factory.fit(ds, factory.parseParams(FIXTURE_PARAMS[name])));
  }
  const has = (n: string) => sources.has(n);
  const pick = (w: Record<string, number>) => Object.fromEntries(Object.entries(w).filter(([n]) => has(n)));
  const hybrid = createHybrid(sources, {
    weights: {
      cold: pick({ popularity: 1, content: 0.5 }),
      warm: pick({ 'item-knn': 1, cooccurrence: 0.5, content: 0.3, als: 0.5, popularity: 0.1 }),
    },
    fullHistoryOrders: 10,
    normalisation: 'max',
    rankDepth: 200,
  });
  return { sources, hybrid };
}
