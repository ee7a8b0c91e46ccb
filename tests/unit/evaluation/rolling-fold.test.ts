import { describe, expect, it } from 'vitest';
import { RollingFold } from '../../../src/evaluation/rolling-fold.js';
import { objective } from '../../../src/evaluation/tune.js';
import { DAY, T0, twoGroups } from './two-groups-fixture.js';

const alone = (name: string) => ({ weights: { cold: { [name]: 1 }, warm: { [name]: 1 } } });

describe('RollingFold.fit', () => {
  /** The window holds every customer's purchase after day 100; the fold trains on what precedes it. */
  const fold = () => new RollingFold({ events: twoGroups() }, { end: new Date(T0 + 101 * DAY).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: 200 });

  it('When other sources are kept, Then a candidate alone scores as it would installed in the whole blend, and the blend is left as it was', () => {
    const f = fold();
    f.fit('buy-again', 'buy-again', {}, 0);
    f.keep('buy-again', 0);
    f.fit('popularity', 'popularity', {}, 0);
    f.keep('popularity', 0);
    const before = f.score({ weights: { cold: { popularity: 1, 'buy-again': 1 }, warm: { popularity: 1, 'buy-again': 1 } } });
    const parts = new Map(f.cache.parts);
    const matrix = f.cache.matrix;

    const candidate = f.fit('item-knn', 'item-knn', { neighbours: 5, shrink: 0 }, 0);

    // Nothing the fold's blends read changed: the same parts, the same matrix object, the same scores.
    expect(f.cache.parts).toEqual(parts);
    expect(f.cache.matrix).toBe(matrix);
    expect(f.score({ weights: { cold: { popularity: 1, 'buy-again': 1 }, warm: { popularity: 1, 'buy-again': 1 } } })).toEqual(before);
    // The reference: the candidate kept beside the other parts and scored with weight on it only.
    f.keep('item-knn', 0);
    expect(f.cache.parts.size).toBe(3);
    expect(candidate).toBe(objective(f.score(alone('item-knn'))));
    expect(candidate).toBeGreaterThan(0);
  });
});
