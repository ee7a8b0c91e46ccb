import { describe, expect, it } from 'vitest';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { END, tasteGroupPurchases, withLongTail } from '../../helpers/taste-groups-shop.js';

// A recipe's tune.singleSourceCoverage reaches tuning as a training runs it (tuneRecipeOn), not only its schema.
// The long-tail shop (single-source-coverage.test.ts): EASE alone serves new items, and at any price
// (maxCoverageCost 1) a discount buys reach.
const recipe = (tune: Record<string, unknown>) =>
  parseRecipe(
    {
      sources: { 'buy-again': {}, ease: { params: { lambda: 10 } } },
      hybrid: { weights: { cold: { ease: 1 }, warm: { ease: 1 } } },
      tune: { folds: 3, days: 30, minCoverage: 0.9, maxCoverageCost: 1, variants: false, ...tune },
    },
    'tail',
  );

describe('a recipe\'s tune.singleSourceCoverage', () => {
  it('discount: tuning serves the single source re-ranked (its beta published); absent: the same search, not served', async () => {
    const end = new Date(END).toISOString();
    const tune = (r: ReturnType<typeof recipe>) => tuneRecipeOn({ events: withLongTail(tasteGroupPurchases()) }, r, end, undefined, { rounds: 0 });
    const on = await tune(recipe({ singleSourceCoverage: 'discount' }));
    const off = await tune(recipe({}));
    const [von, voff] = [on.validation as RollingValidation, off.validation as RollingValidation];
    // Preconditions: a source alone serves new items, and a discount is worth its price.
    expect(voff.served!.novel).toBe('ease');
    expect(voff.singleSourceDiscount!.popularityDiscount).toBeGreaterThan(0);
    expect(voff.singleSourceDiscount!.applied).toBe(false);
    expect(off.recipe.hybrid.popularityDiscount).toBe(0);
    expect(von.singleSourceDiscount!.applied).toBe(true);
    expect(on.recipe.hybrid.popularityDiscount).toBe(voff.singleSourceDiscount!.popularityDiscount);
    // The tuned recipe keeps its tune section as written.
    expect(on.recipe.tune?.singleSourceCoverage).toBe('discount');
  }, 60_000);
});
