import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../src/training/recipe.js';

// The forty-ninth session's tuning options (bench/README "Rule (3) with all-mode protected"): a recipe's
// tune section names them like the rules before them; a misspelt one is refused by its path.
const small = () => ({
  sources: { popularity: { params: { minSegmentBuyers: 5 } }, 'item-knn': { params: { shrink: 1 } } },
  hybrid: { weights: { cold: { popularity: 1 }, warm: { 'item-knn': 1 } }, fullHistoryOrders: 5 },
});

describe('recipe tune: recency-new-items and per-mode-single', () => {
  it('takes foldWeights recency-new-items and keepRule per-mode-single', () => {
    const tune = { foldWeights: 'recency-new-items', keepRule: 'per-mode-single' };
    expect(parseRecipe({ ...small(), tune }, 'r').tune).toMatchObject(tune);
  });

  it('refuses a near miss of either, naming the field', () => {
    for (const [key, bad] of [['foldWeights', 'recency-new'], ['keepRule', 'per-mode-whole']] as const) {
      expect(() => parseRecipe({ ...small(), tune: { [key]: bad } }, 'bad')).toThrow(new RegExp(`tune\\.${key}`));
    }
  });
});
