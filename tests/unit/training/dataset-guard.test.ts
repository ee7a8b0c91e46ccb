import { describe, expect, it } from 'vitest';
import { AppError } from '../../../src/errors.js';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { assertEnoughData, countData } from '../../../src/training/dataset-guard.js';

const row = (userId: string, itemId: string, orderId: string) => ({ userId, itemId, orderId, ts: 0, quantity: 1, price: null });

describe('training data guard', () => {
  it('When counting, Then buyers and bought items exclude catalog entries without purchases', () => {
    const ds = buildDataset({
      events: [row('u1', 'a', 'o1'), row('u1', 'b', 'o1'), row('u2', 'a', 'o2')],
      items: ['a', 'b', 'c'].map((id) => ({ id, title: id, categories: [], price: null, attributes: {}, available: true })),
      users: [{ id: 'u3', attributes: {} }],
    });
    expect(countData(ds)).toEqual({ events: 3, users: 2, items: 2, orders: 2, catalogItems: 3 });
  });

  it('When the data is below a minimum, Then the error names every shortfall and says nothing was published', () => {
    const err = (() => {
      try {
        assertEnoughData({ events: 3, users: 1, items: 5, orders: 1, catalogItems: 5 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('UNPROCESSABLE');
    expect((err as AppError).message).toBe(
      'not enough purchase data to train a model: 3 events (need at least 10), 1 users (need at least 2); nothing was published',
    );
  });

  it('When the data meets every minimum exactly, Then it passes', () => {
    expect(() => assertEnoughData({ events: 10, users: 2, items: 2, orders: 1, catalogItems: 2 })).not.toThrow();
  });
});
