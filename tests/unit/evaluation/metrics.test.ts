import { describe, expect, it } from 'vitest';
import {
  averagePrecisionAt,
  catalogCoverage,
  hitRateAt,
  intraListDiversity,
  itemNovelty,
  maskedShare,
  meanIntraListDiversity,
  ndcgAt,
  novelty,
  popularTopMask,
  precisionAt,
  recallAt,
  userCoverage,
} from '../../../src/evaluation/metrics.js';

const L2 = Math.log2;

describe('ranking metrics', () => {
  // relevant = {1, 2, 3, 4}, ranked = [1, 9, 3, 8, 7], k = 5: hits at ranks 1 and 3.
  const rel = new Set([1, 2, 3, 4]);
  const ranked = [1, 9, 3, 8, 7];

  it('When two of five are hits, Then precision is hits/k and recall is hits/min(k,|rel|)', () => {
    expect(precisionAt(rel, ranked, 5)).toBeCloseTo(2 / 5, 12); // 2 hits / k=5
    expect(recallAt(rel, ranked, 5)).toBeCloseTo(2 / 4, 12); // 2 hits / min(5, 4) = 4
    expect(hitRateAt(rel, ranked, 5)).toBe(1);
  });

  it('When hits are at ranks 1 and 3, Then NDCG uses log2(rank+1) and ideal DCG over min(k,|rel|) items', () => {
    // DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5
    // IDCG over min(5,4)=4 items = 1 + 1/log2(3) + 1/log2(4) + 1/log2(5)
    const idcg = 1 + 1 / L2(3) + 0.5 + 1 / L2(5);
    expect(ndcgAt(rel, ranked, 5)).toBeCloseTo(1.5 / idcg, 12);
    // k = 3: DCG unchanged (hits at 1 and 3), IDCG over 3 items = 1 + 1/log2(3) + 1/2
    expect(ndcgAt(rel, ranked, 3)).toBeCloseTo(1.5 / (1.5 + 1 / L2(3)), 12);
  });

  it('When hits are at ranks 1 and 3, Then MAP sums precision at hit ranks over min(k,|rel|)', () => {
    // precision@1 = 1/1, precision@3 = 2/3; sum = 5/3; divided by min(5,4) = 4 -> 5/12
    expect(averagePrecisionAt(rel, ranked, 5)).toBeCloseTo(5 / 12, 12);
    // k = 2: only the hit at rank 1 counts: 1 / min(2,4) = 1/2
    expect(averagePrecisionAt(rel, ranked, 2)).toBeCloseTo(1 / 2, 12);
  });

  it('When |relevant| < k and every relevant item is ranked first, Then recall, NDCG and MAP are 1 but precision is not', () => {
    const one = new Set([7]);
    expect(precisionAt(one, [7, 1, 2], 3)).toBeCloseTo(1 / 3, 12); // 1 hit / k=3
    expect(recallAt(one, [7, 1, 2], 3)).toBe(1); // 1 / min(3,1)
    expect(ndcgAt(one, [7, 1, 2], 3)).toBe(1); // (1/log2 2) / (1/log2 2)
    expect(averagePrecisionAt(one, [7, 1, 2], 3)).toBe(1); // (1/1) / min(3,1)
  });

  it('When the single relevant item is at rank k instead of rank 1, Then NDCG and MAP drop accordingly', () => {
    const one = new Set([7]);
    // rank 3 of k=3: DCG = 1/log2(4) = 0.5, IDCG = 1 -> 0.5
    expect(ndcgAt(one, [1, 2, 7], 3)).toBeCloseTo(0.5, 12);
    // precision@3 = 1/3, divided by min(3,1) = 1
    expect(averagePrecisionAt(one, [1, 2, 7], 3)).toBeCloseTo(1 / 3, 12);
    expect(recallAt(one, [1, 2, 7], 3)).toBe(1);
    expect(hitRateAt(one, [1, 2, 7], 3)).toBe(1);
  });

  it('When no ranked item is relevant, Then every ranking metric is 0', () => {
    const r = new Set([5, 6]);
    for (const f of [precisionAt, recallAt, ndcgAt, averagePrecisionAt, hitRateAt]) expect(f(r, [1, 2, 3], 3)).toBe(0);
  });

  it('When a hit lies beyond k, Then it does not count', () => {
    const r = new Set([4]);
    expect(precisionAt(r, [1, 2, 3, 4], 3)).toBe(0);
    expect(hitRateAt(r, [1, 2, 3, 4], 3)).toBe(0);
    expect(ndcgAt(r, [1, 2, 3, 4], 3)).toBe(0);
  });

  it('When the list is shorter than k, Then precision still divides by k', () => {
    const r = new Set([1, 2]);
    expect(precisionAt(r, [1], 10)).toBeCloseTo(0.1, 12); // 1/10
    expect(recallAt(r, [1], 10)).toBeCloseTo(0.5, 12); // 1/min(10,2)
  });

  it('When every slot is a hit and |relevant| > k, Then recall, NDCG and MAP are 1', () => {
    const r = new Set([1, 2, 3, 4, 5]);
    expect(recallAt(r, [1, 2], 2)).toBe(1);
    expect(ndcgAt(r, [2, 1], 2)).toBeCloseTo(1, 12);
    expect(averagePrecisionAt(r, [1, 2], 2)).toBe(1); // (1/1 + 2/2) / 2
  });
});

describe('run-level metrics', () => {
  it('catalog coverage counts distinct recommended items over the catalog size', () => {
    // distinct {0,1,2,5} = 4 of 10
    expect(catalogCoverage([[0, 1], [1, 2], [5], []], 10)).toBeCloseTo(0.4, 12);
  });

  it('user coverage is the share of users with at least one recommendation', () => {
    expect(userCoverage([[0], [], [1, 2], []])).toBe(0.5); // 2 of 4
  });

  it('intra-list diversity is 1 minus the mean pairwise similarity', () => {
    // sim = 1 when both items are even, else 0
    const sim = (a: number, b: number) => (a % 2 === 0 && b % 2 === 0 ? 1 : 0);
    // pairs (0,1)=0, (0,2)=1, (1,2)=0 -> mean 1/3 -> diversity 2/3
    expect(intraListDiversity([0, 1, 2], sim)).toBeCloseTo(2 / 3, 12);
    expect(intraListDiversity([4], sim)).toBeNull();
    // [0,2] -> sim 1 -> diversity 0; [1,3] -> 0 -> diversity 1; [5] skipped; mean (0 + 1) / 2
    expect(meanIntraListDiversity([[0, 2], [1, 3], [5]], sim)).toBeCloseTo(0.5, 12);
  });

  it('novelty is the per-list mean of -log2(buyers/trainUsers), averaged over non-empty lists', () => {
    const buyers = [8, 4, 1, 0];
    // 16 train users: item0 -log2(8/16)=1, item1 -log2(4/16)=2, item2 -log2(1/16)=4, item3 (0 buyers -> 1) = 4
    expect(itemNovelty(8, 16)).toBeCloseTo(1, 12);
    expect(itemNovelty(0, 16)).toBeCloseTo(4, 12);
    // list A [0,1] -> (1+2)/2 = 1.5; list B [2] -> 4; empty list skipped; mean (1.5+4)/2 = 2.75
    expect(novelty([[0, 1], [2], []], buyers, 16)).toBeCloseTo(2.75, 12);
    expect(novelty([[]], buyers, 16)).toBeNull();
  });

  it('popular top-n mask takes the most-bought items, ties to the lower index', () => {
    // buyers: item0 3, item1 5, item2 3, item3 1 -> order 1, 0, 2, 3 -> top-2 = {1, 0}
    expect([...popularTopMask([3, 5, 3, 1], 2)]).toEqual([1, 1, 0, 0]);
    // 5 slots, items 1,0,1 in mask, 3 and 3 not -> 3/5
    expect(maskedShare([[1, 3], [0, 1, 3]], popularTopMask([3, 5, 3, 1], 2))).toBeCloseTo(3 / 5, 12);
    expect(maskedShare([[]], [1])).toBeNull();
  });
});
