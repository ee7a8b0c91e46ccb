import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recommendationResponse } from '../../../src/http/schemas/recommendations.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop } from './shop-fixture.js';

/**
 * A product added to the catalog after the active model was trained, on its own product page: no
 * purchase links it to anything yet, but its title, categories and price do. Trained as a training job
 * trains (the default recipe, its recommenders stored with the version).
 */
const backend = DB_BACKENDS[1];

describe('similar items of a product added after training', () => {
  let t: TestApp;
  const similar = async (id: string, query = 'k=6') => {
    const res = await t.app.inject({ url: `/v1/items/${id}/similar?${query}`, headers: auth('read') });
    expect(res.statusCode, res.body).toBe(200);
    return recommendationResponse.parse(res.json());
  };

  beforeAll(async () => {
    t = await createTestApp({ createDb: backend.create });
    await seedShop(t.services);
    await t.services.trainer.train({ tune: false });
    await t.services.catalog.upsertItems([
      { id: 'k-pitcher', title: 'glass kitchen pitcher', categories: ['kitchen', 'glass'], price: 62 },
      { id: 'x-knocker', title: 'brass door knocker', categories: ['hardware'], price: 20 },
    ]);
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When its page asks for similar items, Then the items most like it by content come first, explained by it', async () => {
    const body = await similar('k-pitcher');
    // The glass kitchen items (k0-k4 "glass kitchen ...", k-new "glass kitchen carafe"), not the knives beside them in "kitchen".
    expect(body).toMatchObject({ strategy: 'content', fallback: true });
    expect(body.items.map((i) => i.itemId).sort()).toEqual(['k-new', 'k0', 'k1', 'k2', 'k3', 'k4']);
    for (const item of body.items) {
      expect(item.sources).toEqual(['content']);
      expect(item.explanation).toBe('similar to glass kitchen pitcher');
    }
    const scores = body.items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('When a cart holds only the new product, Then the visitor gets the items most like it, not popular items', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { items: ['k-pitcher'], k: 6 } });
    expect(res.statusCode, res.body).toBe(200);
    const body = recommendationResponse.parse(res.json());
    expect(body).toMatchObject({ strategy: 'context', fallback: false });
    expect(body.items.map((i) => i.itemId).sort()).toEqual(['k-new', 'k0', 'k1', 'k2', 'k3', 'k4']);
    for (const item of body.items) expect(item).toMatchObject({ sources: ['content'], explanation: 'similar to glass kitchen pitcher' });
    // An id the catalog does not know either is ignored, as before: popularity.
    const unknown = await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { items: ['no-such-item'], k: 3 } });
    expect(unknown.json()).toMatchObject({ strategy: 'popularity', fallback: true });
  });

  it('When content similarity is what was asked for, Then the answer is not a fallback', async () => {
    expect(await similar('k-pitcher', 'k=6&strategy=content')).toMatchObject({ strategy: 'content', fallback: false });
  });

  it('When more are asked than content finds, Then popularity fills the list below it', async () => {
    const body = await similar('k-pitcher', 'k=15');
    // Content: the glass kitchen items, then the knives, which share only "kitchen" with it.
    const byContent = body.items.filter((i) => i.sources[0] === 'content').map((i) => i.itemId);
    expect(byContent.slice(0, 6).sort()).toEqual(['k-new', 'k0', 'k1', 'k2', 'k3', 'k4']);
    expect(byContent.slice(6).sort()).toEqual(['k5', 'k6', 'k7', 'k8', 'k9']);
    expect(body.items.slice(11).every((i) => i.sources[0] === 'popularity' && i.itemId.startsWith('g'))).toBe(true);
    expect(body.items).toHaveLength(15);
    const scores = body.items.map((i) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('When the list is filtered, Then the content matches that pass the filter fill it, not popular items', async () => {
    // Of the glass items (60-64) only k0 costs at most 60.5; the knives (25-34) share "kitchen" with it.
    const body = await similar('k-pitcher', 'k=3&maxPrice=60.5');
    expect(body.items[0].itemId).toBe('k0');
    expect(body.items.map((i) => i.sources[0])).toEqual(['content', 'content', 'content']);
  });

  it('When it shares nothing with the catalogue but a price band, Then popularity answers, as a fallback', async () => {
    const body = await similar('x-knocker');
    expect(body).toMatchObject({ strategy: 'popularity', fallback: true });
    expect(body.items).toHaveLength(6);
    expect(body.items.every((i) => i.sources[0] === 'popularity')).toBe(true);
  });
});
