import { describe, expect, it } from 'vitest';
import { GroupSet } from '../../../src/evaluation/eval-groups.js';
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

describe('topK with product groups', () => {
  it('When a better sibling comes after a worse one already taken, Then it takes the group\'s place and the list keeps k groups', () => {
    // Items 0 and 3 are one group, 1 and 4 another; 2 has none.
    const of = Int32Array.from([0, 1, -1, 0, 1]);
    expect(topK([0.5, 0.4, 0.3, 0.9, 0.1], 3, undefined, undefined, { of })).toEqual([3, 1, 2]);
    expect(topK([0.5, 0.4, 0.3, 0.9, 0.1], 2, undefined, undefined, { of })).toEqual([3, 1]);
  });

  it('When a group is blocked, Then none of its items is listed', () => {
    const of = Int32Array.from([0, 1, -1, 0, 1]);
    const blocked = new GroupSet(2);
    blocked.add(0);
    expect(topK([0.5, 0.4, 0.3, 0.9, 0.1], 3, undefined, undefined, { of, blocked })).toEqual([1, 2]);
    blocked.clear();
    expect(topK([0.5, 0.4, 0.3, 0.9, 0.1], 3, undefined, undefined, { of, blocked })).toEqual([3, 1, 2]);
  });

  it('When it agrees with a full sort keeping each group\'s first on random scores and groups, Then the selection is correct', () => {
    let x = 777;
    const next = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20; round++) {
      const scores = Array.from({ length: 400 }, () => Math.round(next() * 50) / 50 - 0.1);
      const of = Int32Array.from(scores, () => (next() < 0.2 ? -1 : Math.floor(next() * 60)));
      const seen = new Set<number>();
      const expected = scores
        .map((s, i) => ({ s, i }))
        .filter((e) => e.s > 0)
        .sort((a, b) => b.s - a.s || a.i - b.i)
        .filter((e) => of[e.i] < 0 || (!seen.has(of[e.i]) && seen.add(of[e.i]) !== undefined))
        .slice(0, 15)
        .map((e) => e.i);
      expect(topK(scores, 15, undefined, undefined, { of })).toEqual(expected);
    }
  });
});
