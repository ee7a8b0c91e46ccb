import { describe, expect, it } from 'vitest';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { blendedSources, blendWeights, createBlendScratch, createHybrid, dominantSource, hybridConfigSchema, hybridFromArtifact, type HybridConfig } from '../../../src/recommenders/hybrid.js';
import { itemKnnFactory } from '../../../src/recommenders/item-knn.js';
import { popularityFactory } from '../../../src/recommenders/popularity.js';
import type { HistoryEntry, Recommender, UserContext } from '../../../src/recommenders/recommender.js';
import { TopKHeap } from '../../../src/recommenders/top-k-heap.js';
import { twoGroups } from './two-groups.fixture.js';

/** A source with fixed scores: the hybrid's arithmetic is checked apart from any real model. */
const fixed = (name: string, scores: number[]): Recommender => ({
  name,
  scoreUser: (_ctx, out) => out.set(scores),
  toArtifact: () => new Uint8Array(),
});
const ordersCtx = (n: number): UserContext => ({
  user: -1,
  attributes: {},
  history: Array.from({ length: n }, (_, o): HistoryEntry => ({ item: 0, ts: o, quantity: 1, order: o })),
});
const config = (over: Partial<HybridConfig> = {}): HybridConfig => ({
  weights: { cold: { a: 1, b: 0 }, warm: { a: 0.2, b: 1 } },
  fullHistoryOrders: 10,
  normalisation: 'max',
  rankDepth: 200,
  popularityDiscount: 0,
  discountShare: 0.001,
  sourceDepth: 1000,
  ...over,
});

describe('hybrid', () => {
  it('interpolates weights from cold (0-1 orders) to warm (fullHistoryOrders) on a log scale', () => {
    expect(blendWeights(config(), 0)).toEqual({ a: 1 });
    expect(blendWeights(config(), 1)).toEqual({ a: 1 });
    // 4 orders: t = ln(4) / ln(10) = 0.60206; a = 1 - 0.8 t = 0.51835, b = t.
    const w = blendWeights(config(), 4);
    expect(w.a).toBeCloseTo(0.51835, 5);
    expect(w.b).toBeCloseTo(0.60206, 5);
    expect(blendWeights(config(), 10)).toEqual({ a: 0.2, b: 1 });
    expect(blendWeights(config(), 500)).toEqual({ a: 0.2, b: 1 });
  });

  it('divides each source by its top score before weighting (max normalisation)', () => {
    const sources = new Map([
      ['a', fixed('a', [10, 5, 0, -3])],
      ['b', fixed('b', [0, 0.1, 0.4, 0.2])],
    ]);
    const out = new Float32Array(4);
    createHybrid(sources, config()).scoreUser(ordersCtx(10), out);
    // 0.2 * [1, 0.5, 0, 0] + 1 * [0, 0.25, 1, 0.5]
    expect([...out].map((x) => +x.toFixed(6))).toEqual([0.2, 0.35, 1, 0.5]);
  });

  it('uses rank scores 1 - r/depth under rank normalisation, and reports each source contribution', () => {
    const sources = new Map([
      ['a', fixed('a', [10, 5, 0, 7])],
      ['b', fixed('b', [0, 0.1, 0.4, 0.2])],
    ]);
    const out = new Float32Array(4);
    const hybrid = createHybrid(sources, config({ normalisation: 'rank', rankDepth: 4 }));
    hybrid.scoreUser(ordersCtx(1), out);
    // Cold: only a, ranks 10 > 7 > 5 -> 1, 0.75, 0.5; item 2 (score 0) unranked.
    expect([...out]).toEqual([1, 0.5, 0, 0.75]);
    const scratch = createBlendScratch(4);
    hybrid.blendSparse(ordersCtx(1), scratch);
    expect([...scratch.sources.keys()]).toEqual(['a']);
    const part = scratch.sources.get('a')!.part;
    expect([0, 1, 2, 3].map((i) => part.values[i])).toEqual([1, 0.5, 0, 0.75]);
    expect([0, 1, 2, 3].map((i) => scratch.sources.get('a')!.raw.values[i])).toEqual([10, 5, 0, 7]);
  });

  it("takes only the sourceDepth best items the user has not bought of a source that scores densely, and its scores of the user's own", () => {
    const sources = new Map([
      ['a', fixed('a', [10, 5, 1, 7])],
      ['b', fixed('b', [0, 0.1, 0.4, 0.2])],
    ]);
    const out = new Float32Array(4);
    // The user bought item 0, a's best: a depth over all items would leave only one new item of a.
    createHybrid(sources, config({ sourceDepth: 2 })).scoreUser(ordersCtx(10), out);
    // a keeps its own item 0 (10) and new items 3 (7) and 1 (5); b keeps new items 2 (0.4) and 3 (0.2):
    // 0.2 * [1, 0.5, 0, 0.7] + 1 * [0, 0, 1, 0.5]
    expect([...out].map((x) => +x.toFixed(6))).toEqual([0.2, 0.1, 1, 0.64]);
  });

  it("When own items have weights of their own, Then the user's repurchases rank by those and new items as before", () => {
    const sources = new Map([
      ['a', fixed('a', [10, 5, 0, -3])],
      ['b', fixed('b', [0.2, 0.1, 0.4, 0.2])],
      ['c', fixed('c', [1, 9, 9, 9])],
    ]);
    // ordersCtx's user bought item 0 in every order; 10 orders = warm.
    const repeatWeights = { cold: { a: 1 }, warm: { b: 2, c: 1 } };
    const hybrid = createHybrid(sources, config({ repeatWeights }));
    const out = new Float32Array(4);
    hybrid.scoreUser(ordersCtx(10), out);
    // Item 0 (own): 2 * 0.2/0.4 + 1 * 1/9, a not weighted on own items. Items 1-3 (new), as without
    // repeat weights: 0.2 * [0.5, 0, 0] + 1 * [0.25, 1, 0.5]; c is not weighted on new items.
    expect([...out].map((x) => +x.toFixed(5))).toEqual([1.11111, 0.35, 1, 0.5]);
    const plain = new Float32Array(4);
    createHybrid(sources, config()).scoreUser(ordersCtx(10), plain);
    expect([...out.subarray(1)]).toEqual([...plain.subarray(1)]);
    expect(blendedSources(hybrid.config, 10)).toEqual(['a', 'b', 'c']);
    expect(hybrid.repeatWeightsFor(10)).toEqual({ b: 2, c: 1 });
    const scratch = createBlendScratch(4);
    hybrid.blendSparse(ordersCtx(10), scratch);
    expect(dominantSource(scratch, 0, ['a', 'b', 'c'])).toBe(1);
    expect(hybridFromArtifact(hybrid.toArtifact(), sources).config.repeatWeights).toEqual(repeatWeights);
    expect(() => createHybrid(new Map([['a', sources.get('a')!], ['b', sources.get('b')!]]), config({ repeatWeights }))).toThrow(/"c"/);
  });

  it('When a source ranks only the candidates others found (as ALS does), Then repeat weights change none of the new items', () => {
    // `ranker` scores only what it is given once anything is pooled; `again` scores the user's own item
    // 0, `near` scores items 1 and 2.
    const ranker = (scores: number[]): Recommender => ({
      ...fixed('ranker', scores),
      scoreCandidates: (_ctx, items, out) => {
        for (let p = 0; p < items.size; p++) out.set(items.item(p), scores[items.item(p)]);
      },
    });
    const sources = new Map<string, Recommender>([
      ['ranker', ranker([4, 1, 2, 3])],
      ['again', fixed('again', [1, 0, 0, 0])],
      ['near', fixed('near', [0, 1, 1, 0])],
    ]);
    const base = { weights: { cold: { ranker: 1, near: 0.5 }, warm: { ranker: 1, near: 0.5 } } };
    const newItems = (over: Partial<HybridConfig>) => {
      const out = new Float32Array(4);
      createHybrid(sources, config({ ...base, ...over })).scoreUser(ordersCtx(10), out);
      return [...out.subarray(1)];
    };
    const plain = newItems({});
    // `again` weighted on own items only: its item 0 must not enter the ranker's pool (nor move its top score).
    expect(newItems({ repeatWeights: { cold: { again: 1, ranker: 1 }, warm: { again: 2, ranker: 1 } } })).toEqual(plain);
    // Nothing weighted on own items from the pool's sources: the pool still holds what `near` and the ranker found.
    expect(newItems({ repeatWeights: { cold: { again: 1 }, warm: { again: 1 } } })).toEqual(plain);
    // Only the ranker on new items: it ranks the whole catalogue, as without repeat weights.
    const alone = { weights: { cold: { ranker: 1 }, warm: { ranker: 1 } } };
    expect(newItems({ ...alone, repeatWeights: { cold: { again: 1 }, warm: { again: 1 } } })).toEqual(newItems(alone));
    expect(newItems(alone)).toEqual([0.25, 0.5, 0.75]);
  });

  it('When sources are limited to their n best items, Then each source is asked for no more than n new items, and the blend is the same', () => {
    // A source ranking 2,000 items (as popularity, trend and EASE do) that records the depth it is asked for.
    const asked: number[] = [];
    const scores = Array.from({ length: 2000 }, (_, i) => (i * 7919) % 2000 + 1);
    const ranking: Recommender = {
      name: 'ranking',
      scoreUser: (_ctx, out) => out.set(scores),
      scoreSparse(_ctx, out, limit) {
        asked.push(limit);
        // Its `limit` best by score (the customer's own item 0 aside, then scored beside them).
        [...scores.keys()].filter((i) => i !== 0).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, limit).forEach((i) => out.set(i, scores[i]));
        out.set(0, scores[0]);
      },
      toArtifact: () => new Uint8Array(),
    };
    const out = new Float32Array(2000);
    createHybrid(new Map([['a', ranking], ['b', fixed('b', new Array(2000).fill(0))]]), config({ sourceLimit: 3, weights: { cold: { a: 1 }, warm: { a: 1 } } })).scoreUser(ordersCtx(10), out);
    expect(asked).toEqual([3]);
    // The 3 best new items by score (2000, 1999, 1998) over the best (2000), and the customer's own item 0 (score 1).
    const best = [...scores.keys()].filter((i) => i !== 0).sort((a, b) => scores[b] - scores[a]).slice(0, 3);
    const expected = new Map([...best.map((i): [number, number] => [i, scores[i] / 2000]), [0, 1 / 2000]]);
    [...out].forEach((v, i) => expect(v, `item ${i}`).toBeCloseTo(expected.get(i) ?? 0, 6));
  });

  it('When sources are limited to their n best items, Then each contributes its n best the customer has not bought and its scores of their own, its own top still scoring 1', () => {
    const sources = new Map([
      ['a', fixed('a', [10, 5, 1, 7])],
      ['b', fixed('b', [0, 0.1, 0.4, 0.2])],
    ]);
    const out = new Float32Array(4);
    // The customer bought item 0, a's best: a's two best items overall would leave it one new item.
    createHybrid(sources, config({ sourceLimit: 2 })).scoreUser(ordersCtx(10), out);
    // Warm: 0.2 * (a's own item 0: 1, and its best two new, items 3: 0.7 and 1: 0.5) + 1 * b's best two new (items 2: 1, 3: 0.5).
    expect([...out].map((x) => +x.toFixed(6))).toEqual([0.2, 0.1, 1, 0.64]);
    // A source whose n best are all the customer's own items still brings its n best new ones.
    const many = { ...ordersCtx(10), history: [0, 1, 3].map((item, o): HistoryEntry => ({ item, ts: o, quantity: 1, order: o })) };
    createHybrid(new Map([['a', fixed('a', [10, 5, 1, 7])], ['b', fixed('b', [0, 0, 0, 0])]]), config({ sourceLimit: 2, weights: { cold: { a: 1 }, warm: { a: 1 } } })).scoreUser(many, out);
    expect([...out].map((x) => +x.toFixed(6))).toEqual([1, 0.5, 0.1, 0.7]);
    createHybrid(sources, config()).scoreUser(ordersCtx(10), out);
    // Unlimited: 0.2 * [1, 0.5, 0.1, 0.7] + 1 * [0, 0.25, 1, 0.5].
    expect([...out].map((x) => +x.toFixed(6))).toEqual([0.2, 0.35, 1.02, 0.64]);
  });

  it('refuses to blend a weighted source that was not fitted', () => {
    expect(() => createHybrid(new Map([['a', fixed('a', [1])]]), config())).toThrow(/"b"/);
  });

  it("leans on the cold-weighted source for a one-order user and on the warm-weighted one for a heavy buyer", () => {
    const { ds } = twoGroups();
    const histories = datasetHistories(ds);
    const popularity = popularityFactory.fit(ds, popularityFactory.parseParams({ attributes: [] }));
    const knn = itemKnnFactory.fit(ds, itemKnnFactory.parseParams({}));
    const hybrid = createHybrid(new Map<string, Recommender>([['popularity', popularity], ['item-knn', knn]]), {
      weights: { cold: { popularity: 1, 'item-knn': 0.1 }, warm: { popularity: 0.1, 'item-knn': 1 } },
      fullHistoryOrders: 2,
      normalisation: 'max',
      rankDepth: 200,
    });
    /** For the user's top-3 items: which source contributed more to each. */
    const leaders = (ctx: UserContext) => {
      const scratch = createBlendScratch(ds.itemIds.length);
      hybrid.blendSparse(ctx, scratch);
      const out = new Float32Array(ds.itemIds.length);
      scratch.blend.toDense(out);
      const heap = new TopKHeap(3);
      out.forEach((s, i) => s > 0 && heap.push(i, s));
      const part = (name: string, item: number) => scratch.sources.get(name)?.part.values[item] ?? 0;
      return heap.result().map(({ item }) => (part('popularity', item) > part('item-knn', item) ? 'popularity' : 'item-knn'));
    };
    const full = userContext(ds, histories, ds.userIndex.get('k-user0')!); // two orders: fully warm here
    const cold = { ...full, history: full.history.filter((h) => h.order === full.history[0].order) };
    expect(hybrid.weightsFor(1)).toEqual({ popularity: 1, 'item-knn': 0.1 });
    expect(leaders(cold)).toEqual(['popularity', 'popularity', 'popularity']);
    expect(hybrid.weightsFor(2)).toEqual({ popularity: 0.1, 'item-knn': 1 });
    expect(leaders(full)).toEqual(['item-knn', 'item-knn', 'item-knn']);
  });

  it('stores only its configuration and rebuilds around the given sources', () => {
    const sources = new Map([
      ['a', fixed('a', [3, 1])],
      ['b', fixed('b', [1, 3])],
    ]);
    const hybrid = createHybrid(sources, config({ normalisation: 'minmax' }));
    const loaded = hybridFromArtifact(hybrid.toArtifact(), sources);
    expect(loaded.config).toEqual(hybrid.config);
    const [x, y] = [new Float32Array(2), new Float32Array(2)];
    hybrid.scoreUser(ordersCtx(3), x);
    loaded.scoreUser(ordersCtx(3), y);
    expect(y).toEqual(x);
  });
});

describe('hybrid discovery discount', () => {
  // Items 0, 1, 2 with 3, 1 and 0 buyers; one source scores all three 2 (normalised to 1).
  const sources = new Map<string, Recommender>([['a', fixed('a', [2, 2, 2])]]);
  const buyers = Float32Array.from([3, 1, 0]);
  const ctx: UserContext = { user: -1, attributes: {}, history: [{ item: 0, ts: 0, quantity: 1, order: 'o' }] };

  it('divides items the user has not bought by (1 + buyers)^beta and leaves their own items alone', () => {
    const out = new Float32Array(3);
    createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1 }, buyers).scoreUser(ctx, out);
    // item 0 is the user's own: 1; item 1: 1 / (1 + 1) = 0.5; item 2: 1 / (1 + 0) = 1.
    expect([...out]).toEqual([1, 0.5, 1]);
    createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 0.5 }, buyers).scoreUser(ctx, out);
    expect(out[1]).toBeCloseTo(1 / Math.SQRT2, 6);
  });

  it('leaves a visitor without history on the undiscounted blend', () => {
    const out = new Float32Array(3);
    createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1 }, buyers).scoreUser({ ...ctx, history: [] }, out);
    expect([...out]).toEqual([1, 1, 1]);
  });

  it('keeps the buyer counts through its artifact', () => {
    const hybrid = createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1 }, buyers);
    const out = new Float32Array(3);
    hybridFromArtifact(hybrid.toArtifact(), sources).scoreUser(ctx, out);
    expect([...out]).toEqual([1, 0.5, 1]);
  });

  it('counts buyers in units of its share of the customers, so a larger shop with the same shares is discounted alike', () => {
    const weights = { weights: { cold: { a: 1 }, warm: { a: 1 } } };
    const small = new Float32Array(3);
    const large = new Float32Array(3);
    // 4,000 customers: unit 4 buyers (share 0.001); item 1's 8 buyers are 2 units: 1 / (1 + 2) = 1/3.
    createHybrid(sources, { ...config(weights), popularityDiscount: 1 }, Float32Array.from([3, 8, 0]), 4000).scoreUser(ctx, small);
    expect(small[1]).toBeCloseTo(1 / 3, 6);
    // Twenty times the customers, twenty times the buyers: the same multipliers. Counted as buyers
    // (share 0) the larger shop's item 1 would fall from 1/9 to 1/161.
    createHybrid(sources, { ...config(weights), popularityDiscount: 1 }, Float32Array.from([60, 160, 0]), 80_000).scoreUser(ctx, large);
    expect(large[1]).toBeCloseTo(small[1], 6);
    createHybrid(sources, { ...config(weights), popularityDiscount: 1, discountShare: 0 }, Float32Array.from([60, 160, 0]), 80_000).scoreUser(ctx, large);
    expect(large[1]).toBeCloseTo(1 / 161, 6);
  });

  it('never counts in units under one buyer, and keeps the customer count through its artifact', () => {
    const out = new Float32Array(3);
    // 300 customers: 0.3 buyers a unit, raised to 1.
    const hybrid = createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1 }, Float32Array.from([3, 1, 0]), 300);
    hybrid.scoreUser(ctx, out);
    expect([...out]).toEqual([1, 0.5, 1]);
    const wide = createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1 }, Float32Array.from([3, 8, 0]), 4000);
    hybridFromArtifact(wide.toArtifact(), sources).scoreUser(ctx, out);
    expect(out[1]).toBeCloseTo(1 / 3, 6);
  });

  it('keeps its share out of the params a process on the code before the share reads strictly, and a share of its own through the artifact', () => {
    const hybrid = createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1, discountShare: 0.002 }, Float32Array.from([3, 8, 0]), 2000);
    const { header } = decodeArtifact(hybrid.toArtifact(), { algorithm: 'hybrid', version: 1 });
    expect(hybridConfigSchema.omit({ discountShare: true }).safeParse(header.params).success).toBe(true);
    const out = new Float32Array(3);
    const loaded = hybridFromArtifact(hybrid.toArtifact(), sources);
    expect(loaded.config.discountShare).toBe(0.002);
    // 2,000 customers at 0.002: 4 buyers a unit; item 1's 8 buyers: 1 / (1 + 2).
    loaded.scoreUser(ctx, out);
    expect(out[1]).toBeCloseTo(1 / 3, 6);
  });

  it('reads a model trained before the share (no customer count) with buyers counted as they are', () => {
    const out = new Float32Array(3);
    const before = createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), popularityDiscount: 1 }, Float32Array.from([3, 8, 0]));
    hybridFromArtifact(before.toArtifact(), sources).scoreUser(ctx, out);
    expect(out[1]).toBeCloseTo(1 / 9, 6);
  });
});

describe('hybrid source cap', () => {
  // Items 0-3 only trend scores (1, .9, .8, .7), items 4-5 only ALS (.5, .4 after its weight); item 6 is
  // the user's own purchase.
  const sources = new Map([
    ['trend', fixed('trend', [1, 0.9, 0.8, 0.7, 0, 0, 0])],
    ['als', fixed('als', [0, 0, 0, 0, 1, 0.8, 0])],
  ]);
  const weights = { trend: 1, als: 0.5 };
  const ctx = (orders: number): UserContext => ({
    user: -1,
    attributes: {},
    history: Array.from({ length: orders }, (_, o): HistoryEntry => ({ item: 6, ts: o, quantity: 1, order: o })),
  });
  const ranking = (orders: number, cap?: HybridConfig['sourceCap']) => {
    const h = createHybrid(sources, { ...config({ weights: { cold: weights, warm: weights } }), sourceCap: cap });
    const out = new Float32Array(7);
    h.scoreUser(ctx(orders), out);
    return [...out.keys()].filter((i) => out[i] > 0).sort((a, b) => out[b] - out[a]);
  };

  it('When trend may take half of the top 4, Then ALS items move up to every second place and trend fills on after the window', () => {
    // Place r may hold ceil(r / 2) trend items: 0 (1 of 1), then ALS 4, trend 1 (2 of 3), ALS 5; then the rest.
    expect(ranking(3, { sources: ['trend'], share: 0.5, window: 4, minOrders: 2 })).toEqual([0, 4, 1, 5, 2, 3]);
  });

  it('When the user has fewer orders than minOrders, or there is no cap, Then the blend order stands', () => {
    expect(ranking(1, { sources: ['trend'], share: 0.5, window: 4, minOrders: 2 })).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ranking(3)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('When the capped source has nothing else to compete with, Then it still fills the list', () => {
    const onlyTrend = createHybrid(new Map([['trend', sources.get('trend')!]]), { ...config({ weights: { cold: { trend: 1 }, warm: { trend: 1 } } }), sourceCap: { sources: ['trend'], share: 0, window: 4, minOrders: 0 } });
    const out = new Float32Array(7);
    onlyTrend.scoreUser(ctx(3), out);
    expect([...out.keys()].filter((i) => out[i] > 0).sort((a, b) => out[b] - out[a])).toEqual([0, 1, 2, 3]);
  });

  it('When one scratch blends a capped customer and then another, Then the second blend is what a fresh scratch gives', () => {
    const h = createHybrid(sources, { ...config({ weights: { cold: weights, warm: weights } }), sourceCap: { sources: ['trend'], share: 0.5, window: 2, minOrders: 2 } });
    const scored = (scratch: ReturnType<typeof createBlendScratch>, c: UserContext) => {
      h.blendSparse(c, scratch);
      return [...scratch.blend.values];
    };
    // The second customer bought item 3 (outside the first one's window), so it is their own item and not rescaled.
    const second: UserContext = { ...ctx(3), history: ctx(3).history.map((e, o) => ({ ...e, item: o === 0 ? 3 : 6 })) };
    const reused = createBlendScratch(7);
    scored(reused, ctx(3));
    const fresh = scored(createBlendScratch(7), second);
    expect(scored(reused, second)).toEqual(fresh);
    expect([...reused.own]).toEqual([0, 0, 0, 1, 0, 0, 1]);
  });

  it("When two sources score an item, Then its dominant source is the one with the larger weighted part", () => {
    const both = new Map([
      ['trend', fixed('trend', [1, 0.3, 0, 0, 0, 0, 0])],
      ['als', fixed('als', [0, 1, 0, 0, 0, 0, 0])],
    ]);
    const h = createHybrid(both, config({ weights: { cold: { trend: 1, als: 0.5 }, warm: { trend: 1, als: 0.5 } } }));
    const scratch = createBlendScratch(7);
    h.blendSparse(ctx(3), scratch);
    // Item 1: trend 1 x 0.3 = 0.3, ALS 0.5 x 1 = 0.5.
    expect(dominantSource(scratch, 1, ['trend', 'als'])).toBe(1);
    expect(dominantSource(scratch, 0, ['trend', 'als'])).toBe(0);
    expect(dominantSource(scratch, 5, ['trend', 'als'])).toBe(-1);
  });
});

describe('hybrid source cap configuration', () => {
  it('When a capped source is not fitted, Then the hybrid refuses, as for a weighted one', () => {
    const sources = new Map([['a', fixed('a', [1, 0])]]);
    expect(() => createHybrid(sources, { ...config({ weights: { cold: { a: 1 }, warm: { a: 1 } } }), sourceCap: { sources: ['trnd'], share: 0.5, window: 20, minOrders: 2 } })).toThrow(/capped source "trnd"/);
  });
});
