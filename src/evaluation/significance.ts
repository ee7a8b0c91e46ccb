/**
 * Significance of a difference between two rates (A/B experiments): the pooled two-proportion z-test.
 * Pure functions, no dependencies.
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
  /** (p_treatment - p_control) / standard error under H0 (both rates equal, estimated pooled). */
  z: number;
  /** Two-sided p-value: the chance of a |z| at least this large if the arms did not differ. */
  p: number;
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
