/**
 * Inverse of a symmetric positive definite n x n matrix (row-major Float64Array), the LAPACK
 * dpotrf + dpotri route in three passes of about n^3 / 6 multiply-adds each:
 *   1. Cholesky A = L L^T            (L strictly below the diagonal, its diagonal in a vector d)
 *   2. U = (L^-1)^T by forward substitution, one column of L^-1 per row of U (upper triangle)
 *   3. A^-1 = U U^T, i.e. (A^-1)[x][y] = sum_{k >= max(x,y)} U[x][k] U[y][k] (lower triangle), mirrored.
 * Every pass is written as dot products of two contiguous row segments, computed for 2 x 2 rows at
 * once (four accumulators share the loads: ~2x the speed of one dot at a time in V8) and in blocks of
 * rows so the rows being reused stay in cache. Odd n is handled by padding with a 1 on the diagonal.
 *
 * Only the lower triangle of `a` is read; on return `a` holds the full symmetric inverse.
 * Throws when A is not positive definite (a non-positive pivot).
 */
const BLOCK = 16;

export function invertSpdInPlace(a: Float64Array, n: number): void {
  if (a.length !== n * n) throw new Error(`invertSpdInPlace: ${a.length} values for a ${n} x ${n} matrix`);
  if (n === 0) return;
  if (n % 2 === 1) {
    // [[A, 0], [0, 1]]^-1 = [[A^-1, 0], [0, 1]]: pad to even size so every pass works in pairs.
    const m = n + 1;
    const padded = new Float64Array(m * m);
    for (let i = 0; i < n; i++) padded.set(a.subarray(i * n, i * n + i + 1), i * m);
    padded[m * m - 1] = 1;
    invertEven(padded, m);
    for (let i = 0; i < n; i++) a.set(padded.subarray(i * m, i * m + n), i * n);
    return;
  }
  invertEven(a, n);
}

function invertEven(a: Float64Array, n: number): void {
  const d = new Float64Array(n);
  cholesky(a, n, d);
  inverseFactorTransposed(a, n, d);
  gramOfRows(a, n, d);
}

/** The four dot products of rows p0, p1 with rows q0, q1 over [from, to): r[0]=p0.q0, r[1]=p0.q1, r[2]=p1.q0, r[3]=p1.q1. */
const r = new Float64Array(4);
function dots2x2(a: Float64Array, p0: number, p1: number, q0: number, q1: number, from: number, to: number): void {
  let s00 = 0;
  let s01 = 0;
  let s10 = 0;
  let s11 = 0;
  let t00 = 0;
  let t01 = 0;
  let t10 = 0;
  let t11 = 0;
  let k = from;
  for (; k + 1 < to; k += 2) {
    const a0 = a[p0 + k];
    const a1 = a[p1 + k];
    const b0 = a[q0 + k];
    const b1 = a[q1 + k];
    s00 += a0 * b0;
    s01 += a0 * b1;
    s10 += a1 * b0;
    s11 += a1 * b1;
    const c0 = a[p0 + k + 1];
    const c1 = a[p1 + k + 1];
    const e0 = a[q0 + k + 1];
    const e1 = a[q1 + k + 1];
    t00 += c0 * e0;
    t01 += c0 * e1;
    t10 += c1 * e0;
    t11 += c1 * e1;
  }
  if (k < to) {
    const a0 = a[p0 + k];
    const a1 = a[p1 + k];
    const b0 = a[q0 + k];
    const b1 = a[q1 + k];
    s00 += a0 * b0;
    s01 += a0 * b1;
    s10 += a1 * b0;
    s11 += a1 * b1;
  }
  r[0] = s00 + t00;
  r[1] = s01 + t01;
  r[2] = s10 + t10;
  r[3] = s11 + t11;
}

function dot(a: Float64Array, p: number, q: number, from: number, to: number): number {
  let s0 = 0;
  let s1 = 0;
  let k = from;
  for (; k + 1 < to; k += 2) {
    s0 += a[p + k] * a[q + k];
    s1 += a[p + k + 1] * a[q + k + 1];
  }
  if (k < to) s0 += a[p + k] * a[q + k];
  return s0 + s1;
}

/**
 * Pass 1, left-looking by blocks of rows: L[i][j] = (A[i][j] - sum_{k<j} L[i][k] L[j][k]) / d[j],
 * d[j] = sqrt(A[j][j] - sum_{k<j} L[j][k]^2). Columns j before the block come in pairs against row
 * pairs of the block (column j+1 also needs the k = j term, added once L[i][j] is known); the small
 * triangle inside the block is done one entry at a time.
 */
function cholesky(a: Float64Array, n: number, d: Float64Array): void {
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    for (let j = 0; j < i0; j += 2) {
      const rj = j * n;
      const rj1 = rj + n;
      const l10 = a[rj1 + j];
      for (let i = i0; i < i1; i += 2) {
        const ri = i * n;
        const ri1 = ri + n;
        dots2x2(a, ri, ri1, rj, rj1, 0, j);
        const x0 = (a[ri + j] - r[0]) / d[j];
        const y0 = (a[ri1 + j] - r[2]) / d[j];
        a[ri + j] = x0;
        a[ri1 + j] = y0;
        a[ri + j + 1] = (a[ri + j + 1] - r[1] - x0 * l10) / d[j + 1];
        a[ri1 + j + 1] = (a[ri1 + j + 1] - r[3] - y0 * l10) / d[j + 1];
      }
    }
    for (let j = i0; j < i1; j++) {
      const rj = j * n;
      const pivot = a[rj + j] - dot(a, rj, rj, 0, j);
      if (!(pivot > 0)) throw new Error('matrix is not positive definite');
      d[j] = Math.sqrt(pivot);
      for (let i = j + 1; i < i1; i++) a[i * n + j] = (a[i * n + j] - dot(a, i * n, rj, 0, j)) / d[j];
    }
  }
}

/**
 * Pass 2: row j of U is column j of L^-1, by forward substitution on L x = e_j:
 *   U[j][j] = 1 / d[j],  U[j][i] = -(sum_{k=j}^{i-1} L[i][k] U[j][k]) / d[i]  for i > j.
 * L sits strictly below the diagonal and U on and above it, so they share the array. Right-hand sides
 * come in pairs (j, j+1) and rows in pairs (i, i+1); a block of pairs of right-hand sides shares one
 * sweep over the rows of L.
 */
function inverseFactorTransposed(a: Float64Array, n: number, d: Float64Array): void {
  for (let j0 = 0; j0 < n; j0 += BLOCK) {
    const j1 = Math.min(n, j0 + BLOCK);
    for (let i = j0; i < n; i += 2) {
      const ri = i * n;
      const ri1 = ri + n;
      for (let j = j0; j < j1 && j <= i; j += 2) {
        const uj = j * n;
        const uj1 = uj + n;
        if (j === i) {
          a[uj + j] = 1 / d[j];
          a[uj1 + j + 1] = 1 / d[j + 1];
          a[uj + j + 1] = -(a[ri1 + j] * a[uj + j]) / d[j + 1];
          continue;
        }
        // k in [j+1, i) for both right-hand sides, then the k = j term of rhs j, then row i+1's k = i term.
        dots2x2(a, ri, ri1, uj, uj1, j + 1, i);
        const ujj = a[uj + j];
        const x0 = -(r[0] + a[ri + j] * ujj) / d[i];
        const x1 = -r[1] / d[i];
        a[uj + i] = x0;
        a[uj1 + i] = x1;
        const lii = a[ri1 + i];
        a[uj + i + 1] = -(r[2] + a[ri1 + j] * ujj + lii * x0) / d[i + 1];
        a[uj1 + i + 1] = -(r[3] + lii * x1) / d[i + 1];
      }
    }
  }
}

/**
 * Pass 3: P = U U^T, P[y][x] = sum_{k >= y} U[x][k] U[y][k] for y >= x, written below the diagonal
 * (L is no longer needed) with the diagonal kept aside until U's diagonal has been read, then mirrored.
 */
function gramOfRows(a: Float64Array, n: number, d: Float64Array): void {
  for (let x0 = 0; x0 < n; x0 += BLOCK) {
    const x1 = Math.min(n, x0 + BLOCK);
    for (let y = x0; y < n; y += 2) {
      const uy = y * n;
      const uy1 = uy + n;
      for (let x = x0; x < x1 && x <= y; x += 2) {
        const ux = x * n;
        const ux1 = ux + n;
        if (x === y) {
          dots2x2(a, ux, ux1, ux, ux1, x + 2, n);
          const u00 = a[ux + x];
          const u01 = a[ux + x + 1];
          const u11 = a[ux1 + x + 1];
          d[x] = r[0] + u00 * u00 + u01 * u01;
          a[ux1 + x] = r[1] + u01 * u11;
          d[x + 1] = r[3] + u11 * u11;
          continue;
        }
        dots2x2(a, ux, ux1, uy, uy1, y + 1, n);
        const uyy = a[uy + y];
        a[uy + x] = r[0] + a[ux + y] * uyy;
        a[uy1 + x] = r[1];
        a[uy + x + 1] = r[2] + a[ux1 + y] * uyy;
        a[uy1 + x + 1] = r[3];
      }
    }
  }
  for (let i = 0; i < n; i++) {
    a[i * n + i] = d[i];
    for (let j = 0; j < i; j++) a[j * n + i] = a[i * n + j];
  }
}
