import { describe, expect, it } from 'vitest';
import { createNeighbourSearch, pushContentNeighbours } from '../../../src/recommenders/content-neighbours.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import { transposeRows, type SparseRows } from '../../../src/recommenders/tfidf.js';
import { TopKHeap } from '../../../src/recommenders/top-k-heap.js';

/**
 * A catalogue shaped like a shop's: every item has the shop's currency (feature 0), one of 4 price bands
 * (1-4), one of 10 categories (5-14) and 1-3 of 60 words (15-74); items come in groups of identical
 * vectors, as products sold in several sizes do. Rows are L2-normalised.
 */
function catalogue(n: number, seed: number): SparseRows {
  const random = mulberry32(seed);
  const pick = (from: number, count: number) => from + Math.floor(random() * count);
  const rows: Map<number, number>[] = [];
  while (rows.length < n) {
    const row = new Map<number, number>([[0, 0.2], [pick(1, 4), 0.4], [pick(5, 10), 0.8]]);
    for (let w = 1 + Math.floor(random() * 3); w > 0; w--) row.set(pick(15, 60), 0.3 + random());
    const norm = Math.hypot(...row.values());
    for (const [f, v] of row) row.set(f, v / norm);
    for (let copies = 1 + Math.floor(random() * 3); copies > 0 && rows.length < n; copies--) rows.push(row);
  }
  const indptr = new Int32Array(n + 1);
  const indices: number[] = [];
  const values: number[] = [];
  rows.forEach((row, i) => {
    for (const [f, v] of row) indices.push(f), values.push(v);
    indptr[i + 1] = indices.length;
  });
  return { rows: n, cols: 75, indptr, indices: Int32Array.from(indices), values: Float32Array.from(values) };
}

/** The top k by cosine over every pair, ties to the lower index: what the search must find. */
function bruteForce(m: SparseRows, item: number, k: number): { item: number; score: number }[] {
  const row = (i: number) => new Map(Array.from({ length: m.indptr[i + 1] - m.indptr[i] }, (_, t) => [m.indices[m.indptr[i] + t], m.values[m.indptr[i] + t]]));
  const mine = row(item);
  const all: { item: number; score: number }[] = [];
  for (let j = 0; j < m.rows; j++) {
    if (j === item) continue;
    let score = 0;
    for (const [f, v] of row(j)) score += (mine.get(f) ?? 0) * v;
    if (score > 0) all.push({ item: j, score });
  }
  return all.sort((a, b) => b.score - a.score || a.item - b.item).slice(0, k);
}

describe('content neighbours', () => {
  it('finds the exact top k of every item, ties to the lower index', () => {
    for (const [n, k, seed] of [[300, 10, 1], [500, 50, 2], [40, 50, 3]]) {
      const m = catalogue(n, seed);
      const search = createNeighbourSearch(m, transposeRows(m), k);
      const heap = new TopKHeap(k);
      for (let i = 0; i < n; i++) {
        pushContentNeighbours(search, i, heap, k);
        const found = heap.result();
        heap.clear();
        const expected = bruteForce(m, i, k);
        expect(found.map((x) => x.item), `item ${i} of ${n}`).toEqual(expected.map((x) => x.item));
        found.forEach((x, r) => expect(x.score).toBeCloseTo(expected[r].score, 9));
      }
    }
  });

  it('never walks the posting list of a feature every item has, once the bound rules it out', () => {
    const m = catalogue(400, 4);
    const inverted = transposeRows(m);
    // Feature 0 (the currency) is in every row: its postings are the first 400 entries of the index.
    const universal = { from: inverted.indptr[0], to: inverted.indptr[1] };
    expect(universal.to - universal.from).toBe(400);
    let reads = 0;
    const counted = new Proxy(inverted.indices, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) {
          const p = Number(key);
          if (p >= universal.from && p < universal.to) reads++;
          return target[p];
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const search = createNeighbourSearch(m, { ...inverted, indices: counted }, 10);
    const heap = new TopKHeap(10);
    for (let i = 0; i < m.rows; i++) {
      pushContentNeighbours(search, i, heap, 10);
      expect(heap.result().map((x) => x.item), `item ${i}`).toEqual(bruteForce(m, i, 10).map((x) => x.item));
      heap.clear();
    }
    expect(reads).toBe(0);
  });

  it('stops before a feature every item has once the variants found first outscore all it can give', () => {
    // Products in 4 variants sharing a style (short postings) and one feature every item has, weighing more:
    // a variant's partial cosine after its style (0.36) is below what the common feature alone can give an
    // item not found (0.64), its whole cosine (1) is not.
    const n = 400;
    const indptr = Int32Array.from({ length: n + 1 }, (_, i) => 2 * i);
    const indices = Int32Array.from({ length: 2 * n }, (_, p) => (p % 2 === 0 ? 1 + Math.floor(p / 2 / 4) : 0));
    const values = Float32Array.from({ length: 2 * n }, (_, p) => (p % 2 === 0 ? 0.6 : 0.8));
    const m: SparseRows = { rows: n, cols: 1 + n / 4, indptr, indices, values };
    const inverted = transposeRows(m);
    const common = { from: inverted.indptr[0], to: inverted.indptr[1] };
    expect(common.to - common.from).toBe(n);
    let reads = 0;
    const counted = new Proxy(inverted.indices, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key)) {
          const p = Number(key);
          if (p >= common.from && p < common.to) reads++;
          return target[p];
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const search = createNeighbourSearch(m, { ...inverted, indices: counted }, 3);
    const heap = new TopKHeap(3);
    for (const i of [0, 5, 398]) {
      pushContentNeighbours(search, i, heap, 3);
      const found = heap.result();
      heap.clear();
      const expected = bruteForce(m, i, 3);
      expect(found.map((x) => x.item), `item ${i}`).toEqual(expected.map((x) => x.item));
      found.forEach((x, r) => expect(x.score).toBeCloseTo(expected[r].score, 6));
    }
    expect(reads).toBe(0);
  });

  it('searches with another k than it was made for', () => {
    const m = catalogue(200, 5);
    const search = createNeighbourSearch(m, transposeRows(m), 50);
    for (const k of [3, 120]) {
      const heap = new TopKHeap(k);
      pushContentNeighbours(search, 7, heap, k);
      expect(heap.result().map((x) => x.item)).toEqual(bruteForce(m, 7, k).map((x) => x.item));
    }
  });
});
