import type { Dataset } from './dataset.js';

/**
 * A sparse user x item matrix in CSR form. `values[k]` is the interaction weight of (user, indices[k]);
 * by default the number of distinct orders containing the pair (the evaluation protocol's weight).
 * `lastTs[k]` is the latest purchase time of the pair, `firstTs[k]` the first.
 */
export interface Csr {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  lastTs: Float64Array;
  firstTs: Float64Array;
}

/** Builds the user x item matrix; weight = number of distinct orders containing (user, item). */
export function userItemMatrix(ds: Dataset): Csr {
  const users = ds.userIds.length;
  const items = ds.itemIds.length;
  // Group event indices by user, then count distinct orders per (user, item).
  const counts = new Int32Array(users + 1);
  for (let e = 0; e < ds.eventUser.length; e++) counts[ds.eventUser[e] + 1]++;
  for (let u = 0; u < users; u++) counts[u + 1] += counts[u];
  const byUser = new Int32Array(ds.eventUser.length);
  const fill = counts.slice(0, users);
  for (let e = 0; e < ds.eventUser.length; e++) byUser[fill[ds.eventUser[e]]++] = e;

  const indptr = new Int32Array(users + 1);
  const idx: number[] = [];
  const val: number[] = [];
  const last: number[] = [];
  const first: number[] = [];
  const slot = new Map<number, number>();
  const seenOrder = new Set<string>();
  for (let u = 0; u < users; u++) {
    slot.clear();
    seenOrder.clear();
    const start = idx.length;
    for (let p = counts[u]; p < counts[u + 1]; p++) {
      const e = byUser[p];
      const i = ds.eventItem[e];
      const ts = ds.eventTs[e];
      let s = slot.get(i);
      if (s === undefined) {
        s = idx.length;
        slot.set(i, s);
        idx.push(i);
        val.push(0);
        last.push(ts);
        first.push(ts);
      }
      const key = `${i}:${ds.eventOrder[e]}`;
      if (!seenOrder.has(key)) {
        seenOrder.add(key);
        val[s] += 1;
      }
      if (ts > last[s]) last[s] = ts;
      if (ts < first[s]) first[s] = ts;
    }
    // Sort the row by item index so rows can be merged and searched.
    const order = Array.from({ length: idx.length - start }, (_, k) => start + k).sort((a, b) => idx[a] - idx[b]);
    const ri = order.map((k) => idx[k]);
    const rv = order.map((k) => val[k]);
    const rl = order.map((k) => last[k]);
    const rf = order.map((k) => first[k]);
    for (let k = 0; k < order.length; k++) {
      idx[start + k] = ri[k];
      val[start + k] = rv[k];
      last[start + k] = rl[k];
      first[start + k] = rf[k];
    }
    indptr[u + 1] = idx.length;
  }
  return {
    rows: users,
    cols: items,
    indptr,
    indices: Int32Array.from(idx),
    values: Float32Array.from(val),
    lastTs: Float64Array.from(last),
    firstTs: Float64Array.from(first),
  };
}

/**
 * The layout of a sparse matrix's transpose: its indptr and indices, and for every stored entry of the
 * transpose the position `from[p]` of the same entry in the original, so any array aligned with the
 * original's indices (values, timestamps) is carried over as `out[p] = original[from[p]]`.
 */
export function transposeLayout(m: { rows: number; cols: number; indptr: Int32Array; indices: Int32Array }) {
  const indptr = new Int32Array(m.cols + 1);
  for (let k = 0; k < m.indices.length; k++) indptr[m.indices[k] + 1]++;
  for (let c = 0; c < m.cols; c++) indptr[c + 1] += indptr[c];
  const fill = indptr.slice(0, m.cols);
  const indices = new Int32Array(m.indices.length);
  const from = new Int32Array(m.indices.length);
  for (let r = 0; r < m.rows; r++) {
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      const p = fill[m.indices[k]]++;
      indices[p] = r;
      from[p] = k;
    }
  }
  return { indptr, indices, from };
}

/** Transposes a CSR matrix (e.g. user x item -> item x user). */
export function transpose(m: Csr): Csr {
  const { indptr, indices, from } = transposeLayout(m);
  return {
    rows: m.cols,
    cols: m.rows,
    indptr,
    indices,
    values: Float32Array.from(from, (k) => m.values[k]),
    lastTs: Float64Array.from(from, (k) => m.lastTs[k]),
    firstTs: Float64Array.from(from, (k) => m.firstTs[k]),
  };
}
