import { RollingFold } from '../../src/evaluation/rolling-fold.js';
import type { Recipe } from '../../src/training/recipe.js';

const DAY = 86_400_000;

/**
 * `r`'s sources fitted on every purchase of `shop` before `from`, to be scored on the 30 days from there (K = 10,
 * the recipe's depth and discount), as the benches judge a tuned recipe held out. With `scored` (tuning's customer
 * sample), only those customers are scored and the sources tuning's folds fit on the sample are fitted on it
 * (rolling-fold.ts POPULATION_FITTED), as a fold of tuning would.
 */
export function heldOutFold(shop: ConstructorParameters<typeof RollingFold>[0], r: Recipe, from: number, scored?: readonly string[]): RollingFold {
  const end = new Date(from + 30 * DAY).toISOString();
  const fold = new RollingFold(shop, { end, days: 30, k: 10, fullHistoryOrders: r.hybrid.fullHistoryOrders, depth: r.hybrid.sourceLimit ?? 100, discountShare: r.hybrid.discountShare, ...(scored ? { scored } : {}) });
  for (const [source, s] of Object.entries(r.sources)) {
    fold.fit(source, s.recommender, s.params as Record<string, unknown>, 0);
    fold.keep(source, 0);
  }
  return fold;
}
