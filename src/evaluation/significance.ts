/**
 * Significance of a difference between two rates of A/B experiment arms: a test of a ratio over customers
 * (delta method, Student's t) and an always-valid p-value for looking at it any time. Pure functions, no
 * dependencies.
 */

/**
 * Complementary error function, erfc(x) = 1 - erf(x), by the Chebyshev fit of Numerical Recipes
 * (`erfcc`, 2nd ed., section 6.2): fractional error below 1.2e-7 everywhere, so small p-values keep
 * their leading digits (1 - erf(x) would round them to 0).
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Two-sided p-value of a standard normal statistic: P(|Z| >= |z|) = erfc(|z| / sqrt 2). */
export function twoSidedP(z: number): number {
  return Math.min(1, erfc(Math.abs(z) / Math.SQRT2));
}

/** ln Γ(x) for x > 0, by Lanczos's approximation (g = 7, 9 terms): about 15 significant digits. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Regularised incomplete beta function I_x(a, b), by its continued fraction (modified Lentz), taken on
 * the side where it converges fast (x <= (a + 1) / (a + b + 2), else 1 - I_(1-x)(b, a)).
 */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x > (a + 1) / (a + b + 2)) return 1 - incompleteBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 300; m++) {
    // The even step, then the odd one.
    for (const num of [(m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)), -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))]) {
      d = 1 + num * d;
      if (Math.abs(d) < tiny) d = tiny;
      c = 1 + num / c;
      if (Math.abs(c) < tiny) c = tiny;
      d = 1 / d;
      f *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return (front * f) / a;
}

/**
 * The t with studentTwoSidedP(t, df) = alpha (the 1 - alpha/2 quantile): the half-width of a 1 - alpha
 * confidence interval in standard errors (1.96 for 95% with many degrees of freedom). Newton's method on
 * the tail (its slope is twice the t density), kept inside a bracket that bisection narrows when a step
 * would leave it: a few steps from 2.
 */
export function studentCriticalValue(alpha: number, df: number): number {
  if (!Number.isFinite(df)) df = 1e12;
  const logDensityScale = logGamma((df + 1) / 2) - logGamma(df / 2) - 0.5 * Math.log(df * Math.PI);
  const density = (t: number) => Math.exp(logDensityScale - ((df + 1) / 2) * Math.log1p((t * t) / df));
  let low = 0;
  let high = 2;
  while (studentTwoSidedP(high, df) > alpha && high < 1e12) high *= 2;
  let t = Math.min(2, high);
  for (let i = 0; i < 100; i++) {
    const excess = studentTwoSidedP(t, df) - alpha;
    if (excess > 0) low = t;
    else high = t;
    const next = t + excess / (2 * density(t));
    const bounded = next > low && next < high ? next : (low + high) / 2;
    if (Math.abs(bounded - t) <= 1e-12 * Math.max(1, t)) return bounded;
    t = bounded;
  }
  return t;
}

/**
 * Regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a): by its series where x < a + 1
 * (Q = 1 - P), else by its continued fraction (modified Lentz).
 */
export function upperIncompleteGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n <= 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.max(0, 1 - front * sum);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let f = d;
  for (let n = 1; n <= 1000; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    if (Math.abs(d * c - 1) < 1e-16) break;
  }
  return front * f;
}

/** The chance of a chi-square statistic at least `x` on `df` degrees of freedom: Q(df / 2, x / 2). */
export function chiSquareP(x: number, df: number): number {
  return Math.min(1, upperIncompleteGamma(df / 2, x / 2));
}

/** Goodness of fit of observed counts to expected shares: Pearson's chi-square and its p-value. */
export interface SampleRatioTest {
  chiSquare: number;
  p: number;
  /** p below SAMPLE_RATIO_ALARM_P: the arms do not hold customers in their shares. */
  mismatch: boolean;
}

/** The p below which a sample ratio mismatch is called (the usual threshold: it is checked on every look). */
export const SAMPLE_RATIO_ALARM_P = 0.001;

/**
 * Sample ratio mismatch: do the arms hold customers in the shares they were given? Pearson's chi-square of
 * `counts` against `shares` (normalised to sum 1) on (arms - 1) degrees of freedom. A tiny p (below 0.001,
 * as is usual) says the assignment or the feedback is broken (an arm's lists fail and fall back untagged, a
 * bot in one arm, a cache serving one arm's lists to another), and the arms' comparison is not to be
 * trusted, whatever its own p. Null with fewer than 2 arms or no customers.
 */
export function sampleRatioTest(counts: readonly number[], shares: readonly number[]): SampleRatioTest | null {
  const total = counts.reduce((a, b) => a + b, 0);
  const shareSum = shares.reduce((a, b) => a + b, 0);
  if (counts.length < 2 || counts.length !== shares.length || !(total > 0) || !(shareSum > 0)) return null;
  let chiSquare = 0;
  for (let i = 0; i < counts.length; i++) {
    const expected = (total * shares[i]) / shareSum;
    if (!(expected > 0)) return null;
    chiSquare += ((counts[i] - expected) * (counts[i] - expected)) / expected;
  }
  const p = chiSquareP(chiSquare, counts.length - 1);
  return { chiSquare, p, mismatch: p < SAMPLE_RATIO_ALARM_P };
}

/** Two-sided p-value of Student's t with `df` degrees of freedom: P(|T| >= |t|) = I_(df / (df + t^2))(df / 2, 1 / 2). */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(df)) return twoSidedP(t);
  return Math.min(1, incompleteBeta(df / (df + t * t), df / 2, 0.5));
}

export interface ZTest {
  /** (rate of the treatment - rate of the control) / its standard error. */
  z: number;
  /**
   * Two-sided p-value: the chance of a |z| at least this large if the arms did not differ (in an experiment
   * of several treatments, adjusted for their number: customerRatioTest's `comparisons`).
   */
  p: number;
}

/** A test of an experiment that may be read at any time (customerRatioTest). */
export interface SequentialTest extends ZTest {
  /**
   * Always-valid p-value (alwaysValidP): unlike `p`, it stays honest when the results are looked at every
   * day and the experiment is stopped the first time it is below the threshold. Null until every arm has
   * ANYTIME_MIN_CUSTOMERS customers.
   */
  anytimeP: number | null;
  /** Rate of the treatment - rate of the control. */
  difference: number;
  /** 95% confidence interval of the difference, for one look (excludes 0 exactly when p < 0.05). */
  low: number;
  high: number;
  /** 95% interval that holds at every look (a confidence sequence; excludes 0 exactly when anytimeP < 0.05); null with anytimeP. */
  anytimeLow: number | null;
  anytimeHigh: number | null;
}

/**
 * Customers each arm needs before the always-valid test answers. It takes the estimated variance as known:
 * looked at after every new customer from the first, A/A experiments crossed 0.05 in 6.8% (a review's
 * simulation; at 2-5 customers an arm's variance is often estimated 0). From 30: 1.3%.
 */
export const ANYTIME_MIN_CUSTOMERS = 30;

/** The level of the intervals a SequentialTest gives: 95%. */
export const INTERVAL_ALPHA = 0.05;

/**
 * Mixture-prior share of the rate that sets the always-valid test's scale (tau = this x the pooled rate):
 * the relative differences it is most ready to find. Chosen on simulated experiments (bench/ab-test.ts).
 */
export const ANYTIME_RELATIVE_SCALE = 0.2;

/**
 * Always-valid p-value of the mixture sequential probability ratio test (mSPRT; Johari, Koomen, Pekelis
 * and Walsh, "Peeking at A/B Tests", KDD 2017) for an estimate `delta` of a difference with variance
 * `variance`, under a normal mixture N(0, tau^2) of alternatives:
 * Lambda = sqrt(V / (V + tau^2)) exp(tau^2 delta^2 / (2 V (V + tau^2))), p = min(1, 1 / Lambda).
 * Under no difference Lambda is a martingale over the data, so the chance that 1 / Lambda ever falls to
 * alpha, however often it is read, is at most alpha. Computed in logs: large samples would overflow.
 */
export function alwaysValidP(delta: number, variance: number, tau: number): number {
  if (!(variance > 0) || !(tau > 0)) return 1;
  const t2 = tau * tau;
  const logLambda = 0.5 * Math.log(variance / (variance + t2)) + (t2 * delta * delta) / (2 * variance * (variance + t2));
  // A variance so small next to tau that the logs overflow: certain of any difference, of none without one.
  if (Number.isNaN(logLambda)) return delta === 0 ? 1 : 0;
  return Math.min(1, Math.exp(-logLambda));
}

/**
 * Half-width of the mSPRT's confidence sequence (the differences theta whose own test, delta - theta, has
 * alwaysValidP above alpha): |delta - theta| < sqrt(2 V (V + tau^2) / tau^2 (ln(1/alpha) + ln((V + tau^2) / V) / 2)).
 * It covers the true difference at every look at once with chance 1 - alpha. Infinite without a scale.
 */
export function alwaysValidHalfWidth(variance: number, tau: number, alpha: number): number {
  if (!(variance > 0)) return 0;
  if (!(tau > 0)) return Infinity;
  const t2 = tau * tau;
  return Math.sqrt(((2 * variance * (variance + t2)) / t2) * (Math.log(1 / alpha) + 0.5 * Math.log((variance + t2) / variance)));
}

/**
 * One arm's events summed over its customers, for a ratio metric such as CTR (clicks / impressions):
 * with n_i the customer's trials (impressions) and x_i their successes (clicks), the sums of n_i, x_i,
 * n_i^2, x_i^2 and n_i x_i over the arm's customers.
 */
export interface CustomerSums {
  customers: number;
  trials: number;
  successes: number;
  trialsSquared: number;
  successesSquared: number;
  crossProducts: number;
}

/**
 * z-test of a ratio metric between two arms whose unit of randomisation is the customer, by the delta
 * method (Deng, Knoblich and Lu, "Applying the Delta Method in Metric Analytics", KDD 2018). A customer's
 * events are not independent trials (one customer clicks often, another never; one refreshes a page and
 * sends ten impressions more), so the pooled two-proportion test, which counts every impression as a
 * trial of its own, gives p-values far too small; here the customer is the sample. Per arm, with N
 * customers, means n̄ and x̄, sample variances s_n^2, s_x^2 and covariance s_nx, and R = Σx / Σn:
 * Var(R) = (s_x^2 - 2 R s_nx + R^2 s_n^2) / (N n̄^2); z = (R_t - R_c) / sqrt(Var_c + Var_t).
 * `p` is Student's t's with Welch's degrees of freedom (a normal reference called 25% of A/A experiments
 * of 2 customers per arm significant, 8% of 5). Null when it says nothing: an arm with fewer than 2
 * customers or no trials, or no spread in either arm (every customer at the arm's rate). `p` is for one
 * look at a sample size fixed in advance; `anytimeP` (alwaysValidP, with tau = relativeScale x the pooled
 * rate, never below `p`, and from ANYTIME_MIN_CUSTOMERS per arm) for looking as often as one likes.
 *
 * `comparisons`: how many treatments the experiment compares with the control. Each compared at 5% would
 * find some difference that is not there far more often than 5% (3 treatments: 12.4% of simulated A/A
 * experiments); p-values and intervals are Bonferroni's for the family, each test at 5% / comparisons
 * (p multiplied, at most 1; intervals wider), so they stay consistent (an interval excludes 0 exactly
 * when its p is below 0.05).
 */
export function customerRatioTest(
  control: CustomerSums,
  treatment: CustomerSums,
  { relativeScale = ANYTIME_RELATIVE_SCALE, comparisons = 1 }: { relativeScale?: number; comparisons?: number } = {},
): SequentialTest | null {
  const arm = (s: CustomerSums) => {
    const n = s.customers;
    if (!(n >= 2) || !(s.trials > 0)) return null;
    const rate = s.successes / s.trials;
    const meanTrials = s.trials / n;
    const varTrials = (s.trialsSquared - (s.trials * s.trials) / n) / (n - 1);
    const varSuccesses = (s.successesSquared - (s.successes * s.successes) / n) / (n - 1);
    const cov = (s.crossProducts - (s.trials * s.successes) / n) / (n - 1);
    // The residuals x_i - R n_i, whose spread this is, sum to 0: when every customer has the arm's rate the
    // sums of squares cancel to rounding (1e-18 where 0 is meant), which would read as a certain difference.
    const spread = varSuccesses - 2 * rate * cov + rate * rate * varTrials;
    const magnitude = (s.successesSquared + 2 * rate * Math.abs(s.crossProducts) + rate * rate * s.trialsSquared) / (n - 1);
    const variance = spread > 1e-9 * magnitude ? spread / (n * meanTrials * meanTrials) : 0;
    return { rate, variance, customers: n };
  };
  const c = arm(control);
  const t = arm(treatment);
  if (c === null || t === null) return null;
  const variance = c.variance + t.variance;
  if (!(variance > 0)) return null;
  const delta = t.rate - c.rate;
  const z = delta / Math.sqrt(variance);
  // Welch-Satterthwaite: the degrees of freedom of a sum of two estimated variances.
  const df = (variance * variance) / ((c.variance * c.variance) / (c.customers - 1) + (t.variance * t.variance) / (t.customers - 1));
  const pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials);
  const m = Math.max(1, comparisons);
  const p = Math.min(1, m * studentTwoSidedP(z, df));
  const half = studentCriticalValue(INTERVAL_ALPHA / m, df) * Math.sqrt(variance);
  // The mixture test takes the variance as known; with few customers it can claim more than this look's own
  // p does. Never less than p (nor its interval narrower): it stays valid, below a threshold only when the
  // mixture test's is.
  const tau = relativeScale * pooled;
  const anytime = Math.min(c.customers, t.customers) >= ANYTIME_MIN_CUSTOMERS;
  const anytimeHalf = Math.max(half, alwaysValidHalfWidth(variance, tau, INTERVAL_ALPHA / m));
  return {
    z,
    p,
    anytimeP: anytime ? Math.max(p, Math.min(1, m * alwaysValidP(delta, variance, tau))) : null,
    difference: delta,
    low: delta - half,
    high: delta + half,
    anytimeLow: anytime ? delta - anytimeHalf : null,
    anytimeHigh: anytime ? delta + anytimeHalf : null,
  };
}

/**
 * The test of the last look, with the always-valid answers of every look before it: `anytimeP` the smallest
 * of the looks' (the mSPRT's p-value is a running minimum: under no difference the chance that any look's
 * falls to alpha is at most alpha, so one that crossed stays crossed however the later data go), and the
 * any-time interval the intersection of the looks' confidence sequences (each holds the truth at every look
 * at once: so does their intersection). A look whose sequence is disjoint from the intersection so far
 * (the guarantee failed at one of them) is left out of it rather than leaving an empty interval. `tests`
 * are in time order, null where a look has none; null when the last has none.
 */
export function overLooks(tests: readonly (SequentialTest | null)[]): SequentialTest | null {
  const last = tests.at(-1) ?? null;
  if (last === null) return null;
  let anytimeP: number | null = null;
  let low = Number.NEGATIVE_INFINITY;
  let high = Number.POSITIVE_INFINITY;
  for (const t of tests) {
    if (t === null || t.anytimeP === null || t.anytimeLow === null || t.anytimeHigh === null) continue;
    anytimeP = anytimeP === null ? t.anytimeP : Math.min(anytimeP, t.anytimeP);
    if (t.anytimeLow <= high && t.anytimeHigh >= low) {
      low = Math.max(low, t.anytimeLow);
      high = Math.min(high, t.anytimeHigh);
    }
  }
  return anytimeP === null ? last : { ...last, anytimeP, anytimeLow: low, anytimeHigh: high };
}
