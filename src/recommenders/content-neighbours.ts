/**
 * Each item's nearest items by the cosine of their content vectors (L2-normalised, non-negative), through
 * the inverted index, with a bound that stops before the features most items share.
 *
 * A plain pass over the postings of an item's features costs the sum of their lengths, and a feature like
 * a price band, a brand, a size, a colour or the shop's currency is shared by a tenth of the catalogue or
 * all of it: the whole fit grows with products squared. Here an item's features are taken cheapest first
 * (postings per unit of the bound below). Before a posting list at least a tenth as long as the items found
 * so far, the bound is checked: an item not yet found can share only the features left, so its cosine is at
 * most R, the sum over those features of the item's weight times the largest value in the feature's posting
 * list. The k best items found by their partial cosines (what the features walked gave them) are completed
 * from their own rows with the features left: once R is below the least of those k whole cosines, no
 * unfound item can enter the top k. The items found that still can get what the features left add to them
 * from their own rows, and the long postings are never walked. The whole cosines, not the partial ones,
 * matter on a catalogue of variants: a product's sizes and colours are found through its style and words
 * (short postings) and share the long features too (category, season, colour), which their partial cosines
 * lack until those are walked. The result is the exact top k (ties to the lower index, as TopKHeap keeps
 * them); only the order in which a cosine's terms are summed differs.
 */
import type { SparseRows } from './tfidf.js';
import { TopKHeap } from './top-k-heap.js';

/** Scratch buffers for one thread's neighbour searches over one set of vectors. */
export interface NeighbourSearch {
  vectors: SparseRows;
  inverted: SparseRows;
  /** Largest value of each feature's posting list (the most a feature can add, per unit of weight). */
  maxima: Float64Array;
  acc: Float64Array;
  touched: Int32Array;
  /** Weights of the item's features the search has not walked (yet), by feature (0 elsewhere). */
  left: Float64Array;
  order: Int32Array;
  partial: TopKHeap;
  k: number;
}

export function createNeighbourSearch(vectors: SparseRows, inverted: SparseRows, k = 50): NeighbourSearch {
  const maxima = new Float64Array(inverted.rows);
  for (let f = 0; f < inverted.rows; f++) {
    for (let p = inverted.indptr[f]; p < inverted.indptr[f + 1]; p++) maxima[f] = Math.max(maxima[f], inverted.values[p]);
  }
  let widest = 0;
  for (let i = 0; i < vectors.rows; i++) widest = Math.max(widest, vectors.indptr[i + 1] - vectors.indptr[i]);
  return {
    vectors,
    inverted,
    maxima,
    acc: new Float64Array(vectors.rows),
    touched: new Int32Array(vectors.rows),
    left: new Float64Array(inverted.rows),
    order: new Int32Array(widest),
    partial: new TopKHeap(k),
    k,
  };
}

/** Cosines below the bound by less than this are not trusted to rule an item out (summation order). */
const SLACK = 1e-9;

/**
 * The bound is checked before a posting list at least 1/CHECK_RATIO as long as the items found: a check
 * costs a pass over those items, and checking before shorter lists cost more than it saved (measured on
 * a tenth of a 60,542-product fashion catalogue under load, so roughly, bench/README.md: 1 (every list as
 * long as the items found) 0.71x the time of the partial-cosine check; 10: 0.34-0.37x; 20: 0.54x; checking
 * before every list: 0.72x. On the whole catalogue at a steadier load the fit took 0.78x).
 */
const CHECK_RATIO = 10;

/** Pushes `item`'s k nearest items (cosine > 0, not the item itself) into `heap`, which must keep the best k. */
export function pushContentNeighbours(s: NeighbourSearch, item: number, heap: TopKHeap, k: number): void {
  if (s.k !== k) {
    s.partial = new TopKHeap(k);
    s.k = k;
  }
  const { vectors, inverted, maxima, acc, touched, left, order, partial } = s;
  const from = vectors.indptr[item];
  const m = vectors.indptr[item + 1] - from;
  const postings = (f: number) => inverted.indptr[f + 1] - inverted.indptr[f];
  for (let t = 0; t < m; t++) {
    order[t] = from + t;
    left[vectors.indices[from + t]] = vectors.values[from + t];
  }
  // Cheapest first: the postings a feature costs per unit of the bound it takes away.
  const cost = (at: number) => postings(vectors.indices[at]) / (vectors.values[at] * maxima[vectors.indices[at]]);
  const byCost = order.subarray(0, m).sort((a, b) => cost(a) - cost(b) || a - b);
  let bound = 0;
  for (let t = 0; t < m; t++) bound += vectors.values[byCost[t]] * maxima[vectors.indices[byCost[t]]];

  let count = 0;
  let walked = 0;
  for (; walked < m; walked++) {
    const at = byCost[walked];
    const f = vectors.indices[at];
    if (count > k && postings(f) * CHECK_RATIO >= count && bound + SLACK < kthWhole(s, item, count)) break;
    const w = vectors.values[at];
    left[f] = 0;
    for (let p = inverted.indptr[f]; p < inverted.indptr[f + 1]; p++) {
      const j = inverted.indices[p];
      // Weights are positive, so a zero accumulator means "not touched yet".
      if (acc[j] === 0) touched[count++] = j;
      acc[j] += w * inverted.values[p];
    }
    bound -= w * maxima[f];
  }

  if (walked < m) {
    // Only the items found can enter. The k best so far get what the features left add to them first, so
    // the heap's threshold rules out most of the others before their rows are read.
    const complete = (j: number) => {
      for (let q = vectors.indptr[j]; q < vectors.indptr[j + 1]; q++) {
        const w = left[vectors.indices[q]];
        if (w > 0) acc[j] += w * vectors.values[q];
      }
      heap.push(j, acc[j]);
      acc[j] = -1; // done
    };
    partial.forEach((j) => complete(j));
    for (let c = 0; c < count; c++) {
      const j = touched[c];
      if (j !== item && acc[j] >= 0 && acc[j] + bound + SLACK >= heap.threshold) complete(j);
    }
    for (let t = walked; t < m; t++) left[vectors.indices[byCost[t]]] = 0;
  } else {
    for (let c = 0; c < count; c++) if (touched[c] !== item) heap.push(touched[c], acc[touched[c]]);
  }
  for (let c = 0; c < count; c++) acc[touched[c]] = 0;
}

/**
 * At most the k-th best whole cosine of the items found: the k best of them by partial cosine (left in
 * `s.partial`), each completed from its own row with the features not walked (`s.left`), and the least of
 * those k whole cosines. -Infinity while fewer than k items but `item` are found.
 */
function kthWhole(s: NeighbourSearch, item: number, count: number): number {
  if (kthPartial(s, item, count) === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  const { vectors, left, acc } = s;
  let least = Number.POSITIVE_INFINITY;
  s.partial.forEach((j) => {
    let whole = acc[j];
    for (let q = vectors.indptr[j]; q < vectors.indptr[j + 1]; q++) whole += left[vectors.indices[q]] * vectors.values[q];
    if (whole < least) least = whole;
  });
  return least;
}

/** The k-th best partial cosine among the first `count` touched items but `item` (leaves it in `s.partial`). */
function kthPartial(s: NeighbourSearch, item: number, count: number): number {
  const { partial, touched, acc } = s;
  partial.clear();
  for (let c = 0; c < count; c++) if (touched[c] !== item) partial.push(touched[c], acc[touched[c]]);
  return partial.threshold;
}
