import { describe, expect, it } from 'vitest';
import { PurchaseColumnsBuilder, purchaseRows, purchaseTimeRange } from '../../../src/evaluation/purchase-columns.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';

/** An evaluation reads its purchases in batches into columns; its thread must see the very rows, in their order. */
describe('purchase columns', () => {
  const rows: PurchaseRow[] = [
    { userId: 'u2', itemId: 'mug', orderId: 'o9', ts: 1_700_000_000_500, quantity: 3, price: 2.55 },
    { userId: 'u1', itemId: 'bag', orderId: null, ts: 1_600_000_000_000, quantity: 1, price: null },
    { userId: 'u2', itemId: 'bag', orderId: 'o9', ts: 1_700_000_000_500, quantity: -2, price: 0 },
    { userId: 'u3', itemId: 'lamp', orderId: 'o1', ts: 1_800_000_000_001, quantity: 0.5, price: 12.345678901 },
  ];

  it('Given rows added in batches, When made rows again, Then they are the same rows in the same order (null order id and null price kept)', () => {
    const b = new PurchaseColumnsBuilder();
    b.addAll(rows.slice(0, 1));
    b.addAll([]);
    b.addAll(rows.slice(1));
    const c = b.build();
    expect(c.length).toBe(4);
    expect(c.userIds).toEqual(['u2', 'u1', 'u3']);
    expect(purchaseRows(c)).toEqual(rows);
  });

  it('Given more rows than the first capacity, Then none is lost', () => {
    const many: PurchaseRow[] = Array.from({ length: 5_000 }, (_, i) => ({ userId: `u${i % 7}`, itemId: `i${i % 13}`, orderId: `o${i}`, ts: i, quantity: 1, price: 1 }));
    const b = new PurchaseColumnsBuilder();
    for (let i = 0; i < many.length; i += 700) b.addAll(many.slice(i, i + 700));
    expect(purchaseRows(b.build())).toEqual(many);
  });

  it('The time range is the first and last purchase times, none for no purchases', () => {
    const b = new PurchaseColumnsBuilder();
    b.addAll(rows);
    expect(purchaseTimeRange(b.build())).toEqual({ first: 1_600_000_000_000, last: 1_800_000_000_001 });
    expect(purchaseTimeRange(new PurchaseColumnsBuilder().build())).toBeNull();
  });
});
