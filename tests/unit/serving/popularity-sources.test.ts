import { describe, expect, it } from 'vitest';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { itemKnnFactory } from '../../../src/recommenders/item-knn.js';
import { popularityFactory } from '../../../src/recommenders/popularity.js';
import type { Recommender } from '../../../src/recommenders/recommender.js';
import { popularityKind, popularitySources } from '../../../src/serving/popularity-sources.js';

const ds = buildDataset({ events: [{ userId: 'u1', itemId: 'a', orderId: 'o1', ts: 0, quantity: 1, price: null }] });
const popularity = (halfLifeDays: number | null) => popularityFactory.fit(ds, popularityFactory.parseParams({ halfLifeDays, attributes: [] }));
const sources = (entries: [string, Recommender][]) => new Map(entries);

describe('which sources are popularity and which are trends', () => {
  it('When the recipe is the default one, Then popularity is the table\'s and trend a trend', () => {
    expect(popularitySources(sources([['popularity', popularity(60)], ['item-knn', itemKnnFactory.fit(ds, itemKnnFactory.parseParams({}))], ['trend', popularity(10)]]))).toEqual({
      table: 'popularity',
      popular: ['popularity'],
      trends: ['trend'],
    });
  });

  it('When the recipe names them otherwise, Then the faster-forgetting one is the trend and the slowest the table\'s', () => {
    expect(popularitySources(sources([['hot', popularity(5)], ['bestsellers', popularity(null)], ['quarter', popularity(90)]]))).toEqual({
      table: 'bestsellers',
      popular: ['bestsellers'],
      trends: ['hot', 'quarter'],
    });
    // Equally slow: both popular, the first one the table's.
    expect(popularitySources(sources([['a', popularity(30)], ['b', popularity(30)]]))).toEqual({ table: 'a', popular: ['a', 'b'], trends: [] });
  });

  it('When the only popularity source is named trend, Then it stays a trend and the table has no source (as before)', () => {
    expect(popularitySources(sources([['trend', popularity(10)]]))).toEqual({ table: undefined, popular: [], trends: ['trend'] });
  });

  it('When a version kept the kinds, Then they decide; else the name trend and the popularity family do', () => {
    const kept = { popularitySources: ['bestsellers'], trendSources: ['hot'] };
    expect([popularityKind(kept, 'bestsellers', 'popularity'), popularityKind(kept, 'hot', 'popularity'), popularityKind(kept, 'item-knn', 'item-knn')]).toEqual(['popular', 'trend', undefined]);
    expect([popularityKind({}, 'bestsellers', 'popularity'), popularityKind({}, 'trend', 'popularity'), popularityKind({}, 'popularity', 'popularity'), popularityKind({}, 'als', 'als')]).toEqual([
      'popular',
      'trend',
      'popular',
      undefined,
    ]);
  });
});
