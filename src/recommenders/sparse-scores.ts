import type { OwnItems } from './own-items.js';

/**
 * A reusable sparse score vector over item indices: a dense value array plus the list of the items
 * touched since the last clear, so one user's scores cost what the user touches, not the catalogue.
 * Candidate generation (hybrid blend, serving build) works on these instead of full-catalogue arrays.
 */
export class SparseScores {
  readonly values: Float32Array;
  private readonly mark: Uint8Array;
  private touched: Int32Array;
  private n = 0;

  constructor(readonly itemCount: number) {
    this.values = new Float32Array(itemCount);
    this.mark = new Uint8Array(itemCount);
    this.touched = new Int32Array(Math.min(itemCount, 1024));
  }

  /** Number of touched items. */
  get size(): number {
    return this.n;
  }

  /** The touched item at position p (0 <= p < size), in first-touched order. */
  item(p: number): number {
    return this.touched[p];
  }

  /** Adds v to item's score (items outside [0, itemCount) are ignored). */
  add(item: number, v: number): void {
    if (!(item >= 0 && item < this.itemCount)) return;
    if (this.mark[item] === 0) this.touch(item);
    this.values[item] += v;
  }

  /** Sets item's score. */
  set(item: number, v: number): void {
    if (!(item >= 0 && item < this.itemCount)) return;
    if (this.mark[item] === 0) this.touch(item);
    this.values[item] = v;
  }

  private touch(item: number): void {
    this.mark[item] = 1;
    if (this.n === this.touched.length) {
      const grown = new Int32Array(Math.min(this.itemCount, this.touched.length * 2));
      grown.set(this.touched);
      this.touched = grown;
    }
    this.touched[this.n++] = item;
  }

  /** The largest score among touched items (-Infinity when none). */
  max(): number {
    let m = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < this.n; p++) {
      const v = this.values[this.touched[p]];
      if (v > m) m = v;
    }
    return m;
  }

  /** Resets every touched item to 0 and forgets them: O(touched). */
  clear(): void {
    for (let p = 0; p < this.n; p++) {
      const i = this.touched[p];
      this.values[i] = 0;
      this.mark[i] = 0;
    }
    this.n = 0;
  }

  /** Writes the scores into a dense array (0 for untouched items; `out` is filled first). */
  toDense(out: Float32Array): void {
    out.fill(0);
    for (let p = 0; p < this.n; p++) {
      const i = this.touched[p];
      if (i < out.length) out[i] = this.values[i];
    }
  }
}

/** setBestPositive's scratch (this thread's, grown as needed): the qualifying scores, and the items tied at the cut. */
let selectScores = new Float32Array(1024);
let tiedItems = new Int32Array(256);

/**
 * The k-th largest (from 0) of a[0..m), k < m, by quickselect (a median-of-three pivot, three-way partition,
 * so runs of equal scores cost no more than distinct ones). Reorders a[0..m).
 */
function kthLargest(a: Float32Array, m: number, k: number): number {
  let lo = 0;
  let hi = m - 1;
  while (lo < hi) {
    const x = a[lo];
    const y = a[(lo + hi) >>> 1];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // [lo, lt) above the pivot, [lt, gt] equal to it, (gt, hi] below it.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i];
      if (v > pivot) {
        a[i++] = a[lt];
        a[lt++] = v;
      } else if (v < pivot) {
        a[i] = a[gt];
        a[gt--] = v;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return pivot;
  }
  return a[lo];
}

/**
 * Sets in `out` the `n` best positive scores of `scores` (ties to the lower item index, as TopKHeap breaks
 * them), in no particular order: a set of scores needs no sorting (EASE's 1000 per customer did). Items
 * marked 1 in `skip` are passed over. When more than `n` qualify, the `n`-th best score is found by
 * quickselect and the items above it are set, then as many of those equal to it as fit, lowest first: the
 * heap's choice in a pass and a selection instead of a push per item.
 */
export function setBestPositive(scores: SparseScores, n: number, out: SparseScores, skip?: Uint8Array): void {
  if (!(n > 0)) return;
  const { values } = scores;
  if (selectScores.length < scores.size) selectScores = new Float32Array(Math.max(scores.size, 2 * selectScores.length));
  const qualifying = selectScores;
  let m = 0;
  for (let p = 0; p < scores.size; p++) {
    const i = scores.item(p);
    const v = values[i];
    if (v > 0 && skip?.[i] !== 1) qualifying[m++] = v;
  }
  // No more than `n` qualify (a source asked for its `n` best new items, with its scores of the user's own
  // beside them): they are the `n` best.
  if (m <= n) {
    for (let p = 0; p < scores.size; p++) {
      const i = scores.item(p);
      if (values[i] > 0 && skip?.[i] !== 1) out.set(i, values[i]);
    }
    return;
  }
  const cut = kthLargest(qualifying, m, n - 1);
  let above = 0;
  let tied = 0;
  for (let p = 0; p < scores.size; p++) {
    const i = scores.item(p);
    const v = values[i];
    if (!(v >= cut) || skip?.[i] === 1) continue;
    if (v > cut) {
      out.set(i, v);
      above++;
    } else {
      if (tied === tiedItems.length) {
        const grown = new Int32Array(2 * tiedItems.length);
        grown.set(tiedItems);
        tiedItems = grown;
      }
      tiedItems[tied++] = i;
    }
  }
  // The cut's own score: the lowest items first, as many as are left (at least one).
  const ties = tiedItems.subarray(0, tied);
  if (tied > n - above) ties.sort();
  for (let t = 0; t < n - above; t++) out.set(ties[t], values[ties[t]]);
}

/**
 * Sets in `out` the `n` best positive scores of `scores` among the items the user has not bought, and
 * every positive score of their own items beside them: Recommender.scoreSparse's cut, so a customer who
 * bought more than `n` of a source's favourites still gets its `n` best new items.
 */
export function setBestNewAndOwn(scores: SparseScores, n: number, out: SparseScores, own: OwnItems): void {
  setBestPositive(scores, n, out, own.mask);
  const { values } = scores;
  for (const i of own.items) if (values[i] > 0) out.set(i, values[i]);
}
