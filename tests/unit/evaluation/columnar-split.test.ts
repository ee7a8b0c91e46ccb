import { describe, expect, it } from 'vitest';
import { purchaseColumnsOf, purchaseRows, selectPurchases } from '../../../src/evaluation/purchase-columns.js';
import { leaveLastOrderSplit, temporalSplit, validationSplit, type EvaluationSplit } from '../../../src/evaluation/splits.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';

const DAY = 86_400_000;
const row = (userId: string, itemId: string, orderId: string | null, day: number, price: number | null = 1): PurchaseRow => ({ userId, itemId, orderId, ts: day * DAY, quantity: 1, price });

/**
 * Five customers around a cutoff at day 100: ties on timestamps (a basket without an order id, two orders of
 * customer e at one time, purchases exactly at the cutoff), a product first bought after the cutoff (i9), a
 * customer who buys only after it (d), null prices, and rows not in time order.
 */
const ROWS: PurchaseRow[] = [
  row('a', 'i1', 'o1', 10, 2.5),
  row('a', 'i2', 'o1', 10, null),
  row('b', 'i2', 'o2', 20),
  row('a', 'i3', 'o7', 200),
  row('c', 'i3', null, 50),
  row('c', 'i1', null, 50),
  row('e', 'i2', 'oA', 60),
  row('e', 'i3', 'oB', 60),
  row('a', 'i3', 'o3', 99),
  row('a', 'i1', 'o4', 100),
  row('a', 'i2', 'o4', 100, null),
  row('b', 'i1', 'o5', 100),
  row('b', 'i9', 'o5', 120),
  row('d', 'i1', 'o6', 130),
  row('c', 'i2', null, 150),
];

/**
 * The reference, on rows: the train rows' Dataset by buildDataset, and each test row looked up by id, "novel"
 * judged by a set of the train rows' (customer, product) pairs rather than the train matrix.
 */
function reference(rows: PurchaseRow[], side: (r: PurchaseRow, at: number) => 'train' | 'test' | null, now?: number) {
  const train = rows.filter((r, at) => side(r, at) === 'train');
  const test = rows.filter((r, at) => side(r, at) === 'test');
  const ds = buildDataset({ events: train, onlyInteractedItems: true, now });
  const bought = new Set(train.map((r) => `${r.userId}\u0000${r.itemId}`));
  const all = new Map<number, Set<number>>();
  const novel = new Map<number, Set<number>>();
  const counts = { total: test.length, counted: 0, newCustomers: 0, newItems: 0 };
  for (const r of test) {
    const u = ds.userIndex.get(r.userId);
    const i = ds.itemIndex.get(r.itemId);
    if (u === undefined) counts.newCustomers++;
    else if (i === undefined) counts.newItems++;
    else {
      counts.counted++;
      all.set(u, (all.get(u) ?? new Set()).add(i));
      if (!bought.has(`${r.userId}\u0000${r.itemId}`)) novel.set(u, (novel.get(u) ?? new Set()).add(i));
    }
  }
  const sorted = (m: Map<number, Set<number>>) => new Map([...m].sort((x, y) => x[0] - y[0]));
  return { train: ds, test: { all: sorted(all), novel: sorted(novel) }, testPurchases: counts };
}

/** A split's test sets by ids, to read against the hand-worked expectations. */
const byIds = (split: EvaluationSplit, mode: 'all' | 'novel') =>
  Object.fromEntries([...split.test[mode]].map(([u, items]) => [split.train.userIds[u], [...items].map((i) => split.train.itemIds[i]).sort()]));

function expectSameAsReference(split: EvaluationSplit, ref: ReturnType<typeof reference>) {
  expect(split.train).toEqual(ref.train);
  expect(split.test.all).toEqual(ref.test.all);
  expect(split.test.novel).toEqual(ref.test.novel);
  expect([...split.test.all.keys()]).toEqual([...ref.test.all.keys()]);
  expect(split.testPurchases).toEqual(ref.testPurchases);
}

describe('splits read from purchase columns', () => {
  const columns = () => purchaseColumnsOf(ROWS);

  it('temporal: the same split as the rows give, and what the protocol says by hand', () => {
    const cutoff = 100 * DAY;
    const split = temporalSplit({ purchases: columns() }, cutoff);
    expectSameAsReference(split, reference(ROWS, (r) => (r.ts < cutoff ? 'train' : 'test'), cutoff));
    // By hand: customers in time order of their first train purchase; d buys only after the cutoff.
    expect(split.train.userIds).toEqual(['a', 'b', 'c', 'e']);
    expect(split.train.itemIds).toEqual(['i1', 'i2', 'i3']);
    // a: o1, o3; b: o2; c: one basket (no order id, one time); e: oA, oB.
    expect([...split.trainOrders]).toEqual([2, 1, 1, 2]);
    // From the cutoff on (those at it included): 7 lines; d's is a new customer's, b's i9 a new product's.
    expect(split.testPurchases).toEqual({ total: 7, counted: 5, newCustomers: 1, newItems: 1 });
    expect(byIds(split, 'all')).toEqual({ a: ['i1', 'i2', 'i3'], b: ['i1'], c: ['i2'] });
    expect(byIds(split, 'novel')).toEqual({ b: ['i1'], c: ['i2'] });
    expect(split.train.now).toBe(cutoff);
  });

  it('validation: the window [end - days, end) is test, everything after it is left out', () => {
    const end = 150 * DAY;
    const split = validationSplit({ purchases: columns() }, { end, days: 50 });
    expectSameAsReference(split, reference(ROWS, (r) => (r.ts < 100 * DAY ? 'train' : r.ts < end ? 'test' : null), 100 * DAY));
    expect(split.testPurchases).toEqual({ total: 5, counted: 3, newCustomers: 1, newItems: 1 });
    expect(byIds(split, 'all')).toEqual({ a: ['i1', 'i2'], b: ['i1'] });
    expect(byIds(split, 'novel')).toEqual({ b: ['i1'] });
  });

  it('leave-last-order: each customer with two or more orders loses the last one; a tie in time goes to the larger key', () => {
    const split = leaveLastOrderSplit({ purchases: columns() });
    // By hand: a's o7, b's o5 (its latest line at day 120), c's basket at day 150, and of e's two orders at day 60
    // the larger key, oB; d has one order and stays in train.
    const last = new Set(['a/o7', 'b/o5', 'c/null@150', 'e/oB']);
    const isLast = (r: PurchaseRow) => last.has(r.orderId === null ? `${r.userId}/null@${r.ts / DAY}` : `${r.userId}/${r.orderId}`);
    expectSameAsReference(split, reference(ROWS, (r) => (isLast(r) ? 'test' : 'train')));
    expect(split.testPurchases).toEqual({ total: 5, counted: 4, newCustomers: 0, newItems: 1 });
    expect(byIds(split, 'all')).toEqual({ a: ['i3'], b: ['i1'], c: ['i2'], e: ['i3'] });
    expect(byIds(split, 'novel')).toEqual({ b: ['i1'], c: ['i2'], e: ['i3'] });
  });

  it('gives the split rows give, whichever form the purchases come in', () => {
    const cutoff = 100 * DAY;
    expect(temporalSplit({ purchases: columns() }, cutoff)).toEqual(temporalSplit({ events: ROWS }, cutoff));
  });
});

describe('purchases selected from columns', () => {
  it('are the columns of the selected rows, ids numbered among them', () => {
    const keep = Uint8Array.from(ROWS, (r) => (r.userId === 'b' || r.userId === 'c' ? 1 : 0));
    const selected = selectPurchases(purchaseColumnsOf(ROWS), keep);
    const rows = ROWS.filter((r) => r.userId === 'b' || r.userId === 'c');
    expect(purchaseRows(selected)).toEqual(rows);
    expect(selected).toEqual(purchaseColumnsOf(rows));
  });

  it('a customer sample before a time is the sample of the rows before it', () => {
    const before = 100 * DAY;
    const fromColumns = sampleCustomers({ purchases: purchaseColumnsOf(ROWS) }, 2, before);
    const fromRows = sampleCustomers({ events: ROWS.filter((r) => r.ts < before) }, 2);
    expect(fromColumns).toEqual(fromRows);
    expect(fromColumns).toMatchObject({ customers: 4, kept: 2, end: new Date(99 * DAY + 1).toISOString() });
  });
});
