import { deserialize, serialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { RollingFold, type FoldSpec } from '../../../src/evaluation/rolling-fold.js';
import { DAY, T0, twoGroups } from './two-groups-fixture.js';

// A threaded tuning splits each fold on one thread and hands the others a serialized copy of what it built
// (fold-pool.ts, fold-worker.ts): the copy must be the same fold, for every part a spec can give it.
const ids = (from: number, to: number) => [0, 1].flatMap((g) => Array.from({ length: to - from }, (_, u) => `g${g}-${from + u}`));
const spec: FoldSpec = {
  end: new Date(T0 + 101 * DAY).toISOString(),
  days: 30,
  k: 10,
  fullHistoryOrders: 10,
  depth: 200,
  scored: ids(0, 5),
  // Validated apart for the keep rule (keepOn left-out), and the rest listed for coverage (every-customer).
  leftOut: ids(5, 8),
  coverageEstimate: 'every-customer',
};
const blend = { weights: { cold: { popularity: 1, 'item-knn': 1 }, warm: { 'buy-again': 1, 'item-knn': 1, als: 0.5 } } };

/** What tuning reads of a fold: its counts, each candidate alone, the blend on the sample and on the left-out customers. */
function tuned(fold: RollingFold) {
  const alone = {
    popularity: fold.fit('popularity', 'popularity', {}, 0),
    'item-knn': fold.fit('item-knn', 'item-knn', { neighbours: 5, shrink: 0 }, 0),
    als: fold.fit('als', 'als', { factors: 4, iterations: 3, seed: 1 }, 0),
    'buy-again': fold.fit('buy-again', 'buy-again', {}, 0),
  };
  for (const name of Object.keys(alone)) fold.keep(name, 0);
  return { info: fold.info(), alone, blend: fold.score(blend), leftOut: fold.scoreLeftOut(blend) };
}

describe('a fold handed to another thread (RollingFold.state)', () => {
  it('When a fold is made from a serialized copy of another fold\'s state, Then it fits, scores and validates the left-out and listed customers as the fold split from the purchases', () => {
    const split = new RollingFold({ events: twoGroups() }, spec);
    const copy = new RollingFold({ events: twoGroups() }, spec, deserialize(serialize(split.state())));
    const expected = tuned(split);
    // The spec gave the fold every part: customers validated apart and customers listed for coverage only.
    expect(expected.info.leftOut?.users).toBeGreaterThan(0);
    expect(expected.info.listedOnly).toBeGreaterThan(0);
    expect(tuned(copy)).toEqual(expected);
  });
});
