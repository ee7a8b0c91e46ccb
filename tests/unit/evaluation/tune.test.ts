import { describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { createBlendCache, scoreBlend, sourcePart } from '../../../src/evaluation/blend-cache.js';
import { makeSplit } from '../../../src/evaluation/run-evaluation.js';
import { cacheEvaluator, tuneWeights } from '../../../src/evaluation/tune.js';
import type { BlendCache } from '../../../src/evaluation/blend-cache.js';
import type { Recommender } from '../../../src/recommenders/recommender.js';
import { parseRecipe } from '../../../src/training/recipe.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const END = new Date(T0 + 90 * DAY).toISOString();

describe('scoreBlend', () => {
  it('blends max-normalised source lists with the weights and ranks as the evaluation does', () => {
    // Validation: u0 bought A before and buys B and C in the period; catalogue A, B, C.
    const rows: PurchaseRow[] = [
      { userId: 'u0', itemId: 'A', orderId: '1', ts: T0, quantity: 1, price: null },
      { userId: 'u1', itemId: 'B', orderId: '2', ts: T0, quantity: 1, price: null },
      { userId: 'u1', itemId: 'C', orderId: '2', ts: T0, quantity: 1, price: null },
      { userId: 'u0', itemId: 'C', orderId: '3', ts: T0 + 50 * DAY, quantity: 1, price: null },
    ];
    const split = makeSplit({ events: rows }, { kind: 'validation', days: 30, end: new Date(T0 + 60 * DAY).toISOString() });
    const ds = split.train;
    const fixed = (scores: Record<string, number>): Recommender => ({
      name: 'fixed',
      scoreUser: (_ctx, out) => Object.entries(scores).forEach(([id, s]) => (out[ds.itemIndex.get(id)!] = s)),
      toArtifact: () => new Uint8Array(),
    });
    const cache = createBlendCache(split);
    cache.parts.set('x', sourcePart(cache, split, fixed({ A: 4, B: 2, C: 1 }))); // normalised A 1, B 0.5, C 0.25
    cache.parts.set('y', sourcePart(cache, split, fixed({ C: 3 }))); // normalised C 1
    // x only: novel ranking (A excluded) = B, C; relevant {C} at rank 2 -> NDCG = 1/log2(3).
    const xOnly = scoreBlend(cache, { weights: { cold: { x: 1 }, warm: { x: 1 } }, fullHistoryOrders: 10 }, 10);
    expect(xOnly.novel.ndcg).toBeCloseTo(1 / Math.log2(3), 6);
    expect(xOnly.novel.coverage).toBeCloseTo(2 / 3, 6);
    // x + 0.3 y: C = 0.25 + 0.3 = 0.55 > B = 0.5 -> C first, NDCG 1; mode all: A 1, C 0.55 -> rank 2.
    const both = scoreBlend(cache, { weights: { cold: { x: 1, y: 0.3 }, warm: { x: 1, y: 0.3 } }, fullHistoryOrders: 10 }, 10);
    expect(both.novel.ndcg).toBeCloseTo(1, 6);
    expect(both.all.ndcg).toBeCloseTo(1 / Math.log2(3), 6);
    expect(both.all.recall).toBe(1);
  });
});

describe('scoreBlend on a catalogue with product groups', () => {
  // u0 bought A before and buys B and C (two sizes of one style) in the period; A and D are one style too.
  const rows: PurchaseRow[] = [
    { userId: 'u0', itemId: 'A', orderId: '1', ts: T0, quantity: 1, price: null },
    ...['B', 'C', 'D'].map((itemId) => ({ userId: 'u1', itemId, orderId: '2', ts: T0, quantity: 1, price: null })),
    { userId: 'u0', itemId: 'B', orderId: '3', ts: T0 + 50 * DAY, quantity: 1, price: null },
    { userId: 'u0', itemId: 'C', orderId: '3', ts: T0 + 50 * DAY, quantity: 1, price: null },
  ];
  const item = (id: string, itemGroupId: string | null) => ({ id, title: id, categories: [], price: null, attributes: {}, available: true, itemGroupId });
  const scoresOf = (grouped: boolean) => {
    const items = grouped ? [item('A', 'ad'), item('B', 'bc'), item('C', 'bc'), item('D', 'ad')] : ['A', 'B', 'C', 'D'].map((id) => item(id, null));
    const split = makeSplit({ events: rows, items }, { kind: 'validation', days: 30, end: new Date(T0 + 60 * DAY).toISOString() });
    const ds = split.train;
    const cache = createBlendCache(split);
    const fixed: Recommender = {
      name: 'fixed',
      scoreUser: (_ctx, out) => Object.entries({ A: 4, B: 3, C: 2, D: 1 }).forEach(([id, s]) => (out[ds.itemIndex.get(id)!] = s)),
      toArtifact: () => new Uint8Array(),
    };
    cache.parts.set('x', sourcePart(cache, split, fixed));
    const config = { weights: { cold: { x: 1 }, warm: { x: 1 } }, repeatWeights: { cold: { x: 1 }, warm: { x: 1 } }, fullHistoryOrders: 10 };
    return { k2: scoreBlend(cache, config, 2), k3: scoreBlend(cache, config, 3) };
  };

  it('When two variants of one group would both be in the top k, Then a blend is measured on the list served: one per group, none of a bought group when new items only count', () => {
    const without = scoresOf(false);
    const grouped = scoresOf(true);
    // novel @2: without groups [B, C], both bought; with them [B] (C is B's sibling, D is A's, bought): the one
    // style bought (B, C) is on it, 1 of 1 group. Coverage: without 2 of 4 products, with 1 of 2 styles.
    expect(without.k2.novel.recall).toBe(1);
    expect(grouped.k2.novel.recall).toBeCloseTo(1, 12);
    expect(without.k2.novel.coverage).toBeCloseTo(2 / 4, 12);
    expect(grouped.k2.novel.coverage).toBeCloseTo(1 / 2, 12);
    // all @3: without [A, B, C], B and C at ranks 2 and 3: NDCG (1/log2 3 + 1/2) / (1 + 1/log2 3); with [A, B]
    // (A's group is not left out where repurchases count), the style at rank 2: NDCG 1/log2 3.
    expect(without.k3.all.ndcg).toBeCloseTo((1 / Math.log2(3) + 1 / 2) / (1 + 1 / Math.log2(3)), 12);
    expect(grouped.k3.all.ndcg).toBeCloseTo(1 / Math.log2(3), 12);
  });

  it('When the customer buys another size of a listed style, Then the blend is credited with it, as a shop would be', () => {
    // u0 bought A before and buys C (size L of style B C) and E (no style) in the period; A and D are one style.
    const sizeRows: PurchaseRow[] = [
      { userId: 'u0', itemId: 'A', orderId: '1', ts: T0, quantity: 1, price: null },
      ...['B', 'C', 'D', 'E'].map((itemId) => ({ userId: 'u1', itemId, orderId: '2', ts: T0, quantity: 1, price: null })),
      { userId: 'u0', itemId: 'C', orderId: '3', ts: T0 + 50 * DAY, quantity: 1, price: null },
      { userId: 'u0', itemId: 'E', orderId: '3', ts: T0 + 50 * DAY, quantity: 1, price: null },
    ];
    const items = [item('A', 'ad'), item('B', 'bc'), item('C', 'bc'), item('D', 'ad'), item('E', null)];
    const split = makeSplit({ events: sizeRows, items }, { kind: 'validation', days: 30, end: new Date(T0 + 60 * DAY).toISOString() });
    const ds = split.train;
    const cache = createBlendCache(split);
    const fixed: Recommender = {
      name: 'fixed',
      scoreUser: (_ctx, out) => Object.entries({ A: 4, B: 3, C: 2, D: 1, E: 0.5 }).forEach(([id, s]) => (out[ds.itemIndex.get(id)!] = s)),
      toArtifact: () => new Uint8Array(),
    };
    cache.parts.set('x', sourcePart(cache, split, fixed));
    const s = scoreBlend(cache, { weights: { cold: { x: 1 }, warm: { x: 1 } }, fullHistoryOrders: 10 }, 2);
    // novel @2: A left out, its style (D) too, C is B's sibling: [B, E]. Relevant: styles {B C, E}: B stands for C.
    // Recall 2/2, NDCG 1 (per product: E only, recall 1/2). Coverage: 2 of 3 keys (A D, B C, E); reach 2 of min(3, 2).
    expect(s.novel.users).toBe(1);
    expect(s.novel.recall).toBeCloseTo(1, 12);
    expect(s.novel.ndcg).toBeCloseTo(1, 12);
    expect(s.novel.coverage).toBeCloseTo(2 / 3, 12);
    expect(s.novel.reach).toBeCloseTo(1, 12);
  });
});

describe('tuneWeights', () => {
  // Two users, three items, nothing bought before; both buy item 0 in the period. Source `pop` puts
  // item 0 first for both (NDCG@1 = 1 in both modes, coverage 1/3); `tail` puts item 1 first for one
  // user and item 2 for the other (NDCG 0, coverage 2/3).
  const part = (lists: number[][]) => ({
    indptr: Int32Array.from([0, lists[0].length, lists[0].length + lists[1].length]),
    items: Int32Array.from(lists.flat()),
    scores: Float32Array.from(lists.flatMap((l) => l.map((_, r) => 1 - r * 0.5))),
  });
  const cache = (): BlendCache => ({
    itemCount: 3,
    users: [0, 1],
    orders: Int32Array.from([1, 1]),
    trainItems: [new Int32Array(0), new Int32Array(0)],
    relevant: { novel: [new Set([0]), new Set([0])], all: [new Set([0]), new Set([0])] },
    itemBuyers: Float32Array.from([2, 0, 0]),
    discountUnit: 1,
    parts: new Map([
      ['pop', part([[0, 1], [0, 2]])],
      ['tail', part([[1], [2]])],
    ]),
  });
  const start = { cold: { pop: 1, tail: 0 }, warm: { pop: 1, tail: 0 } };

  const tune = (opts: { grid: number[]; minCoverage?: number; novelNdcgFloor?: number }) => {
    const c = cache();
    return tuneWeights(cacheEvaluator(c, 10, 1), c.parts.keys(), start, opts);
  };

  it('When only accuracy counts, Then it keeps the source that ranks the bought item first', async () => {
    const r = await tune({ grid: [0, 1, 4] });
    expect(r.scores.novel.ndcg).toBe(1);
    expect(r.objective).toBe(2);
  });

  it('When novel coverage of 0.8 is required, Then it gives up accuracy to meet it', async () => {
    const r = await tune({ grid: [0, 1, 4], minCoverage: 0.8 });
    expect(r.scores.novel.coverage).toBeCloseTo(2 / 3, 6);
    expect(r.scores.novel.ndcg).toBe(0);
  });

  it('When coverage may cost at most a tenth of the accuracy, Then it does not give the bought item up for reach', async () => {
    // The only way to 0.8 coverage is `tail` alone (NDCG 0); pop's NDCG 1 is the most accurate blend's.
    const r = await tune({ grid: [0, 1, 4], minCoverage: 0.8, novelNdcgFloor: 0.9 });
    expect(r.scores.novel.ndcg).toBe(1);
  });

  it('judges coverage against what the lists could show: two lists of one item reach at most 2 of the 3 items', async () => {
    // `pop` shows 1 distinct item (reach 1/2), `tail` 2 (reach 1, catalog coverage 2/3). Required 0.6:
    // pop falls short by 0.1 (penalty 1), less than the accuracy it brings (2), so pop stays.
    const r = await tune({ grid: [0, 1, 4], minCoverage: 0.6 });
    expect(r.scores.novel.reach).toBe(0.5);
    expect(r.scores.novel.coverage).toBeCloseTo(1 / 3, 6);
    expect(r.objective).toBeCloseTo(2 - 10 * 0.1, 6);
    const c = cache();
    const tail = scoreBlend(c, { weights: { cold: { tail: 1 }, warm: { tail: 1 } }, fullHistoryOrders: 10 }, 1);
    expect(tail.novel.reach).toBe(1);
    expect(tail.novel.coverage).toBeCloseTo(2 / 3, 6);
  });
});

describe('tuneWeights with weights on own items', () => {
  // Two users who bought item 3 before; in the period each buys item 0 (new) and item 3 again. At
  // k = 1, the novel list needs x over y (item 0 above item 1: wx > 1.6 wy) and the list with
  // repurchases needs y over x (item 3 above item 0: wy > 0.89 wx): one set of weights cannot do both.
  const part = (entries: [number, number][]) => ({
    indptr: Int32Array.from([0, entries.length, 2 * entries.length]),
    items: Int32Array.from([...entries, ...entries].map(([i]) => i)),
    scores: Float32Array.from([...entries, ...entries].map(([, v]) => v)),
  });
  const cache = (): BlendCache => ({
    itemCount: 4,
    users: [0, 1],
    orders: Int32Array.from([1, 1]),
    trainItems: [Int32Array.from([3]), Int32Array.from([3])],
    relevant: { novel: [new Set([0]), new Set([0])], all: [new Set([3]), new Set([3])] },
    itemBuyers: Float32Array.from([0, 0, 0, 2]),
    discountUnit: 1,
    parts: new Map([
      ['x', part([[0, 1], [1, 0.5], [3, 0.2]])],
      ['y', part([[3, 1], [1, 0.9], [0, 0.1]])],
    ]),
  });
  const start = { cold: { x: 1, y: 1 }, warm: { x: 1, y: 1 } };
  const grid = [0, 1, 4];

  it('When one set of weights serves both lists, Then the best it reaches is one of them', async () => {
    const c = cache();
    const r = await tuneWeights(cacheEvaluator(c, 10, 1), c.parts.keys(), start, { grid });
    expect(r.objective).toBe(1);
    expect(r.repeatWeights).toBeUndefined();
  });

  it('When new items are tuned on the novel lists and own items on the lists with repurchases, Then both are right and the first weights stay as tuned', async () => {
    const c = cache();
    const evaluate = cacheEvaluator(c, 10, 1);
    const novel = await tuneWeights(evaluate, c.parts.keys(), start, { grid, modes: ['novel'] });
    expect(novel.scores.novel.ndcg).toBe(1);
    const both = await tuneWeights(evaluate, c.parts.keys(), novel.weights, { grid, modes: ['all'], repeatWeights: novel.weights });
    expect(both.weights).toEqual(novel.weights);
    // The search scored only the mode it judged; scored in both, the new items still rank as tuned.
    expect(both.scores.novel.users).toBe(0);
    const rescored = await evaluate({ weights: both.weights, repeatWeights: both.repeatWeights, popularityDiscount: both.popularityDiscount });
    expect(rescored.novel.ndcg).toBe(1);
    expect(rescored.all.ndcg).toBe(1);
    expect(both.repeatWeights).not.toEqual(novel.weights);
  });
});
