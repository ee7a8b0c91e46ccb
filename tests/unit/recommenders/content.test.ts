import { describe, expect, it } from 'vitest';
import { contentFactory, type ContentParams } from '../../../src/recommenders/content.js';
import { buildDataset, type ItemInfo, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { Recommender, UserContext } from '../../../src/recommenders/recommender.js';
import { bigrams, tokenize } from '../../../src/recommenders/tokenize.js';
import { decodeArtifact, encodeArtifact } from '../../../src/recommenders/artifact.js';
import { describeItem, itemFeatureMatrix } from '../../../src/recommenders/tfidf.js';

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

  it('gives an item added after training the hand-computed cosines with the fitted items, as one more item of the catalogue', () => {
    const { ds, model } = fit(toy, only('text'));
    // X = "red heart lamp" as a fourth item: idf(red) = idf(heart) = ln(5/4) + 1 = 1.223144 (df 3 of 4),
    // idf(lamp) = ln(5/2) + 1 = 1.916291 (df 1), |X| = sqrt(2 * 1.223144^2 + 1.916291^2) = 2.581537.
    // A as fitted: red, heart 1.287682, mug 1.693147, |A| = 2.486564.
    // cos(X, A) = 2 * 1.223144 * 1.287682 / (2.581537 * 2.486564) = 0.490725; the same for B; C shares nothing.
    const content = model as Recommender & { similarToNewItem(item: ItemInfo, k: number): { item: number; score: number }[] | null };
    const near = content.similarToNewItem(item('X', 'red heart lamp'), 5)!;
    expect(near.map((n) => ds.itemIds[n.item]).sort()).toEqual(['A', 'B']);
    for (const n of near) expect(n.score).toBeCloseTo(0.490725, 5);
    // Nothing in common with the catalogue: no neighbours rather than arbitrary ones.
    expect(content.similarToNewItem(item('Y', 'antique brass lamp'), 5)).toEqual([]);
    // Nor is a price band alone a likeness, though among items that share more it counts.
    const priced = fit([item('A', 'Red Heart Mug', { price: 3 }), item('B', 'red heart candle', { price: 12 }), item('C', 'Blue garden chair', { price: 3.5 })]).model as typeof content;
    expect(priced.similarToNewItem(item('Y', 'antique brass lamp', { price: 3.2 }), 5)).toEqual([]);
    const [first, second] = priced.similarToNewItem(item('X', 'red heart lamp', { price: 3.2 }), 5)!;
    expect([first.item, second.item]).toEqual([0, 1]);
    expect(first.score).toBeGreaterThan(second.score);
    expect(content.similarToNewItem(item('X', 'red heart lamp'), 1)).toHaveLength(1);
  });

  it('describes a new item with the weights a fit that included it gives it, on the features the fitted items have', () => {
    const opts = { bigrams: true, priceBandRatio: 2, weights: { text: 1, category: 0.7, price: 0.3, attribute: 0.5 } };
    const catalogue = [
      item('A', 'Red heart mug', { categories: ['Kitchen'], price: 3, attributes: { colour: 'red' } }),
      item('B', 'red heart candle holder', { categories: ['Home'], price: 5, description: 'glass holder' }),
      item('C', 'Blue garden chair', { categories: ['Garden'], price: 40 }),
      item('D', 'white heart candle', { categories: ['home'], price: 4.5, attributes: { colour: 'White' } }),
    ];
    const newcomer = item('X', 'red heart candle lamp', { categories: ['Home', 'Lighting'], price: 4, attributes: { colour: 'red' }, description: 'warm glass' });
    const prices = (items: ItemInfo[]) => items.map((i) => i.price);
    const fitted = itemFeatureMatrix(catalogue, prices(catalogue), opts);
    const refit = itemFeatureMatrix([...catalogue, newcomer], prices([...catalogue, newcomer]), opts);
    // X's row of the refit, by feature name, on the features the first fit knows.
    const x = refit.matrix;
    const expected = new Map<string, number>();
    for (let k = x.indptr[4]; k < x.indptr[5]; k++) {
      const name = refit.space.names[x.indices[k]];
      if (fitted.space.names.includes(name)) expected.set(name, x.values[k]);
    }
    const index = new Map(fitted.space.names.map((n, f) => [n, f]));
    const described = describeItem(newcomer, newcomer.price, opts, fitted.space, index);
    const got = new Map(Array.from(described.indices, (f, k) => [fitted.space.names[f], described.values[k]]));
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    // Features it shares with the catalogue and some it alone has (lamp, lighting, warm): both kinds weigh in.
    expect(got.size).toBeGreaterThan(4);
    expect(got.size).toBeLessThan(x.indptr[5] - x.indptr[4]);
    for (const [name, w] of expected) expect(got.get(name)).toBeCloseTo(w, 6);
  });

  it('keeps what it needs for items added after training in its artifact, and a copy from an artifact without it says so', () => {
    const { ds, model } = fit([...toy, item('D', 'Red heart cushion', { price: 3, categories: ['home'] })]);
    type WithNew = Recommender & { similarToNewItem(item: ItemInfo, k: number): unknown };
    const newItem = item('X', 'red heart lamp', { price: 3.5, categories: ['Home'] });
    const back = contentFactory.fromArtifact(model.toArtifact(), ds) as WithNew;
    expect(back.similarToNewItem(newItem, 3)).toEqual((model as WithNew).similarToNewItem(newItem, 3));

    const { header, arrays } = decodeArtifact(model.toArtifact(), { algorithm: 'content', version: 1 });
    const { featureNameBytes: _b, featureNameOffsets: _o, featureDf: _d, ...older } = arrays;
    const meta = { ...(header.meta as object), featureItems: undefined };
    const old = contentFactory.fromArtifact(encodeArtifact({ ...header, meta } as Parameters<typeof encodeArtifact>[0], older), ds) as WithNew;
    expect(old.similarToNewItem(newItem, 3)).toBeNull();
    expect(old.similarItems!(0, 3)).toEqual(model.similarItems!(0, 3));
    // A feature space that does not fit (its names lost): the copy loads and scores, without it.
    const { featureNameBytes: _lost, ...partial } = arrays;
    const broken = contentFactory.fromArtifact(encodeArtifact(header as Parameters<typeof encodeArtifact>[0], partial), ds) as WithNew;
    expect(broken.similarToNewItem(newItem, 3)).toBeNull();
    expect(broken.similarItems!(0, 3)).toEqual(model.similarItems!(0, 3));
  });

  it('rejects invalid parameters naming the field', () => {
    expect(() => contentFactory.parseParams({ neighbours: 0 })).toThrow(/content\.neighbours/);
    expect(() => contentFactory.parseParams({ weights: { colour: 1 } })).toThrow(/content\.weights\.colour/);
    expect(contentFactory.parseParams(undefined)).toMatchObject({ neighbours: 50, weights: { text: 1 } });
  });
});
