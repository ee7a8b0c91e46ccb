import { describe, expect, it } from 'vitest';
import { fitLogistic } from '../../../src/recommenders/logistic.js';

const logit = (p: number) => Math.log(p / (1 - p));

/** Rows of one binary feature: `n0` rows at 0 with `pos0` positives, `n1` at 1 with `pos1`. */
function binaryGroups(n0: number, pos0: number, n1: number, pos1: number, scale = 1) {
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < n0; i++) (x.push(0), y.push(i < pos0 ? 1 : 0));
  for (let i = 0; i < n1; i++) (x.push(scale), y.push(i < pos1 ? 1 : 0));
  return { x: Float64Array.from(x), y: Uint8Array.from(y) };
}

describe('fitLogistic', () => {
  it('without a penalty, one binary feature gives the two groups’ log-odds (the maximum-likelihood solution)', () => {
    // Group 0: 2 of 10 positive, group 1: 7 of 10. The MLE fits each group's rate exactly:
    // intercept = logit(0.2) = -1.3863, coefficient = logit(0.7) - logit(0.2) = 0.8473 + 1.3863 = 2.2336.
    const { x, y } = binaryGroups(10, 2, 10, 7);
    const w = fitLogistic(x, y, 1, 0, 50)!;
    expect(w[1]).toBeCloseTo(logit(0.2), 6);
    expect(w[0]).toBeCloseTo(logit(0.7) - logit(0.2), 6);
  });

  it('returns coefficients on the raw features: scaling a feature by 100 divides its coefficient by 100', () => {
    const plain = fitLogistic(...Object.values(binaryGroups(10, 2, 10, 7)) as [Float64Array, Uint8Array], 1, 0, 50)!;
    const { x, y } = binaryGroups(10, 2, 10, 7, 100);
    const scaled = fitLogistic(x, y, 1, 0, 50)!;
    expect(scaled[0] * 100).toBeCloseTo(plain[0], 6);
    expect(scaled[1]).toBeCloseTo(plain[1], 6);
  });

  it('shrinks the coefficients toward 0 under an L2 penalty, not the intercept’s share of the base rate', () => {
    const { x, y } = binaryGroups(10, 2, 10, 7);
    const free = fitLogistic(x, y, 1, 0, 50)!;
    const some = fitLogistic(x, y, 1, 5, 50)!;
    const much = fitLogistic(x, y, 1, 500, 50)!;
    expect(some[0]).toBeGreaterThan(0);
    expect(some[0]).toBeLessThan(free[0]);
    expect(much[0]).toBeLessThan(some[0]);
    // With the slope gone, the prediction is the overall rate, 9 of 20, everywhere.
    expect(much[1] + much[0] * 0.5).toBeCloseTo(logit(9 / 20), 1);
  });

  it('gives a constant feature no weight and leaves the others as they were', () => {
    const { x: one, y } = binaryGroups(10, 2, 10, 7);
    const x = new Float64Array(one.length * 2);
    one.forEach((v, i) => ((x[2 * i] = v), (x[2 * i + 1] = 3)));
    const w = fitLogistic(x, y, 2, 0, 50)!;
    expect(w[1]).toBe(0);
    expect(w[0]).toBeCloseTo(logit(0.7) - logit(0.2), 6);
    expect(w[2]).toBeCloseTo(logit(0.2), 6);
  });

  it('returns null when every label is the same: there is nothing to separate', () => {
    expect(fitLogistic(Float64Array.of(1, 2, 3), Uint8Array.of(0, 0, 0), 1, 1, 10)).toBeNull();
    expect(fitLogistic(Float64Array.of(1, 2), Uint8Array.of(1, 1), 1, 1, 10)).toBeNull();
  });

  it('does not throw on two identical features without a penalty: it returns a finite fit or null', () => {
    const { x: one, y } = binaryGroups(10, 2, 10, 7);
    const x = new Float64Array(one.length * 2);
    one.forEach((v, i) => ((x[2 * i] = v), (x[2 * i + 1] = v)));
    const w = fitLogistic(x, y, 2, 0, 50);
    if (w) {
      for (const v of w) expect(Number.isFinite(v)).toBe(true);
      // Whatever the split between the twins, together they carry the one slope.
      expect(w[0] + w[1]).toBeCloseTo(logit(0.7) - logit(0.2), 4);
    }
  });

  // A second shop's repurchase model came out with an intercept of -6.6e11 (every score 0): with rare
  // positives and a few extreme rows, full Newton steps overshoot and swing ever wider.
  it.each([
    { rows: 1000, l2: 1, outlier: 1000 },
    { rows: 1000, l2: 0, outlier: 100 },
    { rows: 200, l2: 0, outlier: 100 },
  ])('reaches the optimum with rare positives and one extreme row ($rows rows, l2 $l2): the penalised loss has zero gradient there', ({ rows, l2, outlier }) => {
    const x = new Float64Array(rows);
    const y = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) x[i] = (i % 7) / 7;
    y[0] = 1;
    x[rows - 1] = outlier;
    y[rows - 1] = 1;
    const [slope, intercept] = fitLogistic(x, y, 1, l2, 25)!;
    // The gradient, computed here on the raw feature: sum (p - y) x + l2 sd^2 slope (the penalty is on the
    // standardised coefficient slope * sd), and sum (p - y) for the intercept.
    const mean = x.reduce((a, v) => a + v, 0) / rows;
    const variance = x.reduce((a, v) => a + (v - mean) ** 2, 0) / rows;
    let gSlope = l2 * variance * slope;
    let gIntercept = 0;
    for (let i = 0; i < rows; i++) {
      const p = 1 / (1 + Math.exp(-(slope * x[i] + intercept)));
      gSlope += (p - y[i]) * x[i];
      gIntercept += p - y[i];
    }
    expect(Math.abs(gSlope)).toBeLessThan(1e-6);
    expect(Math.abs(gIntercept)).toBeLessThan(1e-6);
    // Two positives in `rows`: the intercept is a plausible log-odds, not a runaway.
    expect(intercept).toBeGreaterThan(-20);
    expect(intercept).toBeLessThan(0);
  });

  it('rejects rows that do not match the labels', () => {
    expect(() => fitLogistic(Float64Array.of(1, 2, 3), Uint8Array.of(0, 1), 2, 1, 10)).toThrow(/3 values for 2 rows of 2/);
  });
});
