/**
 * Significance of a difference between two rates (A/B experiments): the pooled two-proportion z-test, and
 * the delta-method z-test of a ratio over customers (the one experiments report). Pure functions, no
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

export interface ZTest {
  /** (p_treatment - p_control) / standard error. */
  z: number;
  /** Two-sided p-value: the chance of a |z| at least this large if the arms did not differ. */
  p: number;
}

/** A test of an experiment that may be read at any time (customerRatioTest). */
export interface SequentialTest extends ZTest {
  /**
   * Always-valid p-value (alwaysValidP): unlike `p`, it stays honest when the results are looked at every
   * day and the experiment is stopped the first time it is below the threshold.
   */
  anytimeP: number;
}

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
  return Math.min(1, Math.exp(-logLambda));
}

/**
 * Pooled two-proportion z-test of `successes / trials` of a treatment against a control:
 * p = (x1 + x2) / (n1 + n2), SE = sqrt(p (1 - p) (1/n1 + 1/n2)), z = (x2/n2 - x1/n1) / SE.
 * Null when the test says nothing: an arm without trials, more successes than trials (feedback events
 * are counted as sent, so clicks can outnumber impressions), or no variance (both 0% or both 100%).
 * The normal approximation wants about 5+ successes and failures per arm; below that read p loosely.
 */
export function twoProportionZTest(control: { successes: number; trials: number }, treatment: { successes: number; trials: number }): ZTest | null {
  const { successes: x1, trials: n1 } = control;
  const { successes: x2, trials: n2 } = treatment;
  if (n1 <= 0 || n2 <= 0 || x1 < 0 || x2 < 0 || x1 > n1 || x2 > n2) return null;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return null;
  const z = (x2 / n2 - x1 / n1) / se;
  return { z, p: twoSidedP(z) };
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
 * Null when it says nothing: an arm with fewer than 2 customers or no trials, or no variance in either
 * arm. The normal approximation wants a few dozen customers per arm; below that read p loosely. `p` is
 * for one look at a sample size fixed in advance; `anytimeP` (alwaysValidP, with tau = relativeScale x the
 * pooled rate) for looking as often as one likes.
 */
export function customerRatioTest(control: CustomerSums, treatment: CustomerSums, relativeScale = ANYTIME_RELATIVE_SCALE): SequentialTest | null {
  const arm = (s: CustomerSums) => {
    const n = s.customers;
    if (!(n >= 2) || !(s.trials > 0)) return null;
    const rate = s.successes / s.trials;
    const meanTrials = s.trials / n;
    const varTrials = (s.trialsSquared - (s.trials * s.trials) / n) / (n - 1);
    const varSuccesses = (s.successesSquared - (s.successes * s.successes) / n) / (n - 1);
    const cov = (s.crossProducts - (s.trials * s.successes) / n) / (n - 1);
    // Rounding can leave a variance a hair below 0 where it is 0.
    const variance = Math.max(0, (varSuccesses - 2 * rate * cov + rate * rate * varTrials) / (n * meanTrials * meanTrials));
    return { rate, variance };
  };
  const c = arm(control);
  const t = arm(treatment);
  if (c === null || t === null) return null;
  const variance = c.variance + t.variance;
  const se = Math.sqrt(variance);
  if (!(se > 0)) return null;
  const delta = t.rate - c.rate;
  const z = delta / se;
  const pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials);
  return { z, p: twoSidedP(z), anytimeP: alwaysValidP(delta, variance, relativeScale * pooled) };
}
