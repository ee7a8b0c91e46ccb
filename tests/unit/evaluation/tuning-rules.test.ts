import { describe, expect, it } from 'vitest';
import type { BlendScores } from '../../../src/evaluation/blend-cache.js';
import { pooledScores } from '../../../src/evaluation/rolling-tune.js';
import { tuneWeights, type BlendTrial } from '../../../src/evaluation/tune.js';
import { boundedCoverage, coverageNdcgFloor, foldWeightsOf, weightedMeanScores } from '../../../src/evaluation/tuning-rules.js';

/**
 * Hand-made folds: each blend of two sources a and b (their warm weights 0 or 1; the cold ones change
 * nothing) has novel NDCG and reach written here per fold, oldest first. The numbers are chosen so that
 * the rule under test changes which blend the search settles on.
 */
const score = (ndcg: number, reach: number): BlendScores => ({
  novel: { ndcg, recall: ndcg, coverage: reach, reach, users: 100 },
  all: { ndcg: 0, recall: 0, coverage: 0, reach: 0, users: 100 },
});
const blendOf = (t: BlendTrial) => `${t.weights.warm.a ?? 0}${t.weights.warm.b ?? 0}`;
const start = { cold: { a: 1 }, warm: { a: 1 } };
const search = { grid: [0, 1], discountGrid: [], modes: ['novel'] as const };

describe('rule (3): fold weights by recency', () => {
  // a alone leads on the oldest window and drifts down (0.30, 0.20, 0.10: mean 0.200, by recency 0.167);
  // a + b climbs (0.16, 0.18, 0.20: mean 0.180, by recency 0.187).
  const folds: Record<string, BlendScores[]> = {
    '10': [score(0.3, 0.1), score(0.2, 0.1), score(0.1, 0.1)],
    '11': [score(0.16, 0.1), score(0.18, 0.1), score(0.2, 0.1)],
    '01': [score(0.1, 0.1), score(0.1, 0.1), score(0.1, 0.1)],
  };
  const tuneWith = (weights: number[] | undefined) => tuneWeights((t) => pooledScores(folds[blendOf(t)], 'mean', weights), ['a', 'b'], start, search);

  it('weighs the folds 1, 2, 3 oldest first, and equal folds as the plain mean', () => {
    expect(foldWeightsOf('recency', 3)).toEqual([1, 2, 3]);
    expect(foldWeightsOf('equal', 3)).toBeUndefined();
    expect(weightedMeanScores(folds['10'], [1, 2, 3]).novel.ndcg).toBeCloseTo((0.3 + 0.4 + 0.3) / 6, 12);
    expect(pooledScores(folds['10'], 'mean', undefined).novel.ndcg).toBeCloseTo(0.2, 12);
  });

  it('equal: the search keeps a alone, the best on the mean of the folds', async () => {
    expect((await tuneWith(foldWeightsOf('equal', 3))).weights.warm).toEqual({ a: 1 });
  });

  it('recency: the search takes a + b, whose lead is on the latest window', async () => {
    expect((await tuneWith(foldWeightsOf('recency', 3))).weights.warm).toEqual({ a: 1, b: 1 });
  });
});

describe('rule (2): the coverage price bounded by the best single source', () => {
  // The most accurate blend is a alone (0.200, reach 0.10). a + b reaches the requirement (0.30) at novel
  // 0.185: within a tenth of 0.200 (floor 0.180), but below the best single source's 0.190 (say, EASE alone).
  const pooled: Record<string, BlendScores> = { '10': score(0.2, 0.1), '11': score(0.185, 0.3), '01': score(0.15, 0.2) };
  const evaluate = (t: BlendTrial) => pooled[blendOf(t)];
  const floorOf = { bestSingleNovel: 0.19, maxCost: 0.1 };

  it('takes the floor as a tenth below the accurate blend, or the best single source when that is higher (never above the accurate blend)', () => {
    expect(coverageNdcgFloor('accuracy-share', 0.2, 0.19, 0.1)).toBeCloseTo(0.18, 12);
    expect(coverageNdcgFloor('best-single', 0.2, 0.19, 0.1)).toBeCloseTo(0.19, 12);
    expect(coverageNdcgFloor('best-single', 0.2, 0.15, 0.1)).toBeCloseTo(0.18, 12);
    expect(coverageNdcgFloor('best-single', 0.2, 0.25, 0.1)).toBeCloseTo(0.2, 12);
  });

  const run = async (rule: 'accuracy-share' | 'best-single') => {
    const accurate = await tuneWeights(evaluate, ['a', 'b'], start, { ...search, minCoverage: 0 });
    const coverage = { ...search, minCoverage: 0.3 };
    const free = await tuneWeights(evaluate, ['a', 'b'], accurate.weights, coverage);
    return { accurate, free, bounded: await boundedCoverage(evaluate, ['a', 'b'], accurate, free, coverage, { rule, ...floorOf }) };
  };

  it('accuracy-share: the coverage search pays 7.5% for coverage 0.30 and keeps a + b', async () => {
    const { accurate, free, bounded } = await run('accuracy-share');
    expect(accurate.weights.warm).toEqual({ a: 1 });
    expect(free.weights.warm).toEqual({ a: 1, b: 1 });
    expect(bounded.weights.warm).toEqual({ a: 1, b: 1 });
  });

  it('best-single: a + b falls below the best single source, so the accurate blend is kept', async () => {
    const { bounded } = await run('best-single');
    expect(bounded.weights.warm).toEqual({ a: 1 });
    expect(bounded.scores.novel.ndcg).toBe(0.2);
  });
});
