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

  it('drops pairs bought together by fewer customers than minCustomers, however many orders hold them', () => {
    // A&B: orders o1, o2 (u1) and o3 (u2): 2 customers. A&C: o1 (u1) and o4 (u2): 2 customers. A&D: o3 (u2) only.
    // B&C: o1 only. With u4's standing order {B,C} five times, B&C has support 6 but 2 customers.
    const standing: PurchaseRow[] = [1, 2, 3, 4, 5].flatMap((n) => ['B', 'C'].map((itemId) => ({ userId: 'u4', itemId, orderId: `s${n}`, ts: (10 + n) * DAY, quantity: 1, price: null })));
    const shop = buildDataset({ events: [...events, ...standing] });
    const at = (id: string) => shop.itemIndex.get(id)!;
    const named = (xs: { item: number }[]) => xs.map((x) => shop.itemIds[x.item]);
    const fit = (minCustomers: number) => cooccurrenceFactory.fit(shop, cooccurrenceFactory.parseParams({ minSupport: 1, score: 'support', minCustomers }));
    expect(named(fit(1).boughtTogether(at('B'), 10))).toEqual(['C', 'A', 'D']);
    expect(fit(1).boughtTogether(at('B'), 10)[0]).toMatchObject({ support: 6 });
    // Two customers: u1's and u4's orders hold B&C; only u2's holds A&D.
    expect(named(fit(2).boughtTogether(at('B'), 10))).toEqual(['C', 'A']);
    expect(named(fit(2).boughtTogether(at('A'), 10))).toEqual(['B', 'C']);
    expect(named(fit(3).boughtTogether(at('B'), 10))).toEqual([]);
    // u4's standing order alone (support 5, one customer) is kept at 1 and dropped at 2.
    const alone = buildDataset({ events: standing });
    const soloFit = (minCustomers: number) => cooccurrenceFactory.fit(alone, cooccurrenceFactory.parseParams({ minSupport: 1, score: 'support', minCustomers }));
    expect(soloFit(1).boughtTogether(alone.itemIndex.get('B')!, 10)).toMatchObject([{ support: 5 }]);
    expect(soloFit(2).boughtTogether(alone.itemIndex.get('B')!, 10)).toEqual([]);
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
