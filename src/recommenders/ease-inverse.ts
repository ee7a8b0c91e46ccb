import { invertSpdInPlace } from './spd-inverse.js';

/** A user x item matrix over the model's items (CSR): row u holds its item slots (ascending) and values. */
export interface ModelRows {
  indptr: Int32Array;
  slots: Int32Array;
  values: Float64Array;
}

/** How P is computed: from the n x n Gram matrix, or through the m x m matrix of the users (Woodbury). */
export type InversePath = 'items' | 'users';

/**
 * P = (X^T X + lambda I)^-1 for the n model items, as a full symmetric row-major n x n array.
 *
 * When the users are fewer than the items (a small shop, a sample, an early validation fold), the
 * Woodbury identity gives P, up to rounding, from an m x m inverse instead of an n x n one:
 *   P = (I - X^T K X) / lambda,   K = (X X^T + lambda I)^-1,
 * at a cost of sum_i buyers_i^2 / 2 + m^3 / 2 + m nnz + nnz n / 2 multiply-adds against the items'
 * path's sum_u items_u^2 / 2 + n^3 / 2. It holds K, KX and P at once (8 (m^2 + mn + n^2) bytes), so it
 * is taken only when it is cheaper and holds at most twice the items' path's n x n, unless `path` says.
 */
export function regularisedGramInverse(x: ModelRows, n: number, lambda: number, path?: InversePath): { p: Float64Array; path: InversePath } {
  const m = x.indptr.length - 1;
  const nnz = x.slots.length;
  let itemPairs = 0;
  for (let u = 0; u < m; u++) itemPairs += (x.indptr[u + 1] - x.indptr[u]) ** 2 / 2;
  const buyers = new Int32Array(n);
  for (let p = 0; p < nnz; p++) buyers[x.slots[p]]++;
  let userPairs = 0;
  for (const b of buyers) userPairs += (b * b) / 2;
  const cheaper = userPairs + m ** 3 / 2 + m * nnz + (nnz * n) / 2 < itemPairs + n ** 3 / 2;
  const fits = m * m + m * n <= n * n;
  const chosen = path ?? (cheaper && fits ? 'users' : 'items');
  return { p: chosen === 'users' ? throughUsers(x, n, lambda, buyers) : throughItems(x, n, lambda), path: chosen };
}

/**
 * Adds the lower triangle of the products of one sparse vector's entries, (a, b) with b <= a, to the
 * dim x dim row-major `target`: entries [from, to) of `index` (ascending) and `value`.
 */
function addPairs(target: Float64Array, dim: number, index: Int32Array, value: Float64Array, from: number, to: number): void {
  for (let q = from; q < to; q++) {
    const ra = index[q] * dim;
    const va = value[q];
    for (let t = from; t <= q; t++) target[ra + index[t]] += va * value[t];
  }
}

/** The Gram matrix's lower triangle (sum over users of their item pairs), lambda on the diagonal, inverted. */
function throughItems(x: ModelRows, n: number, lambda: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let u = 0; u + 1 < x.indptr.length; u++) addPairs(g, n, x.slots, x.values, x.indptr[u], x.indptr[u + 1]);
  for (let s = 0; s < n; s++) g[s * n + s] += lambda;
  invertSpdInPlace(g, n);
  return g;
}

/** Woodbury: K = (X X^T + lambda I)^-1 over the users, then P = (I - X^T (K X)) / lambda. */
function throughUsers(x: ModelRows, n: number, lambda: number, buyers: Int32Array): Float64Array {
  const m = x.indptr.length - 1;
  // Users per item (CSC): X X^T sums each item's pairs of buyers.
  const colptr = new Int32Array(n + 1);
  for (let s = 0; s < n; s++) colptr[s + 1] = colptr[s] + buyers[s];
  const fill = colptr.slice(0, n);
  const colUsers = new Int32Array(x.slots.length);
  const colValues = new Float64Array(x.slots.length);
  for (let u = 0; u < m; u++) {
    for (let p = x.indptr[u]; p < x.indptr[u + 1]; p++) {
      const at = fill[x.slots[p]]++;
      colUsers[at] = u;
      colValues[at] = x.values[p];
    }
  }
  const k = new Float64Array(m * m);
  for (let s = 0; s < n; s++) addPairs(k, m, colUsers, colValues, colptr[s], colptr[s + 1]);
  for (let u = 0; u < m; u++) k[u * m + u] += lambda;
  invertSpdInPlace(k, m);

  // KX, row by row: row u of KX = sum over users v of K[u][v] times row v of X.
  const kx = new Float64Array(m * n);
  for (let u = 0; u < m; u++) {
    const ru = u * n;
    for (let v = 0; v < m; v++) {
      const kuv = k[u * m + v];
      for (let p = x.indptr[v]; p < x.indptr[v + 1]; p++) kx[ru + x.slots[p]] += kuv * x.values[p];
    }
  }
  // X^T (KX), lower triangle: row i gains x_ui times row u of KX up to column i, for every user u of
  // item i. Then P = (I - X^T K X) / lambda, mirrored, so P is exactly symmetric.
  const p = new Float64Array(n * n);
  for (let u = 0; u < m; u++) {
    const ru = u * n;
    for (let q = x.indptr[u]; q < x.indptr[u + 1]; q++) {
      const i = x.slots[q];
      const ri = i * n;
      const xv = x.values[q];
      for (let j = 0; j <= i; j++) p[ri + j] += xv * kx[ru + j];
    }
  }
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    p[ri + i] = (1 - p[ri + i]) / lambda;
    for (let j = 0; j < i; j++) p[j * n + i] = p[ri + j] = (0 - p[ri + j]) / lambda;
  }
  return p;
}
