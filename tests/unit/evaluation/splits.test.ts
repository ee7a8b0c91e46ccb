import { describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { leaveLastOrderSplit, temporalSplit, validationSplit, type EvaluationSplit } from '../../../src/evaluation/splits.js';

const ev = (userId: string, orderId: string | null, ts: number, itemId: string): PurchaseRow => ({
  userId,
  itemId,
  orderId,
  ts,
  quantity: 1,
  price: null,
});

/**
 * Cutoff 100. Train (ts < 100): u1 {A,B}@10 + {C}@50, u2 {B}@20, u3 {C}@30, u5 {D}@40.
 * Test: u1 {A (repurchase), D, Z (never bought in train)}@110, u2 {A}@120, u3 {C (repurchase)}@130,
 * u4 {A}@140 (no train history), u5 {Z}@150.
 */
const events: PurchaseRow[] = [
  ev('u1', 'o1', 10, 'A'),
  ev('u1', 'o1', 10, 'B'),
  ev('u2', 'o4', 20, 'B'),
  ev('u3', 'o6', 30, 'C'),
  ev('u5', 'o8', 40, 'D'),
  ev('u1', 'o2', 50, 'C'),
  ev('u1', 'o3', 110, 'A'),
  ev('u1', 'o3', 110, 'D'),
  ev('u1', 'o3', 110, 'Z'),
  ev('u2', 'o5', 120, 'A'),
  ev('u3', 'o7', 130, 'C'),
  ev('u4', 'o10', 140, 'A'),
  ev('u5', 'o9', 150, 'Z'),
];

/** Test sets as { userId: sorted itemIds } for readable assertions. */
function testSets(split: EvaluationSplit, mode: 'novel' | 'all'): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [u, items] of split.test[mode]) out[split.train.userIds[u]] = [...items].map((i) => split.train.itemIds[i]).sort();
  return out;
}

describe('temporal split', () => {
  const split = temporalSplit(
    {
      events,
      items: [{ id: 'A', title: 'Apple', categories: [], price: 1, attributes: {}, available: true }],
      users: [
        { id: 'u1', attributes: { country: 'UK' } },
        { id: 'u4', attributes: { country: 'FR' } },
      ],
    },
    100,
  );

  it('When split at the cutoff, Then the train catalog is the items bought before it and train users are the buyers', () => {
    expect([...split.train.itemIds].sort()).toEqual(['A', 'B', 'C', 'D']);
    expect([...split.train.userIds].sort()).toEqual(['u1', 'u2', 'u3', 'u5']);
    expect(split.train.eventUser.length).toBe(6);
    expect(split.train.now).toBe(100);
    expect(split.cutoff).toBe(100);
  });

  it('When catalog and user data are given, Then they pass through for train items and users only', () => {
    expect(split.train.items[split.train.itemIndex.get('A')!].title).toBe('Apple');
    expect(split.train.userAttributes[split.train.userIndex.get('u1')!]).toEqual({ country: 'UK' });
    expect(split.train.userIndex.has('u4')).toBe(false);
  });

  it('When mode is novel, Then repurchases and items outside the train catalog are dropped', () => {
    // u1: A was bought in train, Z is not in the catalog -> {D}; u2 -> {A}; u3 only repurchased -> not a test user;
    // u4 has no train history; u5 bought only Z.
    expect(testSets(split, 'novel')).toEqual({ u1: ['D'], u2: ['A'] });
  });

  it('When mode is all, Then repurchases are kept but items outside the train catalog are still dropped', () => {
    expect(testSets(split, 'all')).toEqual({ u1: ['A', 'D'], u2: ['A'], u3: ['C'] });
  });

  it('When orders are counted, Then each user has the number of distinct train orders', () => {
    const orders = Object.fromEntries(split.train.userIds.map((id, u) => [id, split.trainOrders[u]]));
    expect(orders).toEqual({ u1: 2, u2: 1, u3: 1, u5: 1 });
  });

  it('When the test period is summed up, Then its 7 lines are 4 counted, 1 of a customer new in it (u4) and 2 of a product first bought in it (Z)', () => {
    expect(split.testPurchases).toEqual({ total: 7, counted: 4, newCustomers: 1, newItems: 2 });
  });
});

describe('leave-last-order-out split', () => {
  it('When users have two or more orders, Then their last order is the test set', () => {
    const split = leaveLastOrderSplit({ events });
    // u1 keeps o1, o2 in train (A, B, C) and tests on o3 {A, D, Z}; u4's single order stays in train;
    // u5 tests on o9 {Z}, which nobody bought in train.
    expect([...split.train.itemIds].sort()).toEqual(['A', 'B', 'C', 'D']);
    expect([...split.train.userIds].sort()).toEqual(['u1', 'u2', 'u3', 'u4', 'u5']);
    expect(testSets(split, 'novel')).toEqual({ u1: ['D'], u2: ['A'] });
    expect(testSets(split, 'all')).toEqual({ u1: ['A', 'D'], u2: ['A'], u3: ['C'] });
    expect(split.cutoff).toBeNull();
  });

  it('When orders have no id, Then events at the same time are one order; tied orders go to the larger key', () => {
    const split = leaveLastOrderSplit({
      events: [
        ev('n', null, 10, 'A'),
        ev('n', null, 20, 'B'),
        ev('n', null, 20, 'C'),
        ev('t', 'x', 10, 'A'),
        ev('t', 'a', 20, 'B'),
        ev('t', 'b', 20, 'C'),
        ev('other', 'q', 5, 'B'),
        ev('other', 'q', 5, 'C'),
      ],
    });
    // n: orders @10 {A} and @20 {B, C} -> test {B, C}. t: 'a' and 'b' both at 20, 'b' > 'a' -> test {C}.
    expect(testSets(split, 'all')).toEqual({ n: ['B', 'C'], t: ['C'] });
  });
});

describe('validation split', () => {
  const DAY = 86_400_000;
  it('When the last days before the end are held out, Then train is before them and events at or after the end are ignored', () => {
    const split = validationSplit(
      {
        events: [
          ev('u1', 'a', 1 * DAY, 'A'),
          ev('u2', 'b', 2 * DAY, 'B'),
          ev('u1', 'c', 8 * DAY, 'B'),
          ev('u2', 'd', 8 * DAY, 'B'),
          ev('u2', 'e', 10 * DAY, 'A'), // at the end: belongs to the real test period, ignored
        ],
      },
      { end: 10 * DAY, days: 3 },
    );
    // Test period [7d, 10d): u1 buys B (new to u1), u2 re-buys B.
    expect(split.cutoff).toBe(7 * DAY);
    expect(split.testEnd).toBe(10 * DAY);
    expect(split.train.now).toBe(7 * DAY);
    expect(testSets(split, 'novel')).toEqual({ u1: ['B'] });
    expect(testSets(split, 'all')).toEqual({ u1: ['B'], u2: ['B'] });
  });
});
