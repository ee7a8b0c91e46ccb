import { describe, expect, it } from 'vitest';
import { inputRows } from '../../../src/evaluation/splits.js';
import { sampleCustomers, sampleDatasetCustomers } from '../../../src/evaluation/tuning-sample.js';
import { buildDataset, purchaseRowsOf, type PurchaseRow } from '../../../src/recommenders/dataset.js';

const row = (userId: string, n: number): PurchaseRow => ({ userId, itemId: `i${n % 7}`, orderId: `${userId}-${n}`, ts: n * 1000, quantity: 1, price: null });

/** 50 customers with 1-5 purchases each (customer c has c % 5 + 1), interleaved in time. */
function shop() {
  const events: PurchaseRow[] = [];
  for (let c = 0; c < 50; c++) for (let k = 0; k <= c % 5; k++) events.push(row(`c${c}`, c * 10 + k));
  events.sort((a, b) => a.ts - b.ts);
  const users = Array.from({ length: 50 }, (_, c) => ({ id: `c${c}`, attributes: { country: c % 2 ? 'UK' : 'FR' } }));
  return { events, users, items: [] };
}

describe('the customer sample tuning works on', () => {
  it('keeps exactly the cap of customers, each with every purchase and their attributes, and nobody else', () => {
    const input = shop();
    const sample = sampleCustomers(input, 20);
    expect(sample).toMatchObject({ customers: 50, kept: 20 });
    const kept = new Set(inputRows(sample.input).map((e) => e.userId));
    expect(kept.size).toBe(20);
    for (const id of kept) {
      expect(inputRows(sample.input).filter((e) => e.userId === id)).toEqual(input.events.filter((e) => e.userId === id));
    }
    expect([...sample.input.users!].map((u) => u.id).sort()).toEqual([...kept].sort());
    // Windows must end where the whole shop's purchases do: customer c49's last purchase, at 494 s.
    expect(sample.end).toBe(new Date(494_001).toISOString());
  });

  it('draws the same customers whatever the order of the purchases', () => {
    const input = shop();
    const a = new Set(inputRows(sampleCustomers(input, 20).input).map((e) => e.userId));
    const b = new Set(inputRows(sampleCustomers({ ...input, events: [...input.events].reverse() }, 20).input).map((e) => e.userId));
    expect([...a].sort()).toEqual([...b].sort());
  });

  it('leaves a shop under the cap whole', () => {
    const input = shop();
    const sample = sampleCustomers(input, 50);
    expect(sample).toMatchObject({ customers: 50, kept: 50 });
    expect(inputRows(sample.input)).toEqual(input.events);
    expect(sample.input.users).toBe(input.users);
    expect(sample.end).toBeUndefined();
  });
});

describe('the purchase bound of the sample (tune.maxPurchases)', () => {
  const idsOf = (sample: ReturnType<typeof sampleCustomers>) => new Set(inputRows(sample.input).map((e) => e.userId));

  it('keeps customers in the customer draw\'s order while their purchases fit: the longest such run of the draw, and its purchases in full', () => {
    const input = shop(); // 150 purchases in all
    const bounded = sampleCustomers(input, { customers: 50, purchases: 40 });
    const kept = idsOf(bounded);
    // The reference is the customer bound alone, whose draw is the same order: its first n customers are
    // the bounded sample, and its first n + 1 hold more than 40 purchases.
    const n = kept.size;
    const firstN = sampleCustomers(input, n);
    expect([...idsOf(firstN)].sort()).toEqual([...kept].sort());
    expect(inputRows(sampleCustomers(input, n + 1).input).length).toBeGreaterThan(40);
    const purchases = inputRows(bounded.input).length;
    expect(purchases).toBeLessThanOrEqual(40);
    expect(bounded).toMatchObject({ customers: 50, kept: n, purchases: { kept: purchases, of: 150 }, boundBy: 'purchases', end: new Date(494_001).toISOString() });
    // About 40 / 3 customers (3 purchases on average): fewer than either bound alone would keep.
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(20);
    for (const id of kept) expect(inputRows(bounded.input).filter((e) => e.userId === id)).toEqual(input.events.filter((e) => e.userId === id));
    expect([...bounded.input.users!].map((u) => u.id).sort()).toEqual([...kept].sort());
  });

  it('is the same customers whatever the order of the purchases', () => {
    const input = shop();
    const a = idsOf(sampleCustomers(input, { customers: 50, purchases: 40 }));
    const b = idsOf(sampleCustomers({ ...input, events: [...input.events].reverse() }, { customers: 50, purchases: 40 }));
    expect([...a].sort()).toEqual([...b].sort());
  });

  it('leaves the customer bound to decide when the purchases of its customers fit', () => {
    const input = shop();
    const both = sampleCustomers(input, { customers: 20, purchases: 150 });
    expect(both).toMatchObject({ kept: 20, boundBy: 'customers' });
    expect([...idsOf(both)].sort()).toEqual([...idsOf(sampleCustomers(input, 20))].sort());
  });

  it('leaves a shop within both bounds whole', () => {
    const input = shop();
    const sample = sampleCustomers(input, { customers: 50, purchases: 150 });
    expect(sample).toMatchObject({ customers: 50, kept: 50, purchases: { kept: 150, of: 150 } });
    expect(inputRows(sample.input)).toEqual(input.events);
    expect(sample.end).toBeUndefined();
    expect(sample.boundBy).toBeUndefined();
  });
});

describe('the customer sample drawn from a dataset', () => {
  // The reference: every purchase as a row (purchaseRowsOf), then sampleCustomers.
  const both = (max: number) => {
    const input = shop();
    const users = [...input.users, { id: 'never-bought', attributes: {} }];
    const ds = buildDataset({ ...input, users });
    const catalog = { items: input.items, users };
    return { fromDataset: sampleDatasetCustomers(ds, catalog, max), fromRows: sampleCustomers({ events: purchaseRowsOf(ds), ...catalog }, max) };
  };

  it('is the sample of the same purchases as rows, over the cap', () => {
    const { fromDataset, fromRows } = both(20);
    expect(fromDataset.kept).toBe(20);
    expect(fromDataset.customers).toBe(50); // the catalog's customer without purchases is not counted
    expect([...fromDataset.input.users!].map((u) => u.id)).not.toContain('never-bought');
    expect(fromDataset).toEqual(fromRows);
  });

  it('is the sample of the same purchases as rows, over the purchase bound', () => {
    const input = shop();
    const ds = buildDataset(input);
    const catalog = { items: input.items, users: input.users };
    const bounds = { customers: 50, purchases: 40 };
    const fromDataset = sampleDatasetCustomers(ds, catalog, bounds);
    expect(fromDataset.boundBy).toBe('purchases');
    expect(fromDataset).toEqual(sampleCustomers({ events: purchaseRowsOf(ds), ...catalog }, bounds));
  });

  it('bounds the population the folds fit on as the rows do, when the shop is past ten times the purchase bound', () => {
    const input = shop();
    const ds = buildDataset(input);
    const catalog = { items: input.items, users: input.users };
    const bounds = { customers: 50, purchases: 4 };
    const rowsOf = (s: ReturnType<typeof sampleCustomers>) => inputRows(s.population!).map((r) => `${r.userId}|${r.itemId}|${r.ts}`).sort();
    const fromDataset = rowsOf(sampleDatasetCustomers(ds, catalog, bounds));
    expect(fromDataset.length).toBeLessThanOrEqual(40);
    expect(input.events.length).toBeGreaterThan(40);
    expect(fromDataset).toEqual(rowsOf(sampleCustomers({ events: purchaseRowsOf(ds), ...catalog }, bounds)));
  });

  it('is every purchase under the cap', () => {
    const { fromDataset, fromRows } = both(50);
    expect(inputRows(fromDataset.input)).toHaveLength(shop().events.length);
    expect([...fromDataset.input.users!].map((u) => u.id)).toContain('never-bought');
    expect(fromDataset).toEqual(fromRows);
  });
});
