import { describe, expect, it } from 'vitest';
import { RollingFold, type FoldSpec } from '../../../src/evaluation/rolling-fold.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { DAY, T0, twoGroups } from './two-groups-fixture.js';

// A fold of a sampled tuning (FoldSpec.scored): the input holds every customer's purchases, the fold
// validates the scored customers only.
const spec: FoldSpec = { end: new Date(T0 + 101 * DAY).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: 200 };
/** Half of each group: g0-0..g0-5 and g1-0..g1-5. */
const scored = [0, 1].flatMap((g) => Array.from({ length: 6 }, (_, u) => `g${g}-${u}`));
const row = (userId: string, itemId: string, day: number, n = 0): PurchaseRow => ({ userId, itemId, orderId: `${userId}-${day}-${n}`, ts: T0 + day * DAY, quantity: 1, price: 1 });

/** Every fit of the default recipe's kinds a fold of tuning makes, alone: population-fitted and sample-fitted ones. */
function fits(fold: RollingFold): Record<string, number> {
  return {
    popularity: fold.fit('popularity', 'popularity', {}, 0),
    'item-knn': fold.fit('item-knn', 'item-knn', { neighbours: 5, shrink: 0 }, 0),
    ease: fold.fit('ease', 'ease', { lambda: 10 }, 0),
    cooccurrence: fold.fit('cooccurrence', 'cooccurrence', { minSupport: 1, minCustomers: 1 }, 0),
    als: fold.fit('als', 'als', { factors: 4, iterations: 3, seed: 1 }, 0),
    'buy-again': fold.fit('buy-again', 'buy-again', {}, 0),
  };
}

describe('a fold that fits on every customer and validates a sample', () => {
  it('When a customer who is not scored buys on or after the window start, Then the fold is unchanged', () => {
    const plain = new RollingFold({ events: twoGroups() }, { ...spec, scored });
    // g0-11 is not scored: purchases of a new item and of a known one in the window, and after it.
    const marker = [row('g0-11', 'marker', 95), row('g0-11', 'a0', 99, 1), row('g0-11', 'b1', 120), row('g0-11', 'marker', 200)];
    const marked = new RollingFold({ events: [...twoGroups(), ...marker] }, { ...spec, scored });
    expect(marked.info()).toEqual(plain.info());
    expect(marked.cache.relevant).toEqual(plain.cache.relevant);
    expect(fits(marked)).toEqual(fits(plain));
  });

  it('validates the scored customers only, and a non-scored customer before the window changes what the population-fitted sources learn', () => {
    const fold = new RollingFold({ events: twoGroups() }, { ...spec, scored });
    // The 12 scored customers each buy one new item in the window.
    expect(fold.info().users).toBe(12);
    expect(fold.cache.users.map((u) => fold.split.train.userIds[u]).sort()).toEqual([...scored].sort());
    // Twenty unscored customers buy b0 before the window: popularity, fitted on everyone, ranks it first for
    // g0-0 (who never bought it); fitted on the scored customers only, b0 has 3 buyers like every other item.
    const crowd = Array.from({ length: 20 }, (_, c) => row(`x${c}`, 'b0', 50 + c));
    const withCrowd = new RollingFold({ events: [...twoGroups(), ...crowd] }, { ...spec, scored });
    withCrowd.fit('popularity', 'popularity', {}, 0);
    const part = withCrowd.candidatePart('popularity', 0);
    const j = withCrowd.cache.users.findIndex((u) => withCrowd.split.train.userIds[u] === 'g0-0');
    expect(withCrowd.split.train.itemIds[part.items[part.indptr[j]]]).toBe('b0');
    expect(part.scores[part.indptr[j]]).toBe(1);
    // The crowd is not validated (they bought nothing in the window anyway) and does not move the users.
    expect(withCrowd.info().users).toBe(12);
  });

  it('scores a source fitted on the sample exactly as a fold of the sample alone does', () => {
    // Unscored customers who buy only items the scored ones bought: both folds have the same catalogue.
    const sample = twoGroups().filter((e) => scored.includes(e.userId));
    const alone = new RollingFold({ events: sample }, spec);
    const fold = new RollingFold({ events: twoGroups() }, { ...spec, scored });
    expect(fold.split.train.itemIds.length).toBe(alone.split.train.itemIds.length);
    const als = { factors: 4, iterations: 3, seed: 1 };
    expect(fold.fit('als', 'als', als, 0)).toBe(alone.fit('als', 'als', als, 0));
    expect(fold.fit('buy-again', 'buy-again', {}, 0)).toBe(alone.fit('buy-again', 'buy-again', {}, 0));
  });
});
