import { describe, expect, it } from 'vitest';
import { alsFactory, alsFromFactors } from '../../../src/recommenders/als.js';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import type { Recommender, UserContext } from '../../../src/recommenders/recommender.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import { SparseScores } from '../../../src/recommenders/sparse-scores.js';
import { longTailShop } from './long-tail-shop.fixture.js';

const DAY = 86_400_000;

/** ALS's scoreSparse as pairs, best first (ties to the lower item). */
function sparseTop(model: Recommender, ctx: UserContext, itemCount: number, limit: number): [number, number][] {
  const out = new SparseScores(itemCount);
  model.scoreSparse!(ctx, out, limit);
  return Array.from({ length: out.size }, (_, p) => out.item(p))
    .map((i): [number, number] => [i, out.values[i]])
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]);
}

/**
 * The same by brute force: every item scored, the positive ones sorted, the first `limit` the customer has
 * not bought kept, and every one they have bought.
 */
function bruteTop(model: Recommender, ctx: UserContext, itemCount: number, limit: number): [number, number][] {
  const scores = new Float32Array(itemCount);
  model.scoreUser(ctx, scores);
  const own = new Set(ctx.history.map((h) => h.item));
  const ranked = [...scores.keys()].filter((i) => scores[i] > 0).sort((a, b) => scores[b] - scores[a] || a - b);
  const kept = new Set([...ranked.filter((i) => !own.has(i)).slice(0, limit), ...ranked.filter((i) => own.has(i))]);
  return ranked.filter((i) => kept.has(i)).map((i): [number, number] => [i, scores[i]]);
}

describe("ALS's best items for a customer", () => {
  it("When a fitted model is asked for its best items at any limit, Then they are exactly the brute-force ranking's best new items and the customer's own, for every customer", () => {
    const ds = longTailShop();
    const model = alsFactory.fit(ds, alsFactory.parseParams({ factors: 8, iterations: 6 }));
    const histories = datasetHistories(ds);
    const n = ds.itemIds.length;
    let compared = 0;
    for (let u = 0; u < ds.userIds.length; u++) {
      const ctx = userContext(ds, histories, u);
      for (const limit of [1, 7, 40, n + 5]) {
        expect(sparseTop(model, ctx, n, limit)).toEqual(bruteTop(model, ctx, n, limit));
        compared++;
      }
    }
    // A visitor folded in from a history the model never saw.
    const visitor: UserContext = { user: -1, history: [0, 5, 250].map((item, k) => ({ item, ts: DAY * (k + 1), quantity: 1, order: `v${k}` })), attributes: {} };
    expect(sparseTop(model, visitor, n, 10)).toEqual(bruteTop(model, visitor, n, 10));
    expect(compared).toBe(ds.userIds.length * 4);
  });

  it('Given hand-set factors with equal scores, a zero row and negative scores, Then the best items are the hand-checked ones, ties to the lower item', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const ds = buildDataset({ events: ids.map((itemId, k) => ({ userId: 'x', itemId, orderId: `o${k}`, ts: DAY, quantity: 1, price: null })) });
    const order = ds.itemIds;
    // Rows by item id; the customer's row is (1, 0), so an item scores its first factor.
    // h scores as a, b and g but has the larger norm, so it is read before them and must give way to them.
    const rows: Record<string, [number, number]> = { a: [1, 0], b: [1, 0], c: [0.5, 0.5], d: [0, 0], e: [2, 0], f: [-1, 0], g: [1, 0], h: [1, 1] };
    const itemFactors = Float32Array.from(order.flatMap((id) => rows[id]));
    const model = alsFromFactors(ds, { factors: 2, itemFactors, userFactors: Float32Array.from([1, 0]), userImported: Uint8Array.from([1]) }, alsFactory.parseParams({}));
    // The customer's trained factor, asked for as if they had bought nothing: every item is new to them.
    const ctx = { ...userContext(ds, datasetHistories(ds), 0), history: [] };
    const named = (limit: number, c: UserContext = ctx) => sparseTop(model, c, order.length, limit).map(([i, s]) => [order[i], s]);
    // e = 2; a, b, g, h = 1 (ties: the lower item first, so the walk must not stop at an item whose bound
    // only ties the threshold); c = 0.5; d scores 0 and f -1: never listed.
    expect(named(1)).toEqual([['e', 2]]);
    expect(named(3)).toEqual([['e', 2], ['a', 1], ['b', 1]]);
    expect(named(4)).toEqual([['e', 2], ['a', 1], ['b', 1], ['g', 1]]);
    expect(named(20)).toEqual([['e', 2], ['a', 1], ['b', 1], ['g', 1], ['h', 1], ['c', 0.5]]);
    // Having bought e, c and f: the limit counts new items only, and their own keep the scores above 0.
    const bought = { ...ctx, history: ['e', 'c', 'f'].map((id, k) => ({ item: ds.itemIndex.get(id)!, ts: DAY, quantity: 1, order: `o${k}` })) };
    expect(named(2, bought)).toEqual([['e', 2], ['a', 1], ['b', 1], ['c', 0.5]]);
  });

  it('When candidates are scored with a cut, Then they are the best `limit` of those candidates the customer has not bought by the brute-force scores, and the candidates they bought', () => {
    const ds = longTailShop();
    const model = alsFactory.fit(ds, alsFactory.parseParams({ factors: 8, iterations: 6 }));
    const histories = datasetHistories(ds);
    const n = ds.itemIds.length;
    const rand = mulberry32(5);
    let cutShort = 0;
    for (let u = 0; u < ds.userIds.length; u++) {
      const ctx = userContext(ds, histories, u);
      const ownItems = new Set(ctx.history.map((h) => h.item));
      const own = Uint8Array.from({ length: n }, (_, i) => (ownItems.has(i) ? 1 : 0));
      // A pool of candidates in no order: some of the customer's own items among random others.
      const pool = new SparseScores(n);
      for (let i = 0; i < n; i++) if (rand() < (ownItems.has(i) ? 0.7 : 0.3)) pool.set(i, 1);
      const scores = new Float32Array(n);
      model.scoreUser(ctx, scores);
      const candidates = Array.from({ length: pool.size }, (_, p) => pool.item(p)).filter((i) => scores[i] > 0);
      for (const limit of [1, 10, 60, n]) {
        const byScore = (a: number, b: number) => scores[b] - scores[a] || a - b;
        const expected = [...candidates.filter((i) => own[i] === 0).sort(byScore).slice(0, limit), ...candidates.filter((i) => own[i] === 1)].sort(byScore);
        const out = new SparseScores(n);
        model.scoreCandidates!(ctx, pool, out, { limit, own });
        const got = Array.from({ length: out.size }, (_, p) => out.item(p)).sort(byScore);
        expect(got).toEqual(expected);
        for (const i of got) expect(out.values[i]).toBe(scores[i]);
        if (expected.length < candidates.length) cutShort++;
      }
    }
    // The cut left candidates out for most customers (the case the walk's bound is for).
    expect(cutShort).toBeGreaterThan(ds.userIds.length);
  });
});

describe("ALS's candidates with a cut, at a float32 tie", () => {
  it('Given two candidates whose float64 dot products differ below float32 precision, When scored with a cut of 1, Then the kept one is the lower item, as the brute-force float32 ranking (and setBestPositive over the uncut scores) keeps', () => {
    const ids = ['a', 'b', 'c'];
    const ds = buildDataset({ events: ids.map((itemId, k) => ({ userId: 'x', itemId, orderId: `o${k}`, ts: DAY, quantity: 1, price: null })) });
    const order = ds.itemIds;
    // The customer's row is (1, 1): a scores 1, b 1 + 2^-30 (1 in float32, where the scores are kept), c 0.5.
    const rows: Record<string, [number, number]> = { a: [1, 0], b: [1, 2 ** -30], c: [0.5, 0] };
    const itemFactors = Float32Array.from(order.flatMap((id) => rows[id]));
    const model = alsFromFactors(ds, { factors: 2, itemFactors, userFactors: Float32Array.from([1, 1]), userImported: Uint8Array.from([1]) }, alsFactory.parseParams({}));
    const ctx = { ...userContext(ds, datasetHistories(ds), 0), history: [] };
    const n = order.length;
    const pool = new SparseScores(n);
    for (let i = 0; i < n; i++) pool.set(i, 1);
    const scores = new Float32Array(n);
    model.scoreUser(ctx, scores);
    // Brute force: a and b tie in float32, so the lower item (a) is the best.
    expect(scores[ds.itemIndex.get('a')!]).toBe(scores[ds.itemIndex.get('b')!]);
    const out = new SparseScores(n);
    model.scoreCandidates!(ctx, pool, out, { limit: 1, own: new Uint8Array(n) });
    expect(Array.from({ length: out.size }, (_, p) => order[out.item(p)])).toEqual(['a']);
  });
});

describe("ALS's best items for a customer (scoreSparse), at a float32 tie", () => {
  it('Given two items whose float64 dot products differ below float32 precision, When the best 1 is asked, Then the kept one is the lower item, as the brute-force float32 ranking of the served scores keeps', () => {
    const ids = ['a', 'b', 'c'];
    const ds = buildDataset({ events: ids.map((itemId, k) => ({ userId: 'x', itemId, orderId: `o${k}`, ts: DAY, quantity: 1, price: null })) });
    const order = ds.itemIds;
    // The customer's row is (1, 1): a scores 1, b 1 + 2^-30 (1 in float32, where the scores are kept), c 0.5;
    // a and b have the same norm in float64 (1 + 2^-60 rounds to 1), so the walk meets them in item order.
    const rows: Record<string, [number, number]> = { a: [1, 0], b: [1, 2 ** -30], c: [0.5, 0] };
    const itemFactors = Float32Array.from(order.flatMap((id) => rows[id]));
    const model = alsFromFactors(ds, { factors: 2, itemFactors, userFactors: Float32Array.from([1, 1]), userImported: Uint8Array.from([1]) }, alsFactory.parseParams({}));
    // No history: nothing of the customer's own is left out or added back.
    const ctx = { ...userContext(ds, datasetHistories(ds), 0), history: [] };
    const n = order.length;
    const scores = new Float32Array(n);
    model.scoreUser(ctx, scores);
    expect(scores[ds.itemIndex.get('a')!]).toBe(scores[ds.itemIndex.get('b')!]);
    expect(sparseTop(model, ctx, n, 1).map(([i]) => order[i])).toEqual(['a']);
    expect(sparseTop(model, ctx, n, 1)).toEqual(bruteTop(model, ctx, n, 1));
  });
});
