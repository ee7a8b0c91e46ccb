import { describe, expect, it } from 'vitest';
import { NeighbourListBuilder, packNeighbourLists } from '../../../src/recommenders/neighbour-lists.js';
import type { Neighbour } from '../../../src/recommenders/recommender.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import { setBestPositive, SparseScores } from '../../../src/recommenders/sparse-scores.js';
import { TopKHeap } from '../../../src/recommenders/top-k-heap.js';
import { topCandidates, topSparseCandidates } from '../../../src/serving/top-candidates.js';

/** `n` pairs over items 0..items-1 (each item once at most), scores from a few values so that ties are common. */
function pairs(random: () => number, n: number, items: number): Neighbour[] {
  const chosen = new Set<number>();
  while (chosen.size < Math.min(n, items)) chosen.add(Math.floor(random() * items));
  return [...chosen].map((item) => ({ item, score: Math.floor(random() * 5) / 4 }));
}

/** The k best of `list` by the heap's contract, written out: higher score first, the lower item on a tie. */
function bestOf(list: Neighbour[], k: number): Neighbour[] {
  return [...list].sort((a, b) => b.score - a.score || a.item - b.item).slice(0, k);
}

describe('TopKHeap.drainBestFirst', () => {
  it('When a heap is drained, Then it writes the k best pairs best first (ties to the lower item) from the given position, and is left empty', () => {
    const random = mulberry32(7);
    for (let run = 0; run < 200; run++) {
      const k = 1 + Math.floor(random() * 12);
      const list = pairs(random, Math.floor(random() * 30), 40);
      const heap = new TopKHeap(k);
      for (const p of list) heap.push(p.item, p.score);
      const expected = bestOf(list, k);
      const items = new Int32Array(k + 3).fill(-1);
      const scores = new Float64Array(k + 3).fill(-1);
      expect(heap.drainBestFirst(items, scores, 3)).toBe(expected.length);
      expect([...items.slice(3, 3 + expected.length)]).toEqual(expected.map((p) => p.item));
      expect([...scores.slice(3, 3 + expected.length)]).toEqual(expected.map((p) => p.score));
      expect([...items.slice(0, 3)]).toEqual([-1, -1, -1]);
      expect(heap.length).toBe(0);
    }
  });

  it('When scores are negative, zero of either sign or infinite, Then the drained order is result()\'s, also for k = 0', () => {
    const random = mulberry32(13);
    const values = [-Infinity, -2, -0, 0, 0.5, 1, Infinity];
    for (let run = 0; run < 200; run++) {
      const k = Math.floor(random() * 6);
      const list = pairs(random, Math.floor(random() * 12), 20).map((p) => ({ item: p.item, score: values[Math.floor(random() * values.length)] }));
      const drained = new TopKHeap(k);
      const reference = new TopKHeap(k);
      for (const p of list) {
        drained.push(p.item, p.score);
        reference.push(p.item, p.score);
      }
      const expected = reference.result();
      const items = new Int32Array(k);
      const scores = new Float64Array(k);
      expect(drained.drainBestFirst(items, scores, 0)).toBe(expected.length);
      expect([...items.slice(0, expected.length)]).toEqual(expected.map((p) => p.item));
      // toEqual tells -0 from 0 (Object.is), so the signs are checked too.
      expect([...scores.slice(0, expected.length)]).toEqual(expected.map((p) => p.score));
    }
  });

  it('When the pairs do not fit where they are to be written, Then draining refuses instead of dropping some', () => {
    const heap = new TopKHeap(3);
    for (const [item, score] of [[1, 1], [2, 2], [3, 3]]) heap.push(item, score);
    expect(() => heap.drainBestFirst(new Int32Array(4), new Float64Array(4), 2)).toThrow(RangeError);
  });

  it('When a drained heap is filled again, Then it keeps only the new pairs, as a fresh heap would', () => {
    const heap = new TopKHeap(3);
    for (const [item, score] of [[1, 9], [2, 8], [3, 7]]) heap.push(item, score);
    heap.drainBestFirst(new Int32Array(3), new Float64Array(3), 0);
    for (const [item, score] of [[4, 1], [5, 3], [6, 2], [7, 0]]) heap.push(item, score);
    expect(heap.result()).toEqual([{ item: 5, score: 3 }, { item: 6, score: 2 }, { item: 4, score: 1 }]);
  });
});

describe('NeighbourListBuilder', () => {
  it('When every item adds its heap, Then the lists are those packNeighbourLists makes of the heaps\' results, also past the first capacity', () => {
    const random = mulberry32(11);
    const itemCount = 60;
    const k = 8;
    const perItem = Array.from({ length: itemCount }, () => pairs(random, Math.floor(random() * 20), itemCount));
    // Room for one pair per item at first: the builder must grow.
    const builder = new NeighbourListBuilder(itemCount, 1);
    const heap = new TopKHeap(k);
    const starts: number[] = [];
    for (const list of perItem) {
      for (const p of list) heap.push(p.item, p.score);
      starts.push(builder.add(heap));
    }
    const built = builder.finish();
    const packed = packNeighbourLists(perItem.map((list) => bestOf(list, k)));
    expect(built.indptr).toEqual(packed.indptr);
    expect(built.items).toEqual(packed.items);
    expect(built.scores).toEqual(packed.scores);
    expect(starts).toEqual([...packed.indptr.slice(0, itemCount)]);
    expect(builder.itemAt(packed.indptr[5])).toBe(packed.items[packed.indptr[5]]);
  });

  it('When fewer items were added than the catalogue holds, Then finish refuses', () => {
    const builder = new NeighbourListBuilder(3, 2);
    builder.add(new TopKHeap(2));
    expect(() => builder.finish()).toThrow(/1 of 3 items/);
  });
});

describe('per-user selections on a reused heap', () => {
  const itemCount = 50;
  /** Scores over the catalogue from a few values (ties are common; some <= 0), and a purchase mask. */
  function user(random: () => number) {
    // Now and then a NaN: it is no score, so never a candidate.
    const dense = Float32Array.from({ length: itemCount }, () => (random() < 0.05 ? NaN : Math.floor(random() * 6) - 1));
    const sparse = new SparseScores(itemCount);
    // Touched in a shuffled order, so nothing depends on the items arriving sorted.
    const order = [...Array(itemCount).keys()].sort(() => random() - 0.5);
    for (const i of order) if (dense[i] !== 0 || random() < 0.2) sparse.set(i, dense[i]);
    const mask = Uint8Array.from({ length: itemCount }, () => (random() < 0.3 ? 1 : 0));
    return { dense, sparse, mask };
  }
  const positives = (dense: Float32Array, keep: (i: number) => boolean) =>
    [...dense].map((score, item) => ({ item, score })).filter((p) => p.score > 0 && keep(p.item));
  // (NaN > 0 is false: the reference leaves NaN out.)

  it('When users are scored one after another, Then each gets its n best new items merged in score order with its n best own items', () => {
    const random = mulberry32(3);
    for (let run = 0; run < 50; run++) {
      const { dense, sparse, mask } = user(random);
      const n = 1 + Math.floor(random() * 8);
      const expected = bestOf([...bestOf(positives(dense, (i) => !mask[i]), n), ...bestOf(positives(dense, (i) => mask[i] === 1), n)], 2 * n);
      for (const got of [topCandidates(dense, mask, n), topSparseCandidates(sparse, mask, n)]) {
        expect([...got.items]).toEqual(expected.map((p) => p.item));
        expect([...got.scores]).toEqual(expected.map((p) => p.score));
      }
    }
  });

  it('When users are limited one after another, Then each keeps exactly its own n best positive scores (in no particular order)', () => {
    const random = mulberry32(5);
    for (let run = 0; run < 50; run++) {
      const { dense, sparse } = user(random);
      const n = 1 + Math.floor(random() * 8);
      const out = new SparseScores(itemCount);
      setBestPositive(sparse, n, out);
      const kept = Array.from({ length: out.size }, (_, p) => ({ item: out.item(p), score: out.values[out.item(p)] }));
      expect(bestOf(kept, kept.length)).toEqual(bestOf(positives(dense, () => true), n));
    }
  });

  it('When items are skipped and n is sometimes more than the positive scores left, Then each keeps its n best unskipped positive scores, or all of them', () => {
    const random = mulberry32(17);
    let fewer = 0;
    for (let run = 0; run < 100; run++) {
      const { dense, sparse, mask } = user(random);
      const n = 1 + Math.floor(random() * 40);
      const out = new SparseScores(itemCount);
      setBestPositive(sparse, n, out, mask);
      const kept = Array.from({ length: out.size }, (_, p) => ({ item: out.item(p), score: out.values[out.item(p)] }));
      const qualifying = positives(dense, (i) => mask[i] !== 1);
      if (qualifying.length <= n) fewer++;
      expect(bestOf(kept, kept.length)).toEqual(bestOf(qualifying, n));
    }
    // Both cases ran: more qualifying than n, and no more.
    expect(fewer).toBeGreaterThan(10);
    expect(fewer).toBeLessThan(90);
  });
});
