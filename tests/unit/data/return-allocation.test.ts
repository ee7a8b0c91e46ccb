import { describe, expect, it } from 'vitest';
import { allocateReturns, netOfReturns, type PurchaseLine } from '../../../src/data/return-allocation.js';

const H = 3_600_000;
const buy = (itemId: string, quantity: number, ts: number, orderId: string | null = 'o1', userId = 'u1'): PurchaseLine & { price: number } => ({
  userId, itemId, quantity, orderId, ts, price: 2,
});

describe('returns taken off purchases (return-allocation.ts)', () => {
  it('Given an order of two sizes and the return of one, Then that size is not bought and the kept one is', () => {
    const order = [buy('dress-M', 1, 0), buy('dress-L', 1, 0)];
    expect(netOfReturns(order, [{ userId: 'u1', itemId: 'dress-L', quantity: 1, ts: 2 * H }])).toEqual([order[0]]);
  });

  it('Given Online Retail customer 12346 (74,215 ordered, all cancelled 16 minutes later), Then nothing is left bought', () => {
    const order = [buy('23166', 74_215, 0, '541431', '12346')];
    expect(netOfReturns(order, [{ userId: '12346', itemId: '23166', quantity: 74_215, ts: 16 * 60_000 }])).toEqual([]);
  });

  it('Given a partial return, Then the purchase keeps the units not returned (and its price per unit)', () => {
    const net = netOfReturns([buy('sock', 5, 0)], [{ userId: 'u1', itemId: 'sock', quantity: 2, ts: H }]);
    expect(net).toEqual([{ ...buy('sock', 5, 0), quantity: 3 }]);
  });

  it('Given two orders of an item, Then a return without an order takes from the latest bought at or before it', () => {
    const rows = [buy('cap', 1, 0, 'jan'), buy('cap', 1, 10 * H, 'jun')];
    expect(netOfReturns(rows, [{ userId: 'u1', itemId: 'cap', quantity: 1, ts: 11 * H }])).toEqual([rows[0]]);
    // Dated between the two orders, it can only return the first.
    expect(netOfReturns(rows, [{ userId: 'u1', itemId: 'cap', quantity: 1, ts: 5 * H }])).toEqual([rows[1]]);
  });

  it('Given a return naming its order, Then only that order loses the units', () => {
    const rows = [buy('cap', 1, 0, 'jan'), buy('cap', 1, 10 * H, 'jun')];
    expect(netOfReturns(rows, [{ userId: 'u1', itemId: 'cap', quantity: 1, ts: 11 * H, orderId: 'jan' }])).toEqual([rows[1]]);
  });

  it('Given returns of another customer or item, or dated before the purchase, Then nothing is taken and the units are unmatched', () => {
    const rows = [buy('cap', 2, 10 * H)];
    const returns = [
      { userId: 'u2', itemId: 'cap', quantity: 1, ts: 11 * H },
      { userId: 'u1', itemId: 'hat', quantity: 1, ts: 11 * H },
      { userId: 'u1', itemId: 'cap', quantity: 1, ts: 9 * H },
    ];
    const { taken, unmatched } = allocateReturns(rows, returns);
    expect([...taken]).toEqual([0]);
    expect([...unmatched]).toEqual([1, 1, 1]);
  });

  it('Given returns of more than was bought, Then the purchase goes to 0, never below, and the rest is unmatched', () => {
    const rows = [buy('cap', 2, 0)];
    const { taken, unmatched } = allocateReturns(rows, [
      { userId: 'u1', itemId: 'cap', quantity: 1, ts: H },
      { userId: 'u1', itemId: 'cap', quantity: 3, ts: 2 * H },
    ]);
    expect([...taken]).toEqual([2]);
    expect([...unmatched]).toEqual([0, 2]);
  });
});
