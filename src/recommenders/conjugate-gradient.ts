/**
 * The inner solver of implicit-feedback ALS (Hu, Koren & Volinsky 2008) by conjugate gradient, after
 * Takács, Pilászy & Tikk (2011) and the `implicit` library's CPU solver.
 *
 * For each row u of X (users, or items in the other half-iteration), with the other side Y fixed,
 * confidence c_ui on observed pairs (1 elsewhere) and preference 1 on observed pairs (0 elsewhere):
 *
 *   minimise  sum_i c_ui (p_ui - x_u . y_i)^2 + reg |x_u|^2
 *   <=>       A_u x_u = b_u,   A_u = YtY + reg I + sum_{i in u} (c_ui - 1) y_i y_i^T,   b_u = sum_{i in u} c_ui y_i
 *
 * YtY is computed once per half-iteration; A_u is never formed: A_u v = YtY v + sum_{i in u} (c_ui - 1)(y_i . v) y_i
 * costs O(k^2 + n_u k). A few CG steps from the previous x_u (warm start) are enough because the
 * factors change little between iterations; each step can only lower the row's objective.
 */

/** Sparse rows with a confidence per non-zero (CSR). */
export interface ConfidenceRows {
  rows: number;
  indptr: Int32Array;
  indices: Int32Array;
  confidence: Float64Array;
}

/**
 * Y^T Y + reg I for row-major Y (n x k): the k x k part of A_u shared by all rows. Rows are taken
 * four at a time so each entry of the (upper-triangle) accumulator is read and written once per four
 * rows rather than once per row: the loop is bound by those stores, not by the multiplications.
 */
export function gramian(y: ArrayLike<number>, n: number, k: number, reg: number): Float64Array {
  const g = new Float64Array(k * k);
  gramianRows(y, n, k, { from: 0, to: k }, g);
  return finishGramian(g, k, reg);
}

/**
 * Rows [from, to) of Y^T Y's upper triangle, added into `g` (k x k, zero there): gramian's sums for those
 * rows alone. Each entry is summed over Y's rows in the same order and grouping whatever the range, so
 * threads that each take their own accumulator rows fill exactly the single-thread gramian's entries.
 */
export function gramianRows(y: ArrayLike<number>, n: number, k: number, rows: { from: number; to: number }, g: Float64Array): void {
  const { from, to } = rows;
  let r = 0;
  for (; r + 3 < n; r += 4) {
    const o0 = r * k;
    const o1 = o0 + k;
    const o2 = o1 + k;
    const o3 = o2 + k;
    for (let a = from; a < to; a++) {
      const a0 = y[o0 + a];
      const a1 = y[o1 + a];
      const a2 = y[o2 + a];
      const a3 = y[o3 + a];
      const ga = a * k;
      for (let b = a; b < k; b++) g[ga + b] += a0 * y[o0 + b] + a1 * y[o1 + b] + a2 * y[o2 + b] + a3 * y[o3 + b];
    }
  }
  for (; r < n; r++) {
    const o = r * k;
    for (let a = from; a < to; a++) {
      const ya = y[o + a];
      const ga = a * k;
      for (let b = a; b < k; b++) g[ga + b] += ya * y[o + b];
    }
  }
}

/** The upper triangle gramianRows filled, plus reg on the diagonal, mirrored below it: Y^T Y + reg I. */
export function finishGramian(g: Float64Array, k: number, reg: number): Float64Array {
  for (let a = 0; a < k; a++) {
    g[a * k + a] += reg;
    for (let b = a + 1; b < k; b++) g[b * k + a] = g[a * k + b];
  }
  return g;
}

/**
 * The accumulator rows [0, k) split in `parts` consecutive ranges of about equal upper-triangle entries
 * (row a holds k - a of them), for threads that each fill their own (gramianRows).
 */
export function gramianSplit(k: number, parts: number): { from: number; to: number }[] {
  const total = (k * (k + 1)) / 2;
  const out: { from: number; to: number }[] = [];
  let from = 0;
  let filled = 0;
  for (let a = 0; a < k && out.length < parts - 1; a++) {
    filled += k - a;
    if (filled >= (total * (out.length + 1)) / parts) {
      out.push({ from, to: a + 1 });
      from = a + 1;
    }
  }
  out.push({ from, to: k });
  return out;
}

/**
 * a[ao..ao+k) . b[bo..bo+k). Four accumulators break the add dependency chain (V8 does not
 * vectorise), which is worth ~2x for k = 64; the tail handles k not divisible by 4.
 */
function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, k: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < k; t += 4) {
    s0 += a[ao + t] * b[bo + t];
    s1 += a[ao + t + 1] * b[bo + t + 1];
    s2 += a[ao + t + 2] * b[bo + t + 2];
    s3 += a[ao + t + 3] * b[bo + t + 3];
  }
  for (; t < k; t++) s0 += a[ao + t] * b[bo + t];
  return s0 + s1 + s2 + s3;
}

/** out = G v for a k x k row-major G, four rows at a time so each v[b] load serves four products. */
function matVec(g: Float64Array, v: Float64Array, out: Float64Array, k: number): void {
  let a = 0;
  for (; a + 3 < k; a += 4) {
    const o0 = a * k;
    const o1 = o0 + k;
    const o2 = o1 + k;
    const o3 = o2 + k;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let b = 0; b < k; b++) {
      const vb = v[b];
      s0 += g[o0 + b] * vb;
      s1 += g[o1 + b] * vb;
      s2 += g[o2 + b] * vb;
      s3 += g[o3 + b] * vb;
    }
    out[a] = s0;
    out[a + 1] = s1;
    out[a + 2] = s2;
    out[a + 3] = s3;
  }
  for (; a < k; a++) out[a] = dot(g, a * k, v, 0, k);
}

/**
 * out += sum_{p in [start, end)} w_p y_{i_p} with w_p = bias c_p + scale (c_p - 1)(y_{i_p} . v).
 * (bias 0, scale 1) is the sparse part of A_u v; (bias 1, scale -1) the sparse part of the residual
 * b_u - A_u x. Four rows of Y at a time: their dots share the v loads and their updates share one
 * read-modify-write of `out`, about twice as fast as row by row.
 */
function sparseAccumulate(
  y: Float64Array,
  k: number,
  indices: Int32Array,
  confidence: Float64Array,
  start: number,
  end: number,
  v: Float64Array,
  bias: number,
  scale: number,
  out: Float64Array,
): void {
  let p = start;
  for (; p + 3 < end; p += 4) {
    const o0 = indices[p] * k;
    const o1 = indices[p + 1] * k;
    const o2 = indices[p + 2] * k;
    const o3 = indices[p + 3] * k;
    let d0 = 0;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    for (let t = 0; t < k; t++) {
      const vt = v[t];
      d0 += y[o0 + t] * vt;
      d1 += y[o1 + t] * vt;
      d2 += y[o2 + t] * vt;
      d3 += y[o3 + t] * vt;
    }
    const c0 = confidence[p];
    const c1 = confidence[p + 1];
    const c2 = confidence[p + 2];
    const c3 = confidence[p + 3];
    const w0 = bias * c0 + scale * (c0 - 1) * d0;
    const w1 = bias * c1 + scale * (c1 - 1) * d1;
    const w2 = bias * c2 + scale * (c2 - 1) * d2;
    const w3 = bias * c3 + scale * (c3 - 1) * d3;
    for (let t = 0; t < k; t++) out[t] += w0 * y[o0 + t] + w1 * y[o1 + t] + w2 * y[o2 + t] + w3 * y[o3 + t];
  }
  for (; p < end; p++) {
    const o = indices[p] * k;
    const c = confidence[p];
    const w = bias * c + scale * (c - 1) * dot(y, o, v, 0, k);
    for (let t = 0; t < k; t++) out[t] += w * y[o + t];
  }
}

/**
 * Runs ALS half-steps, possibly on several threads: the same updates as conjugateGradientHalfStep on
 * matrices from `allocate` (so other threads can share them), given Y^T Y + reg I as `yty`.
 */
export interface HalfStepRunner {
  allocate(n: number): Float64Array;
  /** Y^T Y + reg I of Y (from `allocate`), equal to gramian's to the bit; absent: gramian in this thread. */
  gramian?(y: Float64Array, n: number, k: number, reg: number): Float64Array;
  halfStep(m: ConfidenceRows, x: Float64Array, y: Float64Array, yRows: number, k: number, reg: number, steps: number, yty: Float64Array): void;
}

/**
 * One half-iteration: updates every row of X (rows x k, in place) with `steps` CG steps against the
 * fixed Y, warm-started from the current X.
 * `rows` limits it to a range of rows (one thread's share); `yty` passes a precomputed Y^T Y + reg I.
 */
export function conjugateGradientHalfStep(
  m: ConfidenceRows,
  x: Float64Array,
  y: Float64Array,
  yRows: number,
  k: number,
  reg: number,
  steps: number,
  opts: { rows?: { from: number; to: number }; yty?: Float64Array } = {},
): void {
  const yty = opts.yty ?? gramian(y, yRows, k, reg);
  const { indptr, indices, confidence } = m;
  const r = new Float64Array(k);
  const p = new Float64Array(k);
  const ap = new Float64Array(k);
  const xu = new Float64Array(k);
  const from = opts.rows?.from ?? 0;
  const to = opts.rows?.to ?? m.rows;
  for (let u = from; u < to; u++) {
    const start = indptr[u];
    const end = indptr[u + 1];
    const xo = u * k;
    for (let a = 0; a < k; a++) xu[a] = x[xo + a];
    // r = b - A x = sum_i (c_i - (c_i - 1)(y_i . x)) y_i - YtY x
    matVec(yty, xu, r, k);
    for (let a = 0; a < k; a++) r[a] = -r[a];
    sparseAccumulate(y, k, indices, confidence, start, end, xu, 1, -1, r);
    let rsOld = dot(r, 0, r, 0, k);
    if (rsOld < 1e-20) continue;
    p.set(r);
    for (let step = 0; step < steps; step++) {
      // ap = A p = YtY p + sum_i (c_i - 1)(y_i . p) y_i
      matVec(yty, p, ap, k);
      sparseAccumulate(y, k, indices, confidence, start, end, p, 0, 1, ap);
      const pAp = dot(p, 0, ap, 0, k);
      if (!(pAp > 0)) break;
      const alpha = rsOld / pAp;
      for (let a = 0; a < k; a++) {
        xu[a] += alpha * p[a];
        r[a] -= alpha * ap[a];
      }
      const rsNew = dot(r, 0, r, 0, k);
      if (rsNew < 1e-20) break;
      const beta = rsNew / rsOld;
      for (let a = 0; a < k; a++) p[a] = r[a] + beta * p[a];
      rsOld = rsNew;
    }
    for (let a = 0; a < k; a++) x[xo + a] = xu[a];
  }
}

/**
 * The HKV objective divided by the total confidence mass (so it reads the same across data sizes):
 *
 *   [ sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + reg (|X|^2 + |Y|^2) ] / (U I + sum_obs (c_ui - 1))
 *
 * The sum over all U x I pairs is split so it costs O(nnz k + U k^2) instead of O(U I k):
 * sum_{u,i} (x_u . y_i)^2 = sum_u x_u^T (YtY) x_u, and each observed pair adds c (1 - s)^2 - s^2.
 */
export function alsLoss(m: ConfidenceRows, x: Float64Array, y: Float64Array, yRows: number, k: number, reg: number): number {
  const yty = gramian(y, yRows, k, 0);
  let loss = 0;
  let mass = m.rows * yRows;
  for (let u = 0; u < m.rows; u++) {
    const xo = u * k;
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let b = 0; b < k; b++) s += yty[a * k + b] * x[xo + b];
      loss += x[xo + a] * s;
    }
    for (let q = m.indptr[u]; q < m.indptr[u + 1]; q++) {
      const o = m.indices[q] * k;
      let s = 0;
      for (let a = 0; a < k; a++) s += x[xo + a] * y[o + a];
      const c = m.confidence[q];
      loss += c * (1 - s) * (1 - s) - s * s;
      mass += c - 1;
    }
  }
  let norms = 0;
  for (let t = 0; t < x.length; t++) norms += x[t] * x[t];
  for (let t = 0; t < y.length; t++) norms += y[t] * y[t];
  return (loss + reg * norms) / mass;
}
