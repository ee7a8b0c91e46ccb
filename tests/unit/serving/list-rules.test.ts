import { describe, expect, it } from 'vitest';
import { findAnchors } from '../../../src/serving/anchor-finder.js';
import { diversify } from '../../../src/serving/diversify.js';
import { itemFilter, Picker } from '../../../src/serving/picker.js';
import type { Pick } from '../../../src/serving/recommendation.js';
import { fixtureModel } from './model-fixture.js';

const pick = (item: number, score: number): Pick => ({ item, score, sources: ['hybrid'] });

describe('diversity re-ranking (MMR)', () => {
  // A 1.0, B 0.9, C 0.8, D 0.5; content similarity A-B 0.9, A-C 0.1, B-C 0.2, D alike to nothing.
  const model = fixtureModel([{ id: 'A' }, { id: 'B' }, { id: 'C' }, { id: 'D' }], {
    neighbours: { content: { A: [['B', 0.9], ['C', 0.1]], B: [['A', 0.9], ['C', 0.2]], C: [['B', 0.2], ['A', 0.1]] } },
  });
  const picks = [pick(0, 1), pick(1, 0.9), pick(2, 0.8), pick(3, 0.5)];
  const ids = (ps: Pick[]) => ps.map((p) => model.items.ids[p.item]);

  it('When diversity is 0, Then the order is the relevance order', () => {
    expect(ids(diversify(model, picks, 3, 0))).toEqual(['A', 'B', 'C']);
  });

  it('When diversity is 0.5, Then the near-duplicate of the first item gives way', () => {
    // lambda = 0.5. After A: B = .5*.9 - .5*.9 = 0, C = .5*.8 - .5*.1 = .35, D = .5*.5 = .25 -> C.
    // After A, C: B = .45 - .45 = 0 (max sim .9), D = .25 -> D.
    expect(ids(diversify(model, picks, 3, 0.5))).toEqual(['A', 'C', 'D']);
  });
});

describe('list rules', () => {
  const model = fixtureModel(
    [
      { id: 'p1', price: 5, categories: ['tools'] },
      { id: 'p2', price: 50, categories: ['pots'] },
      { id: 'p3', price: 7, categories: ['tools'], available: false },
      { id: 'p4', categories: ['tools'] },
      { id: 'p5', price: 9, categories: ['tools'] },
      { id: 'p6', price: 6, categories: ['pots'] },
    ],
    { segments: [{ name: 'country', value: 'FR', items: ['p6', 'p2'] }] },
  );
  const idx = (id: string) => model.items.index.get(id)!;

  it('When filters are combined, Then only available, unexcluded, unbought items in category and price range pass', () => {
    const accepts = itemFilter(model, { k: 5, category: 'tools', minPrice: 4, maxPrice: 10, exclude: ['p5'] }, (i) => i === idx('p1'));
    // p1 bought, p2 wrong category, p3 unavailable, p4 has no price, p5 excluded, p6 wrong category.
    expect(model.items.ids.filter((_, i) => accepts(i))).toEqual([]);
    const loose = itemFilter(model, { k: 5, maxPrice: 10 });
    expect(model.items.ids.filter((_, i) => loose(i))).toEqual(['p1', 'p5', 'p6']);
  });

  it('When candidates run out, Then the segment list and then global popularity fill the list with falling scores', () => {
    const picker = new Picker(model, itemFilter(model, { k: 4 }), 4);
    picker.offer(idx('p5'), 0.8, ['item-knn']);
    picker.backfillPopular(0);
    expect(picker.picks.map((p) => model.items.ids[p.item])).toEqual(['p5', 'p6', 'p2', 'p1']);
    expect(picker.picks.map((p) => p.explanation)).toEqual([undefined, 'popular in FR', 'popular in FR', 'popular overall']);
    for (let i = 1; i < 4; i++) expect(picker.picks[i].score).toBeLessThan(picker.picks[i - 1].score);
  });
});

describe('"because you bought" anchors', () => {
  it('When two purchases list an item, Then the stronger relative similarity wins after the recency discount', () => {
    const ids = ['X', 'Y', 'c1', 'c2'];
    const model = fixtureModel(ids.map((id) => ({ id })), {
      neighbours: { 'item-knn': { X: [['c1', 0.8], ['c2', 0.4]], Y: [['c2', 0.9]] }, cooccurrence: {} },
    });
    // c2: from X (newest) 0.4 / 0.8 = 0.5; from Y (second newest) 0.9 / 0.9 / 1.2 = 0.83 -> Y. c1 only from X.
    const knn = model.neighbours.get('item-knn')!;
    expect([...findAnchors(knn, 4, [2, 3], [0, 1])]).toEqual([0, 1]);
    expect(findAnchors(knn, 4, [0], [1])[0]).toBe(-1);
    // Another source's lists never name an anchor of item-kNN's.
    expect([...findAnchors(model.neighbours.get('cooccurrence')!, 4, [2, 3], [0, 1])]).toEqual([-1, -1]);
  });
});
