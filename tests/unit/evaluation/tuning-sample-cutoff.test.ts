import { describe, expect, it } from 'vitest';
import { inputRows } from '../../../src/evaluation/splits.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';

// Reviewer R4: the sample with a cutoff (`before`), counted by hand.
const row = (userId: string, n: number): PurchaseRow => ({ userId, itemId: `i${n % 7}`, orderId: `${userId}-${n}`, ts: n * 1000, quantity: 1, price: null });
function shop() {
  const events: PurchaseRow[] = [];
  for (let c = 0; c < 50; c++) for (let k = 0; k <= c % 5; k++) events.push(row(`c${c}`, c * 10 + k));
  events.sort((a, b) => a.ts - b.ts);
  const users = Array.from({ length: 50 }, (_, c) => ({ id: `c${c}`, attributes: {} }));
  return { events, users, items: [] };
}

describe('the tuning sample before a cutoff', () => {
  // Cutoff 242.5 s: customers c0-c24 bought before it; c24 (5 purchases at 240-244 s) has 3 before it.
  // Purchases before it: 5 x (1+2+3+4+5) - 5 + 3 = 73; the latest is c24's at 242 s.
  const before = 242_500;

  it('counts only the customers and purchases before it, and reads none at or after it', () => {
    const sample = sampleCustomers(shop(), { customers: 10, purchases: 1000 }, before);
    expect(sample).toMatchObject({ customers: 25, kept: 10, boundBy: 'customers', end: new Date(242_001).toISOString() });
    expect(sample.purchases!.of).toBe(73);
    const rows = inputRows(sample.input);
    expect(rows.every((e) => e.ts < before)).toBe(true);
    expect(rows).toHaveLength(sample.purchases!.kept);
  });

  it('under both bounds keeps the 73 purchases before it, of 25 customers', () => {
    const sample = sampleCustomers(shop(), { customers: 25, purchases: 73 }, before);
    expect(sample).toMatchObject({ customers: 25, kept: 25, purchases: { kept: 73, of: 73 } });
    expect(inputRows(sample.input).every((e) => e.ts < before)).toBe(true);
    expect(sample.boundBy).toBeUndefined();
  });

  it('the purchase bound counts purchases before it only (c24 holds 3 there, not 5)', () => {
    const sample = sampleCustomers(shop(), { customers: 50, purchases: 20 }, before);
    expect(sample.boundBy).toBe('purchases');
    expect(sample.purchases!.kept).toBeLessThanOrEqual(20);
    expect(inputRows(sample.input)).toHaveLength(sample.purchases!.kept);
  });
});

describe('a customer past the purchase bound alone, anywhere in the draw (R4)', () => {
  it('is passed over wherever it falls: the sample is the one of the shop without them', () => {
    const base = shop().events;
    const bounds = { customers: 50, purchases: 40 };
    const without = sampleCustomers({ events: base }, bounds);
    // A heavy buyer (41 purchases, past the bound alone) under each of 30 ids: whatever its place in the hash
    // order (first, among the kept, past them), the kept customers are those of the shop without it.
    for (let k = 0; k < 30; k++) {
      const heavy = Array.from({ length: 41 }, (_, n) => row(`heavy${k}`, 1000 + n));
      const withHeavy = sampleCustomers({ events: [...base, ...heavy] }, bounds);
      const ids = (s: typeof without) => [...new Set(inputRows(s.input).map((e) => e.userId))].sort();
      expect(ids(withHeavy)).toEqual(ids(without));
      expect(withHeavy).toMatchObject({ customers: 51, kept: without.kept, boundBy: 'purchases', purchases: { kept: without.purchases!.kept, of: 150 + 41 } });
    }
  });
});
