import { describe, expect, it } from 'vitest';
import { parseRecipe } from '../../../src/training/recipe.js';

// tune.blendJudgedOn (bench/README "Judging the blend out of fold"): a recipe's tune section names it like the
// other tuning rules; absent unless set; a misspelt value is refused by its path.
const small = () => ({
  sources: { popularity: { params: { minSegmentBuyers: 5 } }, 'item-knn': { params: { shrink: 1 } } },
  hybrid: { weights: { cold: { popularity: 1 }, warm: { 'item-knn': 1 } }, fullHistoryOrders: 5 },
});

describe('recipe tune: blendJudgedOn', () => {
  it('takes out-of-fold and in-fold, and leaves it absent when unset', () => {
    for (const blendJudgedOn of ['out-of-fold', 'in-fold']) expect(parseRecipe({ ...small(), tune: { blendJudgedOn } }, 'r').tune).toMatchObject({ blendJudgedOn });
    expect(parseRecipe({ ...small(), tune: { folds: 3 } }, 'r').tune).not.toHaveProperty('blendJudgedOn');
  });

  it('refuses a near miss, naming the field', () => {
    expect(() => parseRecipe({ ...small(), tune: { blendJudgedOn: 'out-of-folds' } }, 'bad')).toThrow(/tune\.blendJudgedOn/);
  });
});
