import { describe, expect, it } from 'vitest';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { easeFactory } from '../../../src/recommenders/ease.js';
import { regularisedGramInverse, type ModelRows } from '../../../src/recommenders/ease-inverse.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import { gaussJordanInverse } from '../../helpers/reference-inverse.js';

/** A random sparse users x items matrix (each user buys 1..maxItems distinct items), binary or with counts. */
function randomRows(users: number, items: number, maxItems: number, seed: number, counts = false): ModelRows {
  const rand = mulberry32(seed);
  const indptr = [0];
  const slots: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < users; u++) {
    const mine = new Set<number>();
    const want = 1 + Math.floor(rand() * maxItems);
    while (mine.size < Math.min(want, items)) mine.add(Math.floor(rand() * items));
    for (const s of [...mine].sort((a, b) => a - b)) {
      slots.push(s);
      values.push(counts ? Math.log1p(1 + Math.floor(rand() * 4)) : 1);
    }
    indptr.push(slots.length);
  }
  return { indptr: Int32Array.from(indptr), slots: Int32Array.from(slots), values: Float64Array.from(values) };
}

/** (X^T X + lambda I)^-1 from the dense Gram matrix by Gauss-Jordan elimination: independent of both paths. */
function naiveInverse(x: ModelRows, n: number, lambda: number): number[][] {
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) g[i * n + i] = lambda;
  for (let u = 0; u + 1 < x.indptr.length; u++) {
    for (let p = x.indptr[u]; p < x.indptr[u + 1]; p++) {
      for (let q = x.indptr[u]; q < x.indptr[u + 1]; q++) g[x.slots[p] * n + x.slots[q]] += x.values[p] * x.values[q];
    }
  }
  const inverse = gaussJordanInverse(g, n);
  return Array.from({ length: n }, (_, i) => Array.from(inverse.subarray(i * n, i * n + n)));
}

function maxDifference(p: Float64Array, expected: number[][]): number {
  const n = expected.length;
  let worst = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) worst = Math.max(worst, Math.abs(p[i * n + j] - expected[i][j]));
  return worst;
}

describe('regularisedGramInverse', () => {
  const cases = [
    { name: 'fewer users than items', users: 12, items: 40, maxItems: 8 },
    { name: 'more users than items', users: 60, items: 15, maxItems: 6 },
    { name: 'an odd number of both', users: 9, items: 11, maxItems: 11 },
  ];
  for (const c of cases) {
    it(`When there are ${c.name}, Then both paths give (X^T X + lambda I)^-1, binary or weighted`, () => {
      for (const [seed, lambda, counts] of [[1, 0.5, false], [2, 10, true], [3, 300, false]] as const) {
        const x = randomRows(c.users, c.items, c.maxItems, seed, counts);
        const expected = naiveInverse(x, c.items, lambda);
        for (const path of ['items', 'users'] as const) {
          const got = regularisedGramInverse(x, c.items, lambda, path);
          // Entries are at most 1 / lambda; both paths agree with elimination to ~1e-12 of that.
          expect(maxDifference(got.p, expected), `${path}, seed ${seed}`).toBeLessThan(1e-10 / lambda);
        }
      }
    });
  }

  it('When the users are far fewer than the items, Then the users\' path is taken, and the items\' path when it is the other way round', () => {
    expect(regularisedGramInverse(randomRows(20, 300, 10, 4), 300, 50).path).toBe('users');
    expect(regularisedGramInverse(randomRows(300, 20, 10, 5), 20, 50).path).toBe('items');
  });

  it('When there are no users, or users without any item, Then both paths give I / lambda for them', () => {
    const none: ModelRows = { indptr: Int32Array.of(0), slots: new Int32Array(0), values: new Float64Array(0) };
    const emptyRows: ModelRows = { indptr: Int32Array.of(0, 0, 2, 2), slots: Int32Array.of(0, 2), values: Float64Array.of(1, 1) };
    for (const path of ['items', 'users'] as const) {
      expect(Array.from(regularisedGramInverse(none, 3, 4, path).p)).toEqual([0.25, 0, 0, 0, 0.25, 0, 0, 0, 0.25]);
      expect(maxDifference(regularisedGramInverse(emptyRows, 3, 4, path).p, naiveInverse(emptyRows, 3, 4))).toBeLessThan(1e-15);
      // One item bought by all five users: (5 + 2)^-1.
      expect(regularisedGramInverse(randomRows(5, 1, 1, 6), 1, 2, path).p[0]).toBeCloseTo(1 / 7, 14);
    }
  });
});

describe('EASE through the users', () => {
  it('When a shop has fewer customers than items, Then each row of B is the closed form by elimination, cut to its largest weights', () => {
    // 8 customers over 30 items, 4-8 items each: the users' path is the cheaper one here.
    const rand = mulberry32(11);
    const events: PurchaseRow[] = [];
    for (let u = 0; u < 8; u++) {
      const count = 4 + Math.floor(rand() * 5);
      for (let k = 0; k < count; k++) events.push({ userId: `u${u}`, itemId: `i${Math.floor(rand() * 30)}`, orderId: `o${u}-${k}`, ts: 1_000 + k, quantity: 1, price: null });
    }
    const ds = buildDataset({ events });
    const n = ds.itemIds.length;
    const indptr = [0];
    const slots: number[] = [];
    for (let u = 0; u < ds.userIds.length; u++) {
      const mine = new Set<number>();
      for (let e = 0; e < ds.eventUser.length; e++) if (ds.eventUser[e] === u) mine.add(ds.eventItem[e]);
      slots.push(...[...mine].sort((a, b) => a - b));
      indptr.push(slots.length);
    }
    const x = { indptr: Int32Array.from(indptr), slots: Int32Array.from(slots), values: new Float64Array(slots.length).fill(1) };
    expect(regularisedGramInverse(x, n, 2).path).toBe('users');
    const p = naiveInverse(x, n, 2);

    const keep = 4;
    const model = easeFactory.fit(ds, easeFactory.parseParams({ lambda: 2, neighbours: keep }));
    for (let i = 0; i < n; i++) {
      const b = p[i].map((v, j) => (j === i ? 0 : -v / p[j][j]));
      const scores = new Float32Array(n);
      model.scoreUser({ user: -1, history: [{ item: i, ts: ds.now, quantity: 1, order: 'cart' }], attributes: {} }, scores);
      const kept = [...scores.keys()].filter((j) => scores[j] !== 0);
      const largest = b.map(Math.abs).sort((a, c) => c - a);
      expect(kept.length).toBe(Math.min(keep, largest.filter((v) => v > 1e-12).length));
      for (const j of kept) {
        expect(scores[j]).toBeCloseTo(b[j], 5);
        // Every weight kept is among the row's `keep` largest by absolute value (ties either way).
        expect(Math.abs(b[j])).toBeGreaterThanOrEqual(largest[keep - 1] - 1e-9);
      }
    }
  });
});
