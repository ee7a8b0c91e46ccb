import { describe, expect, it } from 'vitest';
import { cooccurrenceFactory } from '../../../src/recommenders/cooccurrence.js';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';

const DAY = 86_400_000;
/** Five orders: {A,B,C} {A,B} {A,B,D} {A,C} {D}. Orders with A: 4, B: 3, C: 2, D: 2; N = 5. */
const BASKETS: [string, string, string[]][] = [
  ['u1', 'o1', ['A', 'B', 'C']],
  ['u1', 'o2', ['A', 'B']],
  ['u2', 'o3', ['A', 'B', 'D']],
  ['u2', 'o4', ['A', 'C']],
  ['u3', 'o5', ['D']],
];
const events: PurchaseRow[] = BASKETS.flatMap(([userId, orderId, items], n) =>
  items.map((itemId) => ({ userId, itemId, orderId, ts: (n + 1) * DAY, quantity: 1, price: null })),
);
const ds = buildDataset({ events });
const idx = (id: string) => ds.itemIndex.get(id)!;
const ids = (xs: { item: number }[]) => xs.map((x) => ds.itemIds[x.item]);

describe('co-occurrence (market basket)', () => {
  it('puts the most co-bought pair first with its support, confidence and lift', () => {
    const model = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams({ minSupport: 1 }));
    const together = model.boughtTogether(idx('A'), 10);
    // A&B in 3 orders: confidence 3/4, lift 3*5/(4*3) = 1.25, added value 0.75 - 3/5 = 0.15.
    // A&C in 2 orders: confidence 2/4, lift 2*5/(4*2) = 1.25, added value 0.5 - 2/5 = 0.1.
    // A&D in 1 order: confidence 1/4 < P(D) = 2/5, negatively associated, so not listed.
    expect(ids(together)).toEqual(['B', 'C']);
    expect(together[0]).toMatchObject({ support: 3, confidence: 0.75 });
    expect(together[0].lift).toBeCloseTo(1.25, 6);
    expect(together[0].score).toBeCloseTo(0.15, 6);
    expect(together[1]).toMatchObject({ support: 2, confidence: 0.5 });
    expect(together[1].lift).toBeCloseTo(1.25, 6);
    expect(together[1].score).toBeCloseTo(0.1, 6);
  });

  it('ranks by plain confidence when asked, keeping the negatively associated pair last', () => {
    const model = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams({ minSupport: 1, score: 'confidence' }));
    const together = model.boughtTogether(idx('A'), 10);
    expect(ids(together)).toEqual(['B', 'C', 'D']);
    expect(together[2]).toMatchObject({ support: 1, confidence: 0.25 });
    expect(together[2].lift).toBeCloseTo(0.625, 6); // 1*5/(4*2)
  });

  it('drops pairs below the minimum support', () => {
    const model = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams({ minSupport: 3, score: 'confidence' }));
    expect(ids(model.boughtTogether(idx('A'), 10))).toEqual(['B']);
    // B -> A: 3 of B's 3 orders contain A.
    expect(model.boughtTogether(idx('B'), 10)).toMatchObject([{ item: idx('A'), support: 3, confidence: 1 }]);
  });

  it('ignores baskets above the size limit in every count', () => {
    // Without the two 3-item orders: {A,B} {A,C} {D}; N = 3, A in 2, B in 1.
    const model = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams({ minSupport: 1, maxBasketSize: 2, score: 'confidence' }));
    const [ab] = model.boughtTogether(idx('B'), 1);
    expect(ab).toMatchObject({ item: idx('A'), support: 1, confidence: 1 });
    expect(ab.lift).toBeCloseTo(1.5, 6); // 1*3/(2*1)
  });

  it('scores a user by summing the neighbours of their recent items', () => {
    const model = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams({ minSupport: 1 }));
    const out = new Float32Array(ds.itemIds.length);
    const cart = (item: string, ts: number) => ({ item: idx(item), ts, quantity: 1, order: 'cart' });
    model.scoreUser({ user: -1, history: [cart('B', 1), cart('C', 2)], attributes: {} }, out);
    // A: from B (3/3 - 4/5 = 0.2) plus from C (2/2 - 4/5 = 0.2); C from B: 1/3 - 2/5 < 0; B from C: 1/2 - 3/5 < 0.
    expect(out[idx('A')]).toBeCloseTo(0.4, 6);
    expect(out[idx('D')]).toBe(0);
    // recentItems = 1 keeps only C, the latest.
    const recent = cooccurrenceFactory.fit(ds, cooccurrenceFactory.parseParams({ minSupport: 1, recentItems: 1 }));
    recent.scoreUser({ user: -1, history: [cart('B', 1), cart('C', 2)], attributes: {} }, out);
    expect(out[idx('A')]).toBeCloseTo(0.2, 6);
  });
});
