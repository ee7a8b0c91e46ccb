import type { Neighbour } from './recommender.js';

/**
 * Keeps the k best (item, score) pairs seen so far in a bounded min-heap: O(n log k) for n pushes,
 * instead of sorting a whole catalogue to take a handful. Ties go to the lower item index so results
 * are deterministic.
 */
export class TopKHeap {
  private readonly items: Int32Array;
  private readonly scores: Float64Array;
  private size = 0;

  constructor(private readonly k: number) {
    this.items = new Int32Array(Math.max(k, 0));
    this.scores = new Float64Array(Math.max(k, 0));
  }

  /** True when (a, sa) ranks below (b, sb). */
  private static worse(sa: number, a: number, sb: number, b: number): boolean {
    return sa < sb || (sa === sb && a > b);
  }

  /**
   * The score a new pair must reach to enter (pairs scoring strictly less are rejected), or -Infinity
   * while the heap is not full: lets a hot loop skip the call for most of a catalogue.
   */
  get threshold(): number {
    return this.size < this.k ? Number.NEGATIVE_INFINITY : this.scores[0];
  }

  push(item: number, score: number): void {
    if (this.k <= 0) return;
    if (this.size < this.k) {
      let c = this.size++;
      // Sift up: the root holds the worst kept pair.
      while (c > 0) {
        const parent = (c - 1) >> 1;
        if (!TopKHeap.worse(score, item, this.scores[parent], this.items[parent])) break;
        this.items[c] = this.items[parent];
        this.scores[c] = this.scores[parent];
        c = parent;
      }
      this.items[c] = item;
      this.scores[c] = score;
      return;
    }
    if (!TopKHeap.worse(this.scores[0], this.items[0], score, item)) return;
    // Replace the root and sift down.
    this.siftDown(item, score);
  }

  /** How many pairs are kept. */
  get length(): number {
    return this.size;
  }

  /** Forgets every pair, keeping the buffers (to reuse one heap for many lists). */
  clear(): void {
    this.size = 0;
  }

  /**
   * Writes the kept pairs best first into `items` and `scores` from position `at` (the order of
   * result(), without an object per pair or a sort) and empties the heap. Returns how many it wrote.
   */
  drainBestFirst(items: Int32Array, scores: Float32Array | Float64Array, at: number): number {
    const n = this.size;
    if (at < 0 || at + n > items.length || at + n > scores.length) throw new RangeError(`drainBestFirst: ${n} pairs do not fit at ${at}`);
    // Each step moves the worst pair left (the root) to the back of what remains.
    for (let last = n - 1; last >= 0; last--) {
      items[at + last] = this.items[0];
      scores[at + last] = this.scores[0];
      this.size = last;
      if (last > 0) this.siftDown(this.items[last], this.scores[last]);
    }
    return n;
  }

  /** Puts (item, score) at the root and sifts it down to its place among the `size` kept pairs. */
  private siftDown(item: number, score: number): void {
    let c = 0;
    for (;;) {
      let child = 2 * c + 1;
      if (child >= this.size) break;
      const right = child + 1;
      if (right < this.size && TopKHeap.worse(this.scores[right], this.items[right], this.scores[child], this.items[child]))
        child = right;
      if (!TopKHeap.worse(this.scores[child], this.items[child], score, item)) break;
      this.items[c] = this.items[child];
      this.scores[c] = this.scores[child];
      c = child;
    }
    this.items[c] = item;
    this.scores[c] = score;
  }

  /** Calls fn for every kept pair, in no particular order (no allocation, no sort). */
  forEach(fn: (item: number, score: number) => void): void {
    for (let p = 0; p < this.size; p++) fn(this.items[p], this.scores[p]);
  }

  /** The kept pairs, best first. */
  result(): Neighbour[] {
    const out: Neighbour[] = [];
    for (let p = 0; p < this.size; p++) out.push({ item: this.items[p], score: this.scores[p] });
    return out.sort((a, b) => b.score - a.score || a.item - b.item);
  }
}

/**
 * A heap of capacity k with buffers to drain it into, reused by one call site's per-user selections
 * (scoring a user then allocates nothing).
 */
export class TopKScratch {
  readonly heap: TopKHeap;
  readonly items: Int32Array;
  readonly scores: Float64Array;
  constructor(k: number) {
    this.heap = new TopKHeap(k);
    this.items = new Int32Array(Math.max(k, 0));
    this.scores = new Float64Array(Math.max(k, 0));
  }

  /** Drains the heap into `items` and `scores`, best first; returns how many. */
  drain(): number {
    return this.heap.drainBestFirst(this.items, this.scores, 0);
  }
}

/**
 * A call site's scratches, one per capacity k, for this thread: `const scratchFor = scratchSite()` at module level,
 * then `scratchFor(k)` per selection hands out the scratch emptied. Each site holds its own, so two sites never share
 * one; a site must be done with the scratch's buffers before it asks again (none of them is re-entered or awaits in
 * between). A scratch per (site, k) stays for the thread's life.
 */
export function scratchSite(): (k: number) => TopKScratch {
  const byCapacity = new Map<number, TopKScratch>();
  return (k) => {
    let scratch = byCapacity.get(k);
    if (!scratch) byCapacity.set(k, (scratch = new TopKScratch(k)));
    scratch.heap.clear();
    return scratch;
  };
}
