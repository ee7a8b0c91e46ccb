import { describe, expect, it } from 'vitest';
import { findAnchorsBySource } from '../../../src/serving/anchor-finder.js';
import { fixtureModel } from './model-fixture.js';

describe('"because you bought" anchors, each item in its own source\'s lists', () => {
  // X is the newest purchase, Y the one before it (its relative similarities count / 1.2).
  const ids = ['X', 'Y', 'c1', 'c2', 'c3'];
  const model = fixtureModel(
    ids.map((id) => ({ id })),
    {
      neighbours: {
        'item-knn': { X: [['c1', 0.8], ['c2', 0.4]], Y: [['c2', 0.9]] },
        content: { X: [['c1', 0.5], ['c3', 0.25]], Y: [['c3', 1], ['c1', 0.2]] },
      },
    },
  );
  const at = (id: string) => model.items.index.get(id)!;
  const anchorsOf = (items: string[], sources: string[], anchors: string[]) =>
    [...findAnchorsBySource(model.neighbours, ids.length, items.map(at), (k) => sources[k], anchors.map(at), anchors.length)].map((a) => (a < 0 ? null : ids[a]));

  it('When the list holds items of two sources and one without lists, Then each gets the best anchor in its source, the other none', () => {
    // c2 by item-kNN: X 0.4 / 0.8 = 0.5, Y 0.9 / 0.9 / 1.2 = 0.83 -> Y. c1 by content: X 0.5 / 0.5 = 1, Y 0.2 / 1 / 1.2 = 0.17 -> X
    // (item-kNN would have named X too, by 1 against nothing). c3 by popularity: no lists.
    expect(anchorsOf(['c2', 'c1', 'c3'], ['item-knn', 'content', 'popularity'], ['X', 'Y'])).toEqual(['Y', 'X', null]);
    // c3 by content: X 0.25 / 0.5 = 0.5, Y 1 / 1 / 1.2 = 0.83 -> Y; by item-kNN nobody lists it.
    expect(anchorsOf(['c3', 'c3'], ['content', 'item-knn'], ['X', 'Y'])).toEqual(['Y', null]);
  });

  it('When a search follows one whose best match was stronger, Then a weaker match is still found (nothing of the last search is kept)', () => {
    expect(anchorsOf(['c2'], ['item-knn'], ['X', 'Y'])).toEqual(['Y']);
    // X alone: 0.5, below the 0.83 the search before found for the same list position.
    expect(anchorsOf(['c2'], ['item-knn'], ['X'])).toEqual(['X']);
    expect(anchorsOf(['c1', 'c2'], ['item-knn', 'item-knn'], ['Y'])).toEqual([null, 'Y']);
  });
});
