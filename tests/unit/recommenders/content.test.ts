import { describe, expect, it } from 'vitest';
import { contentFactory, type ContentParams } from '../../../src/recommenders/content.js';
import { buildDataset, type ItemInfo, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { Recommender, UserContext } from '../../../src/recommenders/recommender.js';
import { bigrams, tokenize } from '../../../src/recommenders/tokenize.js';

const DAY = 86_400_000;

function item(id: string, title: string, extra: Partial<ItemInfo> = {}): ItemInfo {
  return { id, title, description: null, categories: [], price: null, attributes: {}, available: true, ...extra };
}

function buy(userId: string, itemId: string, day: number): PurchaseRow {
  return { userId, itemId, orderId: `${userId}-${day}`, ts: day * DAY, quantity: 1, price: null };
}

function fit(items: ItemInfo[], params: Record<string, unknown> = {}, events: PurchaseRow[] = []) {
  const ds = buildDataset({ items, events });
  const model = contentFactory.fit(ds, contentFactory.parseParams(params) as ContentParams);
  return { ds, model };
}

/** Only one feature group switched on, so similarities can be computed by hand. */
const only = (group: 'text' | 'category' | 'price' | 'attribute', also: Record<string, number> = {}) => ({
  bigrams: false,
  weights: { text: 0, category: 0, price: 0, attribute: 0, [group]: 1, ...also },
});

function scores(model: Recommender, ctx: UserContext, n: number): Float32Array {
  const out = new Float32Array(n);
  model.scoreUser(ctx, out);
  return out;
}

describe('tokenize', () => {
  it('lowercases, splits on punctuation, drops stop words, one-letter tokens and pure numbers', () => {
    expect(tokenize("SET OF 6 Spice-Tins, 'PANTRY' design 2010 a x2")).toEqual(['set', 'spice', 'tins', 'pantry', 'design', 'x2']);
    expect(bigrams(['hot', 'water', 'bottle'])).toEqual(['hot water', 'water bottle']);
  });
});

describe('content recommender', () => {
  // Toy catalogue: A and B share "red heart", C shares nothing.
  // idf(df=2) = ln(4/3) + 1 = 1.287682, idf(df=1) = ln(4/2) + 1 = 1.693147 (N = 3).
  // cos(A, B) = 2 * 1.287682^2 / (2 * 1.287682^2 + 1.693147^2) = 3.316250 / 6.182997 = 0.536350.
  const toy = [item('A', 'Red Heart Mug'), item('B', 'red heart candle'), item('C', 'Blue garden chair')];

  it('gives the hand-computed TF-IDF cosine between items that share title terms, and none to unrelated items', () => {
    const { model } = fit(toy, only('text'));
    expect(model.similarItems!(0, 5)).toEqual([{ item: 1, score: expect.closeTo(0.53635, 4) }]);
    expect(model.similarItems!(2, 5)).toEqual([]);
  });

  it('lets a shared category outweigh partly shared title terms when categories weigh as much as text', () => {
    const items = [
      item('A', 'Red Heart Mug', { categories: ['Kitchen'] }),
      item('B', 'red heart candle', { categories: ['Home'] }),
      item('C', 'Blue garden chair', { categories: ['kitchen '] }),
    ];
    // Each group is unit length times its weight (1), so |x| = sqrt(2): cos(A, C) = (0 + 1) / 2,
    // cos(A, B) = (0.536350 + 0) / 2.
    const { model } = fit(items, only('text', { category: 1 }));
    expect(model.similarItems!(0, 5)).toEqual([
      { item: 2, score: expect.closeTo(0.5, 5) },
      { item: 1, score: expect.closeTo(0.268175, 4) },
    ]);
  });

  it('makes items in the same log-price band similar and items a price band apart not', () => {
    // ratio 2: bands floor(log2 10) = 3, floor(log2 11) = 3, floor(log2 100) = 6.
    const items = [
      item('lamp', 'Lamp', { price: 10 }),
      item('vase', 'Vase', { price: 11 }),
      item('rug', 'Rug', { price: 100 }),
    ];
    const { model } = fit(items, only('text', { price: 1 }));
    expect(model.similarItems!(0, 5)).toEqual([{ item: 1, score: expect.closeTo(0.5, 5) }]);
    expect(model.similarItems!(2, 5)).toEqual([]);
  });

  it('does not make an item without any content similar to others by price alone', () => {
    const items = [item('lamp', 'Lamp', { price: 10 }), item('unknown', '', { price: 11 })];
    const { model } = fit(items, only('text', { price: 1 }));
    expect(model.similarItems!(0, 5)).toEqual([]);
    expect(model.similarItems!(1, 5)).toEqual([]);
  });

  it('takes the price band from purchase prices when the catalogue has none', () => {
    const items = [item('lamp', 'Lamp', { price: 10 }), item('vase', 'Vase'), item('rug', 'Rug', { price: 100 })];
    const events = [{ ...buy('u', 'vase', 1), price: 12 }];
    const { model } = fit(items, only('text', { price: 1 }), events);
    expect(model.similarItems!(1, 5)).toEqual([{ item: 0, score: expect.closeTo(0.5, 5) }]);
  });

  it('matches string attributes as name=value features, case-insensitively, and ignores non-string ones', () => {
    const items = [
      item('kettle', 'Kettle', { attributes: { brand: 'Acme', watts: 2000 } }),
      item('toaster', 'Toaster', { attributes: { brand: 'acme', watts: 2000 } }),
      item('blender', 'Blender', { attributes: { brand: 'Other' } }),
    ];
    const { model } = fit(items, only('text', { attribute: 1 }));
    expect(model.similarItems!(0, 5)).toEqual([{ item: 1, score: expect.closeTo(0.5, 5) }]);
    expect(model.similarItems!(2, 5)).toEqual([]);
  });

  it('gives a brand-new item that nobody bought neighbours, and recommends it to buyers of similar items', () => {
    const items = [...toy, item('D', 'Red heart cushion')];
    const { ds, model } = fit(items, {}, [buy('u1', 'A', 1), buy('u2', 'C', 1)]);
    const d = ds.itemIndex.get('D')!;
    expect(model.similarItems!(d, 2).map((n) => ds.itemIds[n.item]).sort()).toEqual(['A', 'B']);
    const s = scores(model, { user: ds.userIndex.get('u1')!, history: [{ item: ds.itemIndex.get('A')!, ts: DAY, quantity: 1, order: 1 }], attributes: {} }, ds.itemIds.length);
    expect(s[d]).toBeGreaterThan(0);
    expect(s[ds.itemIndex.get('C')!]).toBe(0);
  });

  it('scores an anonymous cart by content: the cart item first, its look-alike next, unrelated items zero', () => {
    const { model } = fit(toy, only('text'));
    const s = scores(model, { user: -1, history: [{ item: 0, ts: 0, quantity: 1, order: 'cart' }], attributes: {} }, 3);
    // A single-item profile is the item's own unit vector, so scores are its cosines.
    expect(s[0]).toBeCloseTo(1, 5);
    expect(s[1]).toBeCloseTo(0.53635, 4);
    expect(s[2]).toBe(0);
  });

  it('scores zero for everything when there is no history', () => {
    const { model } = fit(toy);
    expect([...scores(model, { user: -1, history: [], attributes: {} }, 3)]).toEqual([0, 0, 0]);
  });

  it('weighs recent purchases more with a half-life, and equally without one', () => {
    // Two unrelated pairs; the user bought one item of each pair, 60 days apart.
    const items = [item('m1', 'Wool Scarf'), item('m2', 'wool hat'), item('g1', 'Garden Hose'), item('g2', 'garden rake')];
    const history = [
      { item: 0, ts: 0, quantity: 1, order: 1 },
      { item: 2, ts: 60 * DAY, quantity: 1, order: 2 },
    ];
    const decayed = scores(fit(items, { ...only('text'), halfLifeDays: 30 }).model, { user: -1, history, attributes: {} }, 4);
    expect(decayed[3]).toBeGreaterThan(decayed[1]);
    // The old purchase weighs 2^(-60/30) = 1/4 of the new one: the pair scores scale by exactly that.
    expect(decayed[1] / decayed[3]).toBeCloseTo(0.25, 5);
    const flat = scores(fit(items, { ...only('text'), halfLifeDays: 0 }).model, { user: -1, history, attributes: {} }, 4);
    expect(flat[1]).toBeCloseTo(flat[3], 6);
  });

  it('restores identical scores and neighbours from its artifact, and follows items to new indices', () => {
    const { ds, model } = fit([...toy, item('D', 'Red heart cushion', { price: 3 })]);
    const ctx: UserContext = { user: -1, history: [{ item: 3, ts: 0, quantity: 1, order: 1 }], attributes: {} };
    const bytes = model.toArtifact();
    const back = contentFactory.fromArtifact(bytes, ds);
    expect(scores(back, ctx, 4)).toEqual(scores(model, ctx, 4));
    expect(back.similarItems!(0, 3)).toEqual(model.similarItems!(0, 3));

    // Loaded against a reordered catalogue with one extra item: same scores by id, nothing for the newcomer.
    const reordered = ['D', 'NEW', 'C', 'B', 'A'];
    const moved = contentFactory.fromArtifact(bytes, { itemIds: reordered });
    const original = scores(model, ctx, 4);
    const s = scores(moved, { ...ctx, history: [{ item: 0, ts: 0, quantity: 1, order: 1 }] }, 5);
    reordered.forEach((id, i) => expect(s[i]).toBe(id === 'NEW' ? 0 : original[ds.itemIndex.get(id)!]));
    expect(moved.similarItems!(4, 3).map((n) => reordered[n.item])).toEqual(model.similarItems!(0, 3).map((n) => ds.itemIds[n.item]));
  });

  it('rejects invalid parameters naming the field', () => {
    expect(() => contentFactory.parseParams({ neighbours: 0 })).toThrow(/content\.neighbours/);
    expect(() => contentFactory.parseParams({ weights: { colour: 1 } })).toThrow(/content\.weights\.colour/);
    expect(contentFactory.parseParams(undefined)).toMatchObject({ neighbours: 50, weights: { text: 1 } });
  });
});
