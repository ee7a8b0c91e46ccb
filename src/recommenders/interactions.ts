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

/** A Csr from rows built in plain arrays (entries aligned with `idx`). */
function packCsr(users: number, items: number, indptr: Int32Array, idx: number[], val: number[], last: number[], first: number[]): Csr {
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

/** Rows (events or signals) grouped by user: user u's are events[indptr[u]..indptr[u + 1]), in their original order. */
export interface UserEvents {
  indptr: Int32Array;
  events: Int32Array;
}

/** Groups row indices by the user in `user` (a counting sort, so each user's rows keep their order). */
export function groupByUser(users: number, user: Int32Array): UserEvents {
  const indptr = new Int32Array(users + 1);
  for (let r = 0; r < user.length; r++) indptr[user[r] + 1]++;
  for (let u = 0; u < users; u++) indptr[u + 1] += indptr[u];
  const events = new Int32Array(user.length);
  const fill = indptr.slice(0, users);
  for (let r = 0; r < user.length; r++) events[fill[user[r]]++] = r;
  return { indptr, events };
}

/** The dataset's events grouped by user, each user's in time order (the dataset's are sorted by ts). */
export function eventsByUser(ds: Pick<Dataset, 'userIds' | 'eventUser'>): UserEvents {
  return groupByUser(ds.userIds.length, ds.eventUser);
}

/**
 * The matrices built, by dataset: a fold's split builds its train matrix, and every source fitted on that
 * train (tuning fits each candidate of EASE, item-kNN, popularity, buy-again and ALS on it, three folds over) asked
 * for the same matrix again. A dataset's events do not change once built, and no caller writes into a Csr,
 * so one matrix serves them all; it lives as long as its dataset does.
 */
const builtFor = new WeakMap<Dataset, Csr>();

/**
 * The user x item matrix; weight = number of distinct orders containing (user, item). Built once per dataset
 * object (later calls return the same Csr, which callers read only).
 */
export function userItemMatrix(ds: Dataset): Csr {
  let m = builtFor.get(ds);
  if (!m) builtFor.set(ds, (m = buildUserItemMatrix(ds)));
  return m;
}

/**
 * Records `m` as the user x item matrix of `ds`, which was built elsewhere: a fold another thread split is
 * handed over as a structured clone of its dataset and train matrix (evaluation/fold-pool.ts), and the sources
 * fitted on it then read that matrix rather than build it again. `m` must be userItemMatrix's of the same events.
 */
export function adoptUserItemMatrix(ds: Dataset, m: Csr): void {
  if (!builtFor.has(ds)) builtFor.set(ds, m);
}

function buildUserItemMatrix(ds: Dataset): Csr {
  const users = ds.userIds.length;
  const items = ds.itemIds.length;
  const { indptr: starts, events: byUser } = eventsByUser(ds);
  let orders = 0;
  for (const o of ds.eventOrder) if (o >= orders) orders = o + 1;
  // One user's row in dense scratch arrays over the items, then written out sorted by item index.
  const count = new Float64Array(items);
  const last = new Float64Array(items);
  const first = new Float64Array(items);
  const slotOf = new Int32Array(items).fill(-1);
  const row = new Int32Array(items);
  // The user's orders numbered from 0 in order of appearance (orderUser says whose number it holds).
  const orderUser = new Int32Array(orders).fill(-1);
  const localOrder = new Int32Array(orders);
  // (row slot, local order) pairs already counted for the current user, as slot * span + local order:
  // both are below the user's event count `span`, so keys stay small integers.
  const counted = new Set<number>();
  // A row has at most one entry per event: sized for that, trimmed at the end.
  const cap = ds.eventItem.length;
  const indptr = new Int32Array(users + 1);
  let indices = new Int32Array(cap);
  let values = new Float32Array(cap);
  let lastTs = new Float64Array(cap);
  let firstTs = new Float64Array(cap);
  let nnz = 0;
  for (let u = 0; u < users; u++) {
    let n = 0;
    let nOrders = 0;
    const span = starts[u + 1] - starts[u];
    counted.clear();
    for (let p = starts[u]; p < starts[u + 1]; p++) {
      const e = byUser[p];
      const i = ds.eventItem[e];
      const o = ds.eventOrder[e];
      const ts = ds.eventTs[e];
      if (slotOf[i] < 0) {
        slotOf[i] = n;
        row[n++] = i;
        count[i] = 0;
        last[i] = ts;
        first[i] = ts;
      }
      if (orderUser[o] !== u) {
        orderUser[o] = u;
        localOrder[o] = nOrders++;
      }
      const key = slotOf[i] * span + localOrder[o];
      if (!counted.has(key)) {
        counted.add(key);
        count[i] += 1;
      }
      if (ts > last[i]) last[i] = ts;
      if (ts < first[i]) first[i] = ts;
    }
    // Rows sorted by item index so they can be merged and searched.
    const sorted = row.subarray(0, n).sort();
    for (const i of sorted) {
      indices[nnz] = i;
      values[nnz] = count[i];
      lastTs[nnz] = last[i];
      firstTs[nnz] = first[i];
      nnz++;
      slotOf[i] = -1;
    }
    indptr[u + 1] = nnz;
  }
  if (nnz < cap) {
    indices = indices.slice(0, nnz);
    values = values.slice(0, nnz);
    lastTs = lastTs.slice(0, nnz);
    firstTs = firstTs.slice(0, nnz);
  }
  return { rows: users, cols: items, indptr, indices, values, lastTs, firstTs };
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
  const values = new Float32Array(from.length);
  const lastTs = new Float64Array(from.length);
  const firstTs = new Float64Array(from.length);
  // Plain loops: a typed array's from() with a map function is several times slower.
  for (let p = 0; p < from.length; p++) {
    const k = from[p];
    values[p] = m.values[k];
    lastTs[p] = m.lastTs[k];
    firstTs[p] = m.firstTs[k];
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, values, lastTs, firstTs };
}

/**
 * The user x item matrix with the dataset's non-purchase signals added (issue 14):
 * value = distinct orders + sum of the pair's signal weights (w_cart per add-to-cart, w_view per view,
 * w_rating * stars / 5 per rating; the recipe's eventWeights, applied when the dataset was loaded).
 * Without signals this is exactly userItemMatrix(ds), so a recipe weighing only purchases fits the
 * purchase-only model bit for bit. lastTs/firstTs stay purchase times (what buy-again and ALS's
 * "changed since training" mean); a pair known only from signals has lastTs -Infinity, firstTs +Infinity.
 */
export function weightedUserItemMatrix(ds: Dataset): Csr {
  const bought = userItemMatrix(ds);
  const sig = ds.signals;
  if (!sig || sig.user.length === 0) return bought;
  const users = ds.userIds.length;
  const items = ds.itemIds.length;
  // Signals grouped by user, then summed per item in a dense scratch row.
  const { indptr: start, events: byUser } = groupByUser(users, sig.user);
  const scratch = new Float64Array(items);
  const touched = new Int32Array(items);
  const inRow = new Uint8Array(items);

  const indptr = new Int32Array(users + 1);
  const idx: number[] = [];
  const val: number[] = [];
  const last: number[] = [];
  const first: number[] = [];
  for (let u = 0; u < users; u++) {
    let n = 0;
    for (let p = start[u]; p < start[u + 1]; p++) {
      const s = byUser[p];
      const i = sig.item[s];
      if (scratch[i] === 0) touched[n++] = i;
      scratch[i] += sig.weight[s];
    }
    for (let p = bought.indptr[u]; p < bought.indptr[u + 1]; p++) inRow[bought.indices[p]] = 1;
    const extra = Array.from(touched.subarray(0, n)).filter((i) => inRow[i] === 0).sort((a, b) => a - b);
    // Merge the purchase row (sorted) with the signal-only items (sorted).
    let p = bought.indptr[u];
    let q = 0;
    const end = bought.indptr[u + 1];
    while (p < end || q < extra.length) {
      if (q >= extra.length || (p < end && bought.indices[p] < extra[q])) {
        const i = bought.indices[p];
        idx.push(i);
        val.push(bought.values[p] + scratch[i]);
        last.push(bought.lastTs[p]);
        first.push(bought.firstTs[p]);
        p++;
      } else {
        const i = extra[q++];
        idx.push(i);
        val.push(scratch[i]);
        last.push(Number.NEGATIVE_INFINITY);
        first.push(Number.POSITIVE_INFINITY);
      }
    }
    for (let t = 0; t < n; t++) scratch[touched[t]] = 0;
    for (let p2 = bought.indptr[u]; p2 < end; p2++) inRow[bought.indices[p2]] = 0;
    indptr[u + 1] = idx.length;
  }
  return packCsr(users, items, indptr, idx, val, last, first);
}
