import { describe, expect, it } from 'vitest';
import { topK } from '../../../src/evaluation/top-k.js';

describe('topK', () => {
  it('When scores are distinct, Then it returns the k best indices best first', () => {
    expect(topK([0.1, 0.9, 0.5, 0.7, 0.3], 3)).toEqual([1, 3, 2]);
  });

  it('When scores tie, Then the lower item index ranks first', () => {
    expect(topK([0.5, 0.9, 0.5, 0.5], 3)).toEqual([1, 0, 2]);
  });

  it('When items score 0, negative or NaN, Then they are never returned, so the list can be shorter than k', () => {
    expect(topK([0, -1, 2, Number.NaN, 1], 4)).toEqual([2, 4]);
  });

  it('When an exclusion mask is given, Then masked items are skipped even if they score best', () => {
    expect(topK([9, 1, 8, 2], 2, Uint8Array.from([1, 0, 1, 0]))).toEqual([3, 1]);
  });

  it('When it agrees with a full sort on random scores, Then the partial selection is correct', () => {
    // Deterministic pseudo-random scores (LCG), compared with an independent sort-based ranking.
    let x = 12345;
    const scores = Array.from({ length: 500 }, () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.2);
    const expected = scores
      .map((s, i) => ({ s, i }))
      .filter((e) => e.s > 0)
      .sort((a, b) => b.s - a.s || a.i - b.i)
      .slice(0, 20)
      .map((e) => e.i);
    expect(topK(Float32Array.from(scores), 20)).toEqual(topK(scores, 20));
    expect(topK(scores, 20)).toEqual(expected);
  });
});
