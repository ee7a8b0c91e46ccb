import { describe, expect, it } from 'vitest';
import { rarefiedDistinct } from '../../../src/evaluation/coverage-estimate.js';

// The expected distinct items of a random subsample of lists (issue 11, fifty-seventh session, helper q4): the nested
// check bench/coverage-buyer-count.ts counts tuning's windows as the held-out month's number of buyers would show them.

describe('rarefiedDistinct', () => {
  // 4 lists; item A on all 4, B on 2, C on 1. Of C(4,2) = 6 pairs of lists: A is in all, B misses only the pair
  // without both of its lists (1 of 6), C misses the 3 pairs without its list.
  const incidence = [4, 2, 1];

  it('When 2 of 4 lists are drawn, Then the expected distinct items are 1 + 5/6 + 1/2', () => {
    expect(rarefiedDistinct(incidence, 4, 2)).toBeCloseTo(1 + 5 / 6 + 1 / 2, 12);
  });

  it("When 1 of 4 lists is drawn, Then it is the mean list's distinct items, 1 + 2/4 + 1/4", () => {
    expect(rarefiedDistinct(incidence, 4, 1)).toBeCloseTo(1.75, 12);
  });

  it('When as many lists or more are asked, Then every shown item counts (no extrapolation); none drawn shows nothing', () => {
    expect(rarefiedDistinct(incidence, 4, 4)).toBe(3);
    expect(rarefiedDistinct(incidence, 4, 9)).toBe(3);
    expect(rarefiedDistinct([0, 2, 0, 1], 4, 4)).toBe(2);
    expect(rarefiedDistinct(incidence, 4, 0)).toBe(0);
  });
});
