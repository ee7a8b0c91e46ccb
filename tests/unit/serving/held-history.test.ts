import { describe, expect, it } from 'vitest';
import { heldHistory } from '../../../src/serving/held-history.js';

const ids = ['a', 'b', 'c', 'd', 'e'];
const model = { items: { ids, index: new Map(ids.map((id, k) => [id, k])) } } as Parameters<typeof heldHistory>[0];

describe('a customer history from what the version holds', () => {
  it('When older purchases have no time held, Then they come just before the oldest held time, one each, after the held ones keep theirs', () => {
    const entry = {
      purchased: Int32Array.from([0, 1, 3, 4]),
      recentItems: Int32Array.from([4, 1]),
      recentTs: Float64Array.from([5_000, 3_000]),
      lastTs: 5_000,
    };
    const rows = heldHistory(model, 'u1', entry, [{ itemId: 'c', ts: 9_000 }, { itemId: 'gone', ts: 9_500 }]);
    const byItem = Object.fromEntries(rows.map((r) => [r.itemId, r.ts]));
    expect(byItem).toEqual({ a: 2_999, b: 3_000, d: 2_999, e: 5_000, c: 9_000 });
    // An item the version does not know (added after training) is left out; every row is the customer's, bought once.
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => r.userId === 'u1' && r.quantity === 1 && r.orderId === null)).toBe(true);
  });

  it('When a live event is a purchase the version already holds (made before training), Then it is not counted twice, only its time is used', () => {
    const entry = { purchased: Int32Array.from([0, 1]), recentItems: Int32Array.from([1]), recentTs: Float64Array.from([5_000]), lastTs: 5_000 };
    const rows = heldHistory(model, 'u3', entry, [{ itemId: 'a', ts: 4_000 }, { itemId: 'b', ts: 5_000 }, { itemId: 'b', ts: 8_000 }]);
    // a: held without a time, the live event gives it; b: bought again after training, a second row.
    expect(rows.map((r) => [r.itemId, r.ts])).toEqual([['a', 4_000], ['b', 5_000], ['b', 8_000]]);
  });

  it('When no time is held, Then every purchase is just before the last training purchase', () => {
    const rows = heldHistory(model, 'u2', { purchased: Int32Array.from([2]), recentItems: new Int32Array(0), recentTs: new Float64Array(0), lastTs: 7_000 }, []);
    expect(rows).toEqual([{ userId: 'u2', itemId: 'c', orderId: null, ts: 6_999, quantity: 1, price: null }]);
  });
});
