import { describe, expect, it } from 'vitest';
import type { BlendScores } from '../../../src/evaluation/blend-cache.js';
import { pooledScores } from '../../../src/evaluation/rolling-tune.js';
import { tuneWeights, type BlendTrial } from '../../../src/evaluation/tune.js';
import { foldWeightsOf, ownItemFoldWeightsOf, type FoldWeightRule } from '../../../src/evaluation/tuning-rules.js';

/**
 * `recency-new-items` (bench/README "Rule (3) with all-mode protected"): rule (3)'s recency weights for the
 * weights on new items, equal folds for the search of the weights on own items. Hand-made all-mode NDCG per
 * fold (oldest first) for each own-item blend of buy-again (g) and repurchase (r), warm weights 0 or 1.
 */
const all = (ndcg: number): BlendScores => ({
  novel: { ndcg: 0, recall: 0, coverage: 0, reach: 0, users: 100 },
  all: { ndcg, recall: ndcg, coverage: 0, reach: 0, users: 100 },
});
// g alone is steady (0.40 on every fold: mean 0.400, by recency 0.400); g + r is best on the oldest fold and
// worse on the latest (0.50, 0.41, 0.34: mean 0.417, by recency 0.392).
const folds: Record<string, BlendScores[]> = {
  '10': [all(0.4), all(0.4), all(0.4)],
  '11': [all(0.5), all(0.41), all(0.34)],
  '01': [all(0.3), all(0.3), all(0.3)],
};
const blendOf = (t: BlendTrial) => `${t.repeatWeights?.warm.g ?? 0}${t.repeatWeights?.warm.r ?? 0}`;
const newItems = { cold: { x: 1 }, warm: { x: 1 } };

/** The own-item search as rolling-tune runs it (new-item weights held, repeat weights moved), pooled under `rule`. */
const ownItemSearch = (rule: FoldWeightRule) =>
  tuneWeights((t) => pooledScores(folds[blendOf(t)], 'mean', ownItemFoldWeightsOf(rule, 3)), ['g', 'r'], newItems, {
    grid: [0, 1],
    discountGrid: [],
    modes: ['all'],
    repeatWeights: { cold: { g: 1 }, warm: { g: 1 } },
  });

describe('foldWeights recency-new-items', () => {
  it('weighs the folds 1, 2, 3 for the weights on new items and equally for those on own items', () => {
    expect(foldWeightsOf('recency-new-items', 3)).toEqual([1, 2, 3]);
    expect(ownItemFoldWeightsOf('recency-new-items', 3)).toBeUndefined();
    expect(ownItemFoldWeightsOf('recency', 3)).toEqual([1, 2, 3]);
    expect(ownItemFoldWeightsOf('equal', 3)).toBeUndefined();
  });

  it('recency: the own-item search keeps buy-again alone (0.400 against 0.392 by recency)', async () => {
    const found = await ownItemSearch('recency');
    expect(found.repeatWeights?.warm).toEqual({ g: 1 });
    expect(found.weights).toEqual(newItems);
  });

  it('recency-new-items: the own-item search pools the folds equally, as by default, and takes buy-again + repurchase (0.417)', async () => {
    const found = await ownItemSearch('recency-new-items');
    expect(found.repeatWeights?.warm).toEqual({ g: 1, r: 1 });
    expect((await ownItemSearch('equal')).repeatWeights?.warm).toEqual({ g: 1, r: 1 });
    expect(found.scores.all.ndcg).toBeCloseTo((0.5 + 0.41 + 0.34) / 3, 12);
  });
});
