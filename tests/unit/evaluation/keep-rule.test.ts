import { describe, expect, it } from 'vitest';
import { keepDecision, keepOwnHalfAsServed, servedWeights, type KeepInput } from '../../../src/evaluation/keep-rule.js';

/**
 * Hand-made judged objectives on three folds (oldest first). The numbers are written here, not computed:
 * each case is built so that the sum of the modes hides what one mode says.
 */

// Fashion-like (SEED 23's windows): the blend wins the new-item lists on every fold (0.21 against ALS's 0.20)
// and the own-item lists against buy-again on every fold (0.60 against 0.55 at worst), but ALS, which shows
// new items, reaches 0.64 on the middle fold's all-mode lists, so novel + all loses that fold (0.81 < 0.84).
const blendWinsNewItems: KeepInput = {
  blend: { novel: [0.21, 0.21, 0.21], all: [0.7, 0.6, 0.7] },
  sources: {
    als: { novel: [0.2, 0.2, 0.2], all: [0.65, 0.64, 0.65] },
    'item-knn': { novel: [0.15, 0.15, 0.15], all: [0.1, 0.1, 0.1] },
    'buy-again': { novel: [0, 0, 0], all: [0.55, 0.55, 0.55] },
  },
  novelCandidates: ['als', 'item-knn'],
  ownCandidates: ['buy-again'],
  blendActsOnCap: true,
};

// Grocery-like: the blend's own-item lists (0.77) double any source's that shows new items, so novel + all
// wins every fold, yet on the new-item lists item-kNN beats it on the last fold (0.090 against 0.085).
const blendLosesNewItems: KeepInput = {
  blend: { novel: [0.092, 0.093, 0.085], all: [0.77, 0.77, 0.77] },
  sources: {
    'item-knn': { novel: [0.091, 0.092, 0.09], all: [0.3, 0.3, 0.3] },
    ease: { novel: [0.085, 0.088, 0.083], all: [0.42, 0.42, 0.42] },
    repurchase: { novel: [0, 0, 0], all: [0.76, 0.76, 0.76] },
  },
  novelCandidates: ['item-knn', 'ease'],
  ownCandidates: ['repurchase'],
  blendActsOnCap: true,
};

describe('keepDecision', () => {
  it('sum: a blend that loses novel + all on one fold is replaced whole by the best single source', () => {
    expect(keepDecision('sum', blendWinsNewItems)).toEqual({ novel: 'als', all: 'als' });
  });

  it('per-mode: the same blend is kept whole: its new-item lists beat ALS and its own-item lists beat buy-again on every fold', () => {
    expect(keepDecision('per-mode', blendWinsNewItems)).toEqual({ novel: 'blend', all: 'blend' });
  });

  it('per-mode: own items go to the best source of own items when it beats the blend on a fold', () => {
    const repurchaseAhead = { ...blendWinsNewItems, sources: { ...blendWinsNewItems.sources, 'buy-again': { novel: [0, 0, 0], all: [0.55, 0.62, 0.55] } } };
    expect(keepDecision('per-mode', repurchaseAhead)).toEqual({ novel: 'blend', all: 'buy-again' });
  });

  it('sum: a blend whose own-item lists carry every fold is kept whole, though item-kNN beats its new-item lists on the last fold', () => {
    expect(keepDecision('sum', blendLosesNewItems)).toEqual({ novel: 'blend', all: 'blend' });
  });

  it('per-mode: item-kNN serves the new items there, and the blend keeps the own items (it beats repurchase on every fold)', () => {
    expect(keepDecision('per-mode', blendLosesNewItems)).toEqual({ novel: 'item-knn', all: 'blend' });
  });

  it('per-mode: a blend weighting only capped sources never keeps its new-item weights', () => {
    expect(keepDecision('per-mode', { ...blendWinsNewItems, blendActsOnCap: false })).toEqual({ novel: 'als', all: 'blend' });
  });
});

describe('servedWeights', () => {
  const blend = {
    weights: { cold: { als: 0.5, 'item-knn': 0.5 }, warm: { als: 0.7, 'item-knn': 0.3 } },
    repeatWeights: { cold: { 'buy-again': 1 }, warm: { 'buy-again': 0.6, als: 0.4 } },
    popularityDiscount: 0.2,
  };

  it('serves the blend\'s new-item weights and one source alone on own items', () => {
    expect(servedWeights({ novel: 'blend', all: 'als' }, blend)).toEqual({ weights: blend.weights, repeatWeights: { cold: { als: 1 }, warm: { als: 1 } }, popularityDiscount: 0.2 });
  });

  it('serves one source alone on new items (no discount) and the blend\'s own-item weights', () => {
    expect(servedWeights({ novel: 'item-knn', all: 'blend' }, blend)).toEqual({ weights: { cold: { 'item-knn': 1 }, warm: { 'item-knn': 1 } }, repeatWeights: blend.repeatWeights, popularityDiscount: 0 });
  });

  it('one source for both is that source alone, without repeat weights', () => {
    expect(servedWeights({ novel: 'als', all: 'als' }, blend)).toEqual({ weights: { cold: { als: 1 }, warm: { als: 1 } }, popularityDiscount: 0 });
  });
});

describe('keepOwnHalfAsServed', () => {
  const split = { novel: 'item-knn', all: 'blend' };
  it('keeps the blend\'s own items when, beside the single source\'s new items, they still beat repurchase on every fold', () => {
    expect(keepOwnHalfAsServed(split, [0.77, 0.78, 0.761], blendLosesNewItems)).toEqual(split);
  });

  it('gives the own items to repurchase when, as served, they lose one fold to it (0.75 against 0.76)', () => {
    expect(keepOwnHalfAsServed(split, [0.77, 0.75, 0.77], blendLosesNewItems)).toEqual({ novel: 'item-knn', all: 'repurchase' });
  });

  it('leaves a decision that serves the blend whole, or no own-item weights of it, as it is', () => {
    expect(keepOwnHalfAsServed({ novel: 'blend', all: 'blend' }, [0, 0, 0], blendLosesNewItems)).toEqual({ novel: 'blend', all: 'blend' });
    expect(keepOwnHalfAsServed({ novel: 'item-knn', all: 'repurchase' }, [0, 0, 0], blendLosesNewItems)).toEqual({ novel: 'item-knn', all: 'repurchase' });
  });
});
