import { describe, expect, it } from 'vitest';
import { allocateReturns, netOfReturns, type PurchaseLine } from '../../../src/data/return-allocation.js';

const H = 3_600_000;
const cap = (orderId: string, ts: number): PurchaseLine => ({ userId: 'u1', itemId: 'cap', quantity: 1, orderId, ts });

/**
 * A customer bought a cap in January (order jan) and one in June (order jun), and sent both back: first one
 * without saying which order (a store counter, an Online Retail cancellation), then one naming June's order. Both
 * units bought were returned, and each return can be matched: the unnamed one to January, the named one to June.
 * The greedy rule (each return in time order takes the latest purchase it may) gives June's cap to the unnamed
 * return, then finds nothing left of order jun for the named one: the API answers 422 to a true return, and the
 * January cap stays "bought" in training, spend and frequency.
 */
describe('returns naming an order, after returns that name none', () => {
  const purchases = [cap('jan', 0), cap('jun', 10 * H)];
  const returns = [
    { userId: 'u1', itemId: 'cap', quantity: 1, ts: 11 * H },
    { userId: 'u1', itemId: 'cap', quantity: 1, orderId: 'jun', ts: 12 * H },
  ];

  it('Given both caps returned, Then both returns are matched', () => {
    expect([...allocateReturns(purchases, returns).unmatched]).toEqual([0, 0]);
  });

  it('Given both caps returned, Then no cap is left bought', () => {
    expect(netOfReturns(purchases, returns)).toEqual([]);
  });
});
