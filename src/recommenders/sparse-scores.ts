import type { OwnItems } from './own-items.js';
import { scratchSite } from './top-k-heap.js';

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

const bestPositive = scratchSite();

/**
 * Sets in `out` the `n` best positive scores of `scores` (ties to the lower item index, as TopKHeap breaks
 * them), in no particular order: a set of scores needs no sorting (EASE's 1000 per customer did). Items
 * marked 1 in `skip` are passed over.
 */
export function setBestPositive(scores: SparseScores, n: number, out: SparseScores, skip?: Uint8Array): void {
  const { values } = scores;
  // When no more than `n` qualify, they are the `n` best: set them without a heap (a source asked for its
  // `n` best new items, and scoring the user's own beside them, is always this case).
  let qualifying = 0;
  for (let p = 0; p < scores.size; p++) {
    const i = scores.item(p);
    if (values[i] > 0 && skip?.[i] !== 1) qualifying++;
  }
  if (qualifying <= n) {
    for (let p = 0; p < scores.size; p++) {
      const i = scores.item(p);
      if (values[i] > 0 && skip?.[i] !== 1) out.set(i, values[i]);
    }
    return;
  }
  const { heap } = bestPositive(n);
  let threshold = heap.threshold;
  for (let p = 0; p < scores.size; p++) {
    const i = scores.item(p);
    const v = values[i];
    if (v > 0 && v >= threshold && skip?.[i] !== 1) {
      heap.push(i, v);
      threshold = heap.threshold;
    }
  }
  heap.forEach((item) => out.set(item, values[item]));
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
