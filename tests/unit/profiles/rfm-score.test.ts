import { describe, expect, it } from 'vitest';
import { midRankPercentiles, quintileScores } from '../../../src/profiles/rfm-score.js';

describe('quintile scores by mid-rank percentile', () => {
  it('splits ten distinct values into five equal groups whatever their input order', () => {
    // p = (rank - 0.5) / 10 = 0.05, 0.15, ..., 0.95 -> 1 + floor(5p) = 1,1,2,2,3,3,4,4,5,5
    const values = [70, 10, 100, 40, 20, 90, 30, 60, 50, 80];
    expect(Array.from(quintileScores(values))).toEqual([4, 1, 5, 2, 1, 5, 2, 3, 3, 4]);
  });

  it('gives tied values one averaged percentile and so the same score', () => {
    // 1,1,1: L=0 E=3 -> p=1.5/5=0.3 -> 2;  2: L=3 E=1 -> p=3.5/5=0.7 -> 4;  5: L=4 E=1 -> p=0.9 -> 5
    expect(Array.from(midRankPercentiles([1, 2, 1, 5, 1]))).toEqual([0.3, 0.7, 0.3, 0.9, 0.3]);
    expect(Array.from(quintileScores([1, 2, 1, 5, 1]))).toEqual([2, 4, 2, 5, 2]);
  });

  it('puts a population where everyone is equal in the middle score', () => {
    expect(Array.from(quintileScores([7, 7, 7, 7]))).toEqual([3, 3, 3, 3]);
  });

  it('scores a cut point exactly: p = 0.2 lands in score 2, not 1', () => {
    // 0: L=0 E=4 -> p = 2/10 = 0.2 -> 1 + floor(1.0) = 2 (integer arithmetic, no 0.999... rounding);
    // 1..6: p = 0.45, 0.55, 0.65, 0.75, 0.85, 0.95 -> 3, 3, 4, 4, 5, 5
    expect(Array.from(quintileScores([0, 0, 0, 0, 1, 2, 3, 4, 5, 6]))).toEqual([2, 2, 2, 2, 3, 3, 4, 4, 5, 5]);
  });

  it('ranks recency inverted when given negated days: fewest days scores 5', () => {
    const days = [0, 60, 10];
    expect(Array.from(quintileScores(days.map((d) => -d)))).toEqual([5, 1, 3]);
  });

  it('handles an empty population', () => {
    expect(quintileScores([]).length).toBe(0);
  });
});
