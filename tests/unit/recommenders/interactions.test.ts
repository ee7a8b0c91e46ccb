import { describe, expect, it } from 'vitest';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { userItemMatrix } from '../../../src/recommenders/interactions.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

const row = (userId: string, itemId: string, orderId: string, day: number): PurchaseRow => ({ userId, itemId, orderId, ts: T0 + day * DAY, quantity: 1, price: null });

describe('userItemMatrix', () => {
  /**
   * Ann buys `mug` in two orders, twice in the first (two lines of one order count once) and once in a
   * second order at the same time as another order of hers, whose lines arrive interleaved with it.
   * Bob buys `jug` (numbered after `cup`), then `cup`, so his row must be sorted. Rows hold one entry
   * per item, by item index, with the distinct orders and the first and last purchase day.
   */
  const ds = buildDataset({
    events: [
      row('ann', 'cup', 'a1', 1),
      row('ann', 'mug', 'a1', 1),
      row('ann', 'mug', 'a1', 1),
      row('bob', 'jug', 'b1', 2),
      row('bob', 'cup', 'b2', 3),
      row('ann', 'mug', 'a2', 5),
      row('ann', 'jug', 'a3', 5),
      row('ann', 'jug', 'a2', 5),
      row('ann', 'jug', 'a3', 5),
      row('ann', 'mug', 'a4', 9),
    ],
  });
  const m = userItemMatrix(ds);
  const rowOf = (user: string) => {
    const u = ds.userIndex.get(user)!;
    const out: Record<string, [number, number, number]> = {};
    for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) out[ds.itemIds[m.indices[p]]] = [m.values[p], (m.firstTs[p] - T0) / DAY, (m.lastTs[p] - T0) / DAY];
    return out;
  };

  it('When an item is bought on several lines and orders, Then its value counts the distinct orders and its times span them', () => {
    expect(rowOf('ann')).toEqual({ cup: [1, 1, 1], mug: [3, 1, 9], jug: [2, 5, 5] });
    expect(rowOf('bob')).toEqual({ jug: [1, 2, 2], cup: [1, 3, 3] });
  });

  it('When rows are built, Then each row is sorted by item index and the matrix has one entry per bought pair', () => {
    for (let u = 0; u < m.rows; u++) {
      for (let p = m.indptr[u] + 1; p < m.indptr[u + 1]; p++) expect(m.indices[p]).toBeGreaterThan(m.indices[p - 1]);
    }
    expect(m.indices.length).toBe(5);
    expect([m.rows, m.cols]).toEqual([2, 3]);
  });
});

describe('userItemMatrix, asked again', () => {
  const ds = buildDataset({ events: [row('ann', 'cup', 'a1', 1), row('ann', 'mug', 'a2', 2), row('bob', 'cup', 'b1', 3)] });

  it('When the same dataset is asked for again (a fold\'s split, then each source fitted on it), Then the matrix built the first time is returned, not built anew', () => {
    const first = userItemMatrix(ds);
    expect(userItemMatrix(ds)).toBe(first);
    // Ann: cup, mug (one order each); Bob: cup.
    expect([...first.indptr]).toEqual([0, 2, 3]);
    expect([...first.values]).toEqual([1, 1, 1]);
  });

  it('When another dataset holds other purchases, Then it gets its own matrix', () => {
    const other = buildDataset({ events: [row('ann', 'cup', 'a1', 1)] });
    const m = userItemMatrix(other);
    expect(m).not.toBe(userItemMatrix(ds));
    expect([...m.indptr]).toEqual([0, 1]);
  });
});
