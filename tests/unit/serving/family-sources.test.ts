import { describe, expect, it } from 'vitest';
import { familySource, weightedSources } from '../../../src/serving/serving-model.js';
import { fixtureModel } from './model-fixture.js';

const ITEMS = [{ id: 'a' }, { id: 'b' }];
const LISTS = { a: [['b', 1]] as [string, number][] };

/** A model with neighbour lists for `tables`, trained with `recipe` (none: a version that kept no recipe). */
function model(tables: string[], recipe?: Record<string, { recommender?: string }>) {
  const m = fixtureModel(ITEMS, { neighbours: Object.fromEntries(tables.map((t) => [t, LISTS])) });
  if (recipe) m.meta.info = { recipe: { sources: recipe } };
  return m;
}

describe('the source serving a recommender family', () => {
  it('Given a version that kept no recipe, Then each family is the source of its name, as before', () => {
    const m = model(['item-knn', 'cooccurrence', 'knn']);
    expect(familySource(m, 'item-knn')).toBe('item-knn');
    expect(familySource(m, 'cooccurrence')).toBe('cooccurrence');
    expect(familySource(m, 'content')).toBeUndefined();
  });

  it('Given sources named otherwise, Then the first of the family with neighbour lists serves it, in recipe order', () => {
    const m = model(['bought-with', 'knn-b', 'knn'], {
      'knn-none': { recommender: 'item-knn' },
      knn: { recommender: 'item-knn' },
      'knn-b': { recommender: 'item-knn' },
      'bought-with': { recommender: 'cooccurrence' },
    });
    expect(familySource(m, 'item-knn')).toBe('knn');
    expect(familySource(m, 'cooccurrence')).toBe('bought-with');
  });

  it('Given a source named as its family, Then it serves the family wherever it stands in the recipe', () => {
    const m = model(['knn-b', 'item-knn'], { 'knn-b': { recommender: 'item-knn' }, 'item-knn': {} });
    expect(familySource(m, 'item-knn')).toBe('item-knn');
    // A source named as another family is not of it.
    const odd = model(['content', 'text'], { content: { recommender: 'item-knn' }, text: { recommender: 'content' } });
    expect([familySource(odd, 'content'), familySource(odd, 'item-knn')]).toEqual(['text', 'content']);
  });

  it('When family weights are resolved, Then each family counts once, by its source, and the resolution is kept', () => {
    const m = model(['knn', 'knn-b', 'text'], { knn: { recommender: 'item-knn' }, 'knn-b': { recommender: 'item-knn' }, text: { recommender: 'content' } });
    const weights = { 'item-knn': 1, cooccurrence: 0.7, content: 0.5 };
    const resolved = weightedSources(m, weights);
    expect(resolved).toEqual([
      { family: 'item-knn', source: 'knn', weight: 1 },
      { family: 'content', source: 'text', weight: 0.5 },
    ]);
    expect(weightedSources(m, weights)).toBe(resolved);
  });
});
