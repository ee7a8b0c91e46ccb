import { choleskySolve } from './cholesky.js';

/**
 * L2-regularised logistic regression by Newton's method (iteratively reweighted least squares) with a
 * backtracking line search on the penalised log-likelihood, so every step lowers the loss, on
 * standardised features. `x` is row-major with `width` features per row, `y` the 0/1 labels. The
 * penalty `l2` applies to the standardised coefficients, not to the intercept. Returns the
 * coefficients on the raw features followed by the intercept (width + 1 values), or null when every
 * label is the same (there is nothing to separate) or the system cannot be solved (collinear features
 * with no penalty).
 */
export function fitLogistic(x: Float64Array, y: Uint8Array, width: number, l2: number, iterations: number): Float64Array | null {
  const rows = y.length;
  if (x.length !== rows * width) throw new Error(`fitLogistic: ${x.length} values for ${rows} rows of ${width}`);
  let positives = 0;
  for (const v of y) positives += v;
  if (positives === 0 || positives === rows) return null;
  const d = width + 1;
  const mean = new Float64Array(width);
  const sd = new Float64Array(width);
  for (let i = 0; i < rows; i++) for (let f = 0; f < width; f++) mean[f] += x[i * width + f];
  for (let f = 0; f < width; f++) mean[f] /= rows;
  for (let i = 0; i < rows; i++) for (let f = 0; f < width; f++) sd[f] += (x[i * width + f] - mean[f]) ** 2 / rows;
  // A constant feature says nothing: it stays 0 after standardising (sd Infinity), so its coefficient is 0.
  for (let f = 0; f < width; f++) sd[f] = Math.sqrt(sd[f]) > 1e-12 * Math.max(1, Math.abs(mean[f])) ? Math.sqrt(sd[f]) : Number.POSITIVE_INFINITY;
  const w = new Float64Array(d);
  w[width] = Math.log(positives / (rows - positives));
  const z = new Float64Array(d);
  z[width] = 1;
  const grad = new Float64Array(d);
  const hess = new Float64Array(d * d);
  const trial = new Float64Array(d);
  /** The penalised negative log-likelihood at `v`: what each step must lower. */
  const loss = (v: Float64Array) => {
    let sum = 0;
    for (let i = 0; i < rows; i++) {
      let s = v[width];
      for (let f = 0; f < width; f++) s += (v[f] * (x[i * width + f] - mean[f])) / sd[f];
      // log(1 + e^s) - y s, without overflow for large |s|.
      sum += (s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s))) - y[i] * s;
    }
    for (let f = 0; f < width; f++) sum += (l2 / 2) * v[f] * v[f];
    return sum;
  };
  let current = loss(w);
  for (let it = 0; it < iterations; it++) {
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < rows; i++) {
      for (let f = 0; f < width; f++) z[f] = (x[i * width + f] - mean[f]) / sd[f];
      let s = 0;
      for (let f = 0; f < d; f++) s += w[f] * z[f];
      const p = 1 / (1 + Math.exp(-s));
      const h = Math.max(p * (1 - p), 1e-12);
      for (let a = 0; a < d; a++) {
        grad[a] += (p - y[i]) * z[a];
        const hz = h * z[a];
        for (let b = 0; b <= a; b++) hess[a * d + b] += hz * z[b];
      }
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) hess[b * d + a] = hess[a * d + b];
    for (let f = 0; f < width; f++) {
      grad[f] += l2 * w[f];
      hess[f * d + f] += l2;
    }
    // Keeps the system positive definite when l2 = 0 and a feature is constant.
    for (let a = 0; a < d; a++) hess[a * d + a] += 1e-9;
    let step: Float64Array;
    try {
      step = choleskySolve(hess, grad, d);
    } catch {
      // Collinear features without a penalty (l2 0) can leave no positive pivot: nothing stable to learn.
      return null;
    }
    // A full Newton step can overshoot far from the optimum (rare positives, a few rows with extreme
    // features) and then oscillate with growing amplitude: halve it until the loss falls enough (Armijo).
    let decrease = 0;
    for (let a = 0; a < d; a++) decrease += grad[a] * step[a];
    let t = 1;
    let next = Number.POSITIVE_INFINITY;
    for (let halvings = 0; halvings < 40; halvings++, t /= 2) {
      for (let a = 0; a < d; a++) trial[a] = w[a] - t * step[a];
      next = loss(trial);
      if (next <= current - 1e-4 * t * decrease) break;
    }
    // No step lowers the loss any more (within rounding): this is the optimum.
    if (!(next < current)) break;
    let moved = 0;
    for (let a = 0; a < d; a++) moved = Math.max(moved, Math.abs(trial[a] - w[a]));
    w.set(trial);
    current = next;
    if (moved < 1e-10) break;
  }
  // w.z = sum_f w_f (x_f - mean_f) / sd_f + w_0, so on raw features:
  const raw = new Float64Array(d);
  raw[width] = w[width];
  for (let f = 0; f < width; f++) {
    raw[f] = w[f] / sd[f];
    raw[width] -= (w[f] * mean[f]) / sd[f];
  }
  return raw;
}
