import { describe, expect, it } from 'vitest';
import { erfc, twoProportionZTest, twoSidedP } from '../../../src/evaluation/significance.js';

// Reference values: standard normal tables, to more digits with scipy (`2 * norm.sf(z)`, `special.erfc`).
describe('two-sided p-values', () => {
  it('When z is 0, 1.96, 3 or 5, Then p is 1, 0.05, 0.0027 and 5.7e-7 (either sign of z)', () => {
    expect(twoSidedP(0)).toBeCloseTo(1, 6);
    expect(twoSidedP(1.959963984540054)).toBeCloseTo(0.05, 6);
    expect(twoSidedP(-1.959963984540054)).toBeCloseTo(0.05, 6);
    expect(twoSidedP(3)).toBeCloseTo(0.0026997960632601866, 7);
    // Far in the tail the relative error stays small (1 - erf would lose every digit here).
    expect(twoSidedP(5) / 5.733031437583866e-7).toBeCloseTo(1, 5);
  });

  it('When erfc is taken of negative and positive arguments, Then it matches the tables', () => {
    expect(erfc(0.3)).toBeCloseTo(0.6713732405408726, 6);
    expect(erfc(-1.2)).toBeCloseTo(1.9103139782296354, 6);
    expect(erfc(2.5)).toBeCloseTo(0.00040695201744495886, 9);
  });
});

describe('pooled two-proportion z-test', () => {
  it('When control has 10 of 100 and treatment 20 of 100, Then z = 0.1 / sqrt(0.15 * 0.85 * 0.02) = 1.9803 and p = 0.0477', () => {
    // pooled rate 30/200 = 0.15; SE = sqrt(0.15 * 0.85 * (1/100 + 1/100)) = sqrt(0.00255) = 0.0504975
    const t = twoProportionZTest({ successes: 10, trials: 100 }, { successes: 20, trials: 100 })!;
    expect(t.z).toBeCloseTo(1.98029509, 6);
    expect(t.p).toBeCloseTo(0.04767038, 6);
  });

  it('When the treatment is worse (15 of 150 against 30 of 200), Then z is negative: -1.3830, p = 0.1667', () => {
    // pooled 45/350 = 0.128571; SE = sqrt(0.128571 * 0.871429 * (1/200 + 1/150)) = 0.036157; z = (0.1 - 0.15) / SE
    const t = twoProportionZTest({ successes: 30, trials: 200 }, { successes: 15, trials: 150 })!;
    expect(t.z).toBeCloseTo(-1.38295636, 6);
    expect(t.p).toBeCloseTo(0.16667825, 6);
  });

  it('When both arms have the same rate, Then z = 0 and p = 1', () => {
    const t = twoProportionZTest({ successes: 5, trials: 50 }, { successes: 10, trials: 100 })!;
    expect(t.z).toBeCloseTo(0, 12);
    expect(t.p).toBeCloseTo(1, 6);
  });

  it('When an arm has no trials, more successes than trials, or neither arm varies, Then there is no test', () => {
    expect(twoProportionZTest({ successes: 0, trials: 0 }, { successes: 1, trials: 10 })).toBeNull();
    expect(twoProportionZTest({ successes: 1, trials: 10 }, { successes: 0, trials: 0 })).toBeNull();
    expect(twoProportionZTest({ successes: 12, trials: 10 }, { successes: 1, trials: 10 })).toBeNull();
    expect(twoProportionZTest({ successes: 0, trials: 10 }, { successes: 0, trials: 30 })).toBeNull();
    expect(twoProportionZTest({ successes: 10, trials: 10 }, { successes: 30, trials: 30 })).toBeNull();
  });
});
