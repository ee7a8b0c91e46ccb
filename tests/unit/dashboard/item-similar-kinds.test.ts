/**
 * Which neighbour kinds the dashboard's item view asks for (src/http/static/dashboard/views/item.js), from the
 * answer of GET /v1/models as the service gives it: the served version's recipe.
 */
import { describe, expect, it } from 'vitest';

/** What the test uses of the page's module (plain JavaScript, served as is: it has no types). */
interface ItemView {
  similarKinds: (models: unknown) => string[];
}
const ITEM_JS = '../../../src/http/static/dashboard/views/item.js';
const { similarKinds } = (await import(ITEM_JS)) as ItemView;

const version = (name: string, sources: Record<string, object> | undefined, active = false) => ({
  version: name,
  recipe: 'r',
  trainedAt: '2026-12-06T00:00:00.000Z',
  active,
  info: sources === undefined ? {} : { recipe: { name: 'r', sources } },
});

describe('the item view: the neighbour kinds it asks for', () => {
  it('When the served version lacks ALS, Then the other three are asked, in the page order', () => {
    const models = { active: 'v1', served: 'v1', servedInStore: true, versions: [version('v1', { cooccurrence: {}, 'item-knn': {}, content: {}, popularity: {}, ease: {} }, true)] };
    expect(similarKinds(models)).toEqual(['item-knn', 'content', 'cooccurrence']);
  });

  it('When the recipe names its sources otherwise, Then their families count, as serving resolves them', () => {
    const models = { active: 'v1', served: 'v1', servedInStore: true, versions: [version('v1', { knn: { recommender: 'item-knn' }, factors: { recommender: 'als' }, trend: { recommender: 'popularity' } }, true)] };
    expect(similarKinds(models)).toEqual(['item-knn', 'als']);
  });

  it('When the process serves another version than the one the store marks active, Then the served one decides', () => {
    const models = { active: 'v2', served: 'v1', servedInStore: true, versions: [version('v2', { als: {} }, true), version('v1', { content: {} })] };
    expect(similarKinds(models)).toEqual(['content']);
  });

  it('When no version is served yet, or its recipe is not kept, Then all four are asked (the service answers each by what it has)', () => {
    const all = ['item-knn', 'content', 'als', 'cooccurrence'];
    expect(similarKinds({ active: null, served: null, servedInStore: false, versions: [] })).toEqual(all);
    expect(similarKinds({ active: 'v1', served: 'v1', servedInStore: true, versions: [version('v1', undefined, true)] })).toEqual(all);
  });

  // GET /v1/models reads the model store (admin's list of versions); serving answers the neighbours from the
  // version it holds in memory. A store that cannot be read (Redis down: 503) must not take the item page with it.
  it('When the versions could not be read, Then all four are asked, as before the page read them', () => {
    expect(similarKinds(null)).toEqual(['item-knn', 'content', 'als', 'cooccurrence']);
  });
});
