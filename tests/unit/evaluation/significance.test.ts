import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import {
  alwaysValidHalfWidth,
  alwaysValidP,
  chiSquareP,
  customerRatioTest,
  type CustomerSums,
  erfc,
  incompleteBeta,
  logGamma,
  overLooks,
  sampleRatioTest,
  type SequentialTest,
  studentCriticalValue,
  studentTwoSidedP,
  twoSidedP,
  upperIncompleteGamma,
} from '../../../src/evaluation/significance.js';

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

/** The sums customerRatioTest takes, from each customer's (impressions, clicks). */
function sums(customers: [number, number][]): CustomerSums {
  let trials = 0, successes = 0, trialsSquared = 0, successesSquared = 0, crossProducts = 0;
  for (const [n, x] of customers) {
    trials += n;
    successes += x;
    trialsSquared += n * n;
    successesSquared += x * x;
    crossProducts += n * x;
  }
  return { customers: customers.length, trials, successes, trialsSquared, successesSquared, crossProducts };
}

/** Deterministic uniform [0, 1). */
const rng = mulberry32;

/**
 * An arm of `n` customers as a shop sees them: 1-40 impressions each, and a click-through rate of their
 * own (most rarely click, a few click often), plus `lift` for every customer.
 */
function simulatedArm(random: () => number, n: number, lift = 0): [number, number][] {
  return Array.from({ length: n }, () => {
    const impressions = 1 + Math.floor(random() * 40);
    const rate = Math.min(1, (random() < 0.8 ? 0.02 : 0.4) + lift);
    let clicks = 0;
    for (let i = 0; i < impressions; i++) if (random() < rate) clicks++;
    return [impressions, clicks];
  });
}

/**
 * One simulated experiment looked at every day: `perDay` new customers an arm a day (simulatedArm, the
 * treatment's with `lift`), `look` called with the day's test of the arms so far.
 */
function lookDaily(random: () => number, opts: { days: number; perDay: number; lift?: number }, look: (t: ReturnType<typeof customerRatioTest>, day: number) => void): void {
  const control: [number, number][] = [];
  const treatment: [number, number][] = [];
  for (let day = 1; day <= opts.days; day++) {
    control.push(...simulatedArm(random, opts.perDay));
    treatment.push(...simulatedArm(random, opts.perDay, opts.lift ?? 0));
    look(customerRatioTest(sums(control), sums(treatment)), day);
  }
}

describe("Student's t", () => {
  // Reference values: scipy 1.17 (`2 * stats.t.sf(t, df)`, `special.betainc`, `math.lgamma`).
  it('When t and df are (2, 5), (1, 1), (2.5, 30), (10, 3), (0.5, 100), (40, 8), Then the two-sided p matches the tables', () => {
    expect(studentTwoSidedP(2, 5)).toBeCloseTo(0.10193947882985835, 12);
    expect(studentTwoSidedP(1, 1)).toBeCloseTo(0.5, 12);
    expect(studentTwoSidedP(-2.5, 30)).toBeCloseTo(0.01811564906806669, 12);
    expect(studentTwoSidedP(10, 3)).toBeCloseTo(0.0021283990584141503, 12);
    expect(studentTwoSidedP(0.5, 100)).toBeCloseTo(0.6181735658308866, 12);
    expect(studentTwoSidedP(40, 8) / 1.6785718879145792e-10).toBeCloseTo(1, 9);
    expect(studentTwoSidedP(0, 10)).toBe(1);
    // Many degrees of freedom: the normal's.
    expect(studentTwoSidedP(1.959963984540054, 1e7)).toBeCloseTo(0.05, 6);
  });

  it('When the 95% and 99% critical values are asked for, Then they match the tables (12.706 at 1 df, 1.95997 at a million)', () => {
    expect(studentCriticalValue(0.05, 5)).toBeCloseTo(2.5705818356363146, 9);
    expect(studentCriticalValue(0.05, 1)).toBeCloseTo(12.706204736174694, 8);
    expect(studentCriticalValue(0.01, 30)).toBeCloseTo(2.7499956535672254, 9);
    expect(studentCriticalValue(0.05, 2.5)).toBeCloseTo(3.5746548420036817, 9);
    expect(studentCriticalValue(0.05, 1e6)).toBeCloseTo(1.959966356814107, 8);
  });

  it('When ln Γ and I_x(a, b) are taken, Then they match the tables', () => {
    expect(logGamma(0.5)).toBeCloseTo(0.5723649429247001, 12);
    expect(logGamma(10)).toBeCloseTo(12.801827480081469, 12);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
    expect(incompleteBeta(0.3, 2, 5)).toBeCloseTo(0.579825, 12);
    expect(incompleteBeta(0.9, 5, 2)).toBeCloseTo(0.885735, 12);
    expect(incompleteBeta(0.5, 0.5, 0.5)).toBeCloseTo(0.5, 12);
  });
});

describe('delta-method ratio test over customers', () => {
  it('When control has customers (10,1) (5,0) (20,4) (8,2) and treatment (12,6) (4,0) (9,3), Then z = 1.70356 on 2.51 degrees of freedom', () => {
    // By hand (each arm): R = sum x / sum n; sample variances and covariance over customers (N - 1);
    // Var(R) = (s_x^2 - 2 R s_nx + R^2 s_n^2) / (N mean_n^2). Control R = 7/43 = 0.162791, Var = 0.00151242;
    // treatment R = 9/25 = 0.36, Var = 0.01188864; z = 0.197209 / sqrt(0.01340106) = 1.703561. Welch's degrees
    // of freedom: 0.01340106^2 / (0.00151242^2 / 3 + 0.01188864^2 / 2) = 2.5141; p from Student's t (scipy).
    const t = customerRatioTest(sums([[10, 1], [5, 0], [20, 4], [8, 2]]), sums([[12, 6], [4, 0], [9, 3]]))!;
    expect(t.z).toBeCloseTo(1.7035614487, 8);
    expect(t.p).toBeCloseTo(0.2043491259, 6);
    // 95% interval: d +- t(0.975, 2.5141) sqrt(V) = 0.197209 +- 3.560347 x 0.115763 (scipy's quantile).
    expect(t.difference).toBeCloseTo(0.36 - 7 / 43, 12);
    expect(t.low).toBeCloseTo(-0.2149469704, 8);
    expect(t.high).toBeCloseTo(0.6093655750, 8);
    // Fewer than 30 customers an arm: no any-time answer (its variance estimate is too rough for the guarantee).
    expect(t).toMatchObject({ anytimeP: null, anytimeLow: null, anytimeHigh: null });
    // What it would be, by hand: tau = 0.2 x the pooled rate 16/68 = 0.0470588; Lambda = sqrt(V / (V + tau^2))
    // exp(tau^2 d^2 / (2 V (V + tau^2))) with V = 0.01340106, d = 0.197209: 1 / Lambda = 0.878697; the confidence
    // sequence's half-width sqrt(2 V (V + tau^2) / tau^2 (ln 20 + ln((V + tau^2) / V) / 2)) = 0.761987.
    const V = 0.0015124210700379066 + 0.011888639999999995;
    expect(alwaysValidP(t.difference, V, 0.2 * (16 / 68))).toBeCloseTo(0.878697301, 6);
    expect(alwaysValidHalfWidth(V, 0.2 * (16 / 68), 0.05)).toBeCloseTo(0.7619869713, 8);
    // The arms swapped: the same test with the sign turned.
    const back = customerRatioTest(sums([[12, 6], [4, 0], [9, 3]]), sums([[10, 1], [5, 0], [20, 4], [8, 2]]))!;
    expect(back.z).toBeCloseTo(-t.z, 10);
    expect(back.p).toBeCloseTo(t.p, 10);
  });

  it('When one customer of an arm sends many clicks, Then the test counts one customer, not a hundred events', () => {
    const control = sums(Array.from({ length: 50 }, (_, i): [number, number] => [10, i % 10 === 0 ? 1 : 0]));
    // The same customers, and one more who clicked 100 times on 10 impressions: the arm's CTR more than
    // triples, but only one customer of 51 did it.
    const treatment = sums([...Array.from({ length: 50 }, (_, i): [number, number] => [10, i % 10 === 0 ? 1 : 0]), [10, 100]]);
    const t = customerRatioTest(control, treatment)!;
    expect(treatment.successes / treatment.trials).toBeGreaterThan(3 * (control.successes / control.trials));
    expect(t.p).toBeGreaterThan(0.05);
  });

  it('When both arms are drawn alike (A/A), Then about 5% of 1,000 experiments have p < 0.05; with a real lift most do', () => {
    const random = rng(20261205);
    let falsePositives = 0;
    let detected = 0;
    const runs = 1_000;
    for (let r = 0; r < runs; r++) {
      const aa = customerRatioTest(sums(simulatedArm(random, 200)), sums(simulatedArm(random, 200)));
      if (aa !== null && aa.p < 0.05) falsePositives++;
      const lifted = customerRatioTest(sums(simulatedArm(random, 200)), sums(simulatedArm(random, 200, 0.07)));
      if (lifted !== null && lifted.p < 0.05) detected++;
    }
    // 1,000 runs at 5%: standard error 0.7 points; an event-level test on these arms says "significant" far
    // more often (bench/ab-test.ts).
    expect(falsePositives / runs).toBeGreaterThan(0.03);
    expect(falsePositives / runs).toBeLessThan(0.07);
    expect(detected / runs).toBeGreaterThan(0.8);
  });

  it('When an experiment has 3 treatments, Then some arm is called different in about 5% of A/A experiments, not 3 times that', () => {
    const random = rng(7);
    const runs = 1_000;
    let each = 0;
    let adjusted = 0;
    for (let r = 0; r < runs; r++) {
      const control = sums(simulatedArm(random, 100));
      const treatments = [0, 1, 2].map(() => sums(simulatedArm(random, 100)));
      if (treatments.some((t) => (customerRatioTest(control, t)?.p ?? 1) < 0.05)) each++;
      if (treatments.some((t) => (customerRatioTest(control, t, { comparisons: 3 })?.p ?? 1) < 0.05)) adjusted++;
    }
    // Each at 5%: about 1 - 0.95^3 = 14% (less: the arms share their control).
    expect(each / runs).toBeGreaterThan(0.09);
    expect(adjusted / runs).toBeLessThan(0.065);
  });

  it('When a test is adjusted for 3 treatments, Then its p is three times the one-treatment p (at most 1) and its intervals still exclude 0 exactly when it is below 0.05', () => {
    const random = rng(5);
    let checked = 0;
    for (let r = 0; r < 300; r++) {
      const control = sums(simulatedArm(random, 40));
      const treatment = sums(simulatedArm(random, 40, random() * 0.3));
      const one = customerRatioTest(control, treatment);
      const t = customerRatioTest(control, treatment, { comparisons: 3 });
      if (one === null || t === null) continue;
      checked++;
      expect(t.p).toBeCloseTo(Math.min(1, 3 * one.p), 12);
      expect(t.difference).toBe(one.difference);
      expect(t.low > 0 || t.high < 0).toBe(t.p < 0.05);
      expect(t.anytimeLow! > 0 || t.anytimeHigh! < 0).toBe(t.anytimeP! < 0.05);
      expect(t.high - t.low).toBeGreaterThan(one.high - one.low);
      expect(t.anytimeP!).toBeGreaterThanOrEqual(one.anytimeP!);
    }
    expect(checked).toBeGreaterThan(250);
  });

  it('When arms have 2, 3 or 5 customers, Then A/A experiments are called significant at most about 5% of the time', () => {
    const random = rng(42);
    for (const n of [2, 3, 5]) {
      let tested = 0;
      let significant = 0;
      for (let r = 0; r < 4_000; r++) {
        const t = customerRatioTest(sums(simulatedArm(random, n)), sums(simulatedArm(random, n)));
        if (t === null) continue;
        tested++;
        if (t.p < 0.05) significant++;
      }
      // A normal reference (a z-test) called 25% of them significant at 2 customers, 13% at 3, 8% at 5.
      expect(significant / tested, `${n} customers per arm`).toBeLessThan(0.065);
    }
  });

  it('When every customer of an arm has its rate, whatever their sizes, Then there is no test (rounding is not a certain difference)', () => {
    // Each arm one rate, 10% against 30%: Var(R) is 0 in both. With sizes 10, 20, 30 the sums of squares
    // left about 1e-18, which read as z = 4.6e8, p = 0.
    expect(customerRatioTest(sums([[10, 1], [10, 1]]), sums([[10, 3], [10, 3]]))).toBeNull();
    expect(customerRatioTest(sums([[10, 1], [20, 2], [30, 3]]), sums([[10, 3], [20, 6], [30, 9]]))).toBeNull();
    const alike = Array.from({ length: 1_000 }, (_, i): [number, number] => [10 * (1 + (i % 7)), 1 + (i % 7)]);
    const twice = Array.from({ length: 1_000 }, (_, i): [number, number] => [10 * (1 + (i % 7)), 2 * (1 + (i % 7))]);
    expect(customerRatioTest(sums(alike), sums(twice))).toBeNull();
    // One arm without spread, the other with: tested on the other's.
    expect(customerRatioTest(sums([[10, 1], [20, 2], [30, 3]]), sums([[10, 3], [20, 2], [30, 9]]))).not.toBeNull();
  });

  it('When an arm has fewer than 2 customers or no impressions, or no customer varies, Then there is no test', () => {
    const some = sums([[10, 1], [5, 2], [8, 0]]);
    expect(customerRatioTest(sums([[10, 1]]), some)).toBeNull();
    expect(customerRatioTest(some, sums([]))).toBeNull();
    expect(customerRatioTest(some, sums([[0, 1], [0, 2]]))).toBeNull();
    expect(customerRatioTest(sums([[10, 0], [5, 0]]), sums([[10, 0], [20, 0]]))).toBeNull();
    expect(customerRatioTest(sums([[10, 10], [5, 5]]), sums([[10, 10], [20, 20]]))).toBeNull();
  });
});

describe('always-valid p-values (mSPRT)', () => {
  it('When V = 0.0025 and tau = 0.05, Then the 95% confidence sequence is d +- sqrt(0.01 (ln 20 + ln 2 / 2)) = d +- 0.18282', () => {
    expect(alwaysValidHalfWidth(0.0025, 0.05, 0.05)).toBeCloseTo(0.1828197436, 9);
    // At its edge the difference's own always-valid p is the level.
    expect(alwaysValidP(0.1828197436, 0.0025, 0.05)).toBeCloseTo(0.05, 8);
  });

  it('When an interval excludes 0, Then its p is below 0.05, and back (one look and any time alike)', () => {
    const random = rng(11);
    let checked = 0;
    for (let r = 0; r < 500; r++) {
      const t = customerRatioTest(sums(simulatedArm(random, 30)), sums(simulatedArm(random, 30, random() * 0.3)));
      if (t === null) continue;
      checked++;
      expect(t.low > 0 || t.high < 0).toBe(t.p < 0.05);
      expect(t.anytimeLow! > 0 || t.anytimeHigh! < 0).toBe(t.anytimeP! < 0.05);
      expect(t.anytimeHigh! - t.anytimeLow!).toBeGreaterThanOrEqual(t.high - t.low);
    }
    expect(checked).toBeGreaterThan(450);
  });

  it('When experiments with a known difference are looked at daily, Then the confidence sequence holds it at every look in 95%+ of them', () => {
    const random = rng(99);
    const runs = 300;
    let heldAlways = 0;
    let heldAtEnd = 0;
    for (let r = 0; r < runs; r++) {
      let always = true;
      // The true difference of simulatedArm's rates: 0.8 x 0.07 + 0.2 x 0.45 - (0.8 x 0.02 + 0.2 x 0.4) = 0.05.
      lookDaily(random, { days: 28, perDay: 40, lift: 0.05 }, (t, day) => {
        if (t !== null && (t.anytimeLow! > 0.05 || t.anytimeHigh! < 0.05)) always = false;
        if (day === 28 && t !== null && t.low <= 0.05 && 0.05 <= t.high) heldAtEnd++;
      });
      if (always) heldAlways++;
    }
    expect(heldAlways / runs).toBeGreaterThanOrEqual(0.95);
    // One look's interval, read once: about 95% (300 runs: standard error 1.3 points).
    expect(heldAtEnd / runs).toBeGreaterThan(0.91);
  });

  it('When a difference of 0.1 has variance 0.0025 and the mixture tau = 0.05, Then p = 1 / (sqrt(1/2) e) = 0.52026', () => {
    // Lambda = sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2))) = sqrt(0.0025 / 0.005) exp(0.000025 / 0.000025).
    expect(alwaysValidP(0.1, 0.0025, 0.05)).toBeCloseTo(0.5202600950, 9);
    expect(alwaysValidP(-0.1, 0.0025, 0.05)).toBeCloseTo(0.5202600950, 9);
    // No difference, or nothing to scale by: no evidence.
    expect(alwaysValidP(0, 0.0025, 0.05)).toBe(1);
    expect(alwaysValidP(0.1, 0, 0.05)).toBe(1);
    expect(alwaysValidP(0.1, 0.0025, 0)).toBe(1);
    // Far out it neither overflows nor reaches 0 by rounding before it must.
    expect(alwaysValidP(1, 1e-6, 0.05)).toBe(0);
    expect(alwaysValidP(0.01, 1e-6, 0.05)).toBeGreaterThan(0);
  });

  it('When A/A experiments are looked at after every new customer from the first, Then anytimeP falls below 0.05 in at most 5% of them', () => {
    const random = rng(7);
    const runs = 1_000;
    let crossed = 0;
    for (let r = 0; r < runs; r++) {
      let saw = false;
      lookDaily(random, { days: 150, perDay: 1 }, (t, k) => {
        // No answer before 30 customers an arm.
        if (k < 30) expect(t?.anytimeP ?? null).toBeNull();
        if (t !== null && t.anytimeP !== null && t.anytimeP < 0.05) saw = true;
      });
      if (saw) crossed++;
    }
    // Answering from 2 customers an arm, a review's simulation crossed in 6.8% (5.5% by the fifth customer).
    expect(crossed / runs).toBeLessThanOrEqual(0.05);
  });

  it('When A/A experiments are looked at every day for 28 days, Then anytimeP falls below 0.05 in at most 5% of them, p in far more', () => {
    const random = rng(7);
    const runs = 300;
    let byP = 0;
    let byAnytime = 0;
    for (let r = 0; r < runs; r++) {
      let sawP = false;
      let sawAnytime = false;
      lookDaily(random, { days: 28, perDay: 40 }, (t) => {
        if (t !== null && t.p < 0.05) sawP = true;
        if (t !== null && t.anytimeP! < 0.05) sawAnytime = true;
      });
      if (sawP) byP++;
      if (sawAnytime) byAnytime++;
    }
    // 300 experiments: a true 5% would be 15 (standard error 3.8); peeking at p is known to give 20-30%.
    expect(byAnytime / runs).toBeLessThanOrEqual(0.05);
    expect(byP / runs).toBeGreaterThan(0.15);
  });
});

describe('sample ratio mismatch (chi-square)', () => {
  // Reference values: scipy 1.17 (`stats.chi2.sf`, `special.gammaincc`, `stats.chisquare`).
  it('When chi-square p-values are taken on 1 to 50 degrees of freedom, Then they match the tables', () => {
    expect(chiSquareP(3.841458820694124, 1)).toBeCloseTo(0.05, 12);
    expect(chiSquareP(10, 3)).toBeCloseTo(0.01856613546304325, 12);
    expect(chiSquareP(0.5, 2)).toBeCloseTo(0.7788007830714049, 12);
    expect(chiSquareP(100, 50) / 3.454931382984871e-5).toBeCloseTo(1, 9);
    expect(chiSquareP(200, 3) / 4.218541107192018e-43).toBeCloseTo(1, 9);
    expect(chiSquareP(0, 4)).toBe(1);
    expect(upperIncompleteGamma(2.5, 1)).toBeCloseTo(0.8491450360846096, 12);
    expect(upperIncompleteGamma(0.5, 4)).toBeCloseTo(0.004677734981047276, 12);
  });

  it('When arms hold 5,000 and 4,800 customers of 50/50, or 100, 210 and 90 of 25/50/25, Then chi-square 4.0816 (p 0.0434) and 1.5 (p 0.4724): no mismatch', () => {
    expect(sampleRatioTest([5000, 4800], [0.5, 0.5])).toEqual({ chiSquare: expect.closeTo(4.081632653061225, 10), p: expect.closeTo(0.04335175126086287, 10), mismatch: false });
    // Shares need not sum to 1.
    expect(sampleRatioTest([100, 210, 90], [1, 2, 1])).toEqual({ chiSquare: expect.closeTo(1.5, 10), p: expect.closeTo(0.4723665527410149, 10), mismatch: false });
  });

  it('When an arm holds 4,500 of 10,000 customers of 50/50, Then a mismatch (chi-square 100, p 1.5e-23)', () => {
    const t = sampleRatioTest([5500, 4500], [0.5, 0.5])!;
    expect(t.chiSquare).toBeCloseTo(100, 10);
    expect(t.p / 1.5239706048320995e-23).toBeCloseTo(1, 6);
    expect(t.mismatch).toBe(true);
  });

  it('When there are no customers, one arm, or arms and shares that do not pair, Then no test', () => {
    expect(sampleRatioTest([0, 0], [0.5, 0.5])).toBeNull();
    expect(sampleRatioTest([10], [1])).toBeNull();
    expect(sampleRatioTest([10, 5], [0.5, 0.25, 0.25])).toBeNull();
    expect(sampleRatioTest([10, 5], [1, 0])).toBeNull();
  });
});

/** A look's test with these any-time answers (the rest arbitrary). */
const withAnytime = (anytimeP: number | null, anytimeLow: number | null, anytimeHigh: number | null, extra: Partial<SequentialTest> = {}): SequentialTest => ({
  z: 1,
  p: 0.3,
  difference: 0.01,
  low: -0.01,
  high: 0.03,
  anytimeP,
  anytimeLow,
  anytimeHigh,
  ...extra,
});

describe('always-valid answers over looks', () => {
  it("When an earlier look crossed, Then the any-time p stays at that look's and the interval is what every look allows", () => {
    const result = overLooks([null, withAnytime(null, null, null), withAnytime(0.01, 0.02, 0.2), withAnytime(0.4, -0.05, 0.1, { z: 0.5, p: 0.6, difference: 0.02 })]);
    // The last look's own test, the smallest any-time p, and the intersection [0.02, 0.1].
    expect(result).toEqual({ z: 0.5, p: 0.6, difference: 0.02, low: -0.01, high: 0.03, anytimeP: 0.01, anytimeLow: 0.02, anytimeHigh: 0.1 });
  });

  it("When a look's interval is disjoint from the earlier ones, Then it is left out of the intersection, not made empty", () => {
    // [0.02, 0.2] then [-0.3, 0.01]: left out rather than an empty interval.
    expect(overLooks([withAnytime(0.01, 0.02, 0.2), withAnytime(0.5, -0.3, 0.01)])).toMatchObject({ anytimeP: 0.01, anytimeLow: 0.02, anytimeHigh: 0.2 });
  });

  it('When the last look has no test, or no look has an any-time answer, Then the last look stands as it is', () => {
    expect(overLooks([withAnytime(0.01, 0.02, 0.2), null])).toBeNull();
    expect(overLooks([])).toBeNull();
    const early = withAnytime(null, null, null);
    expect(overLooks([null, early])).toBe(early);
  });
});
