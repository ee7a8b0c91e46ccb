import { describe, expect, it } from 'vitest';
import { scoreBlendRange, type BlendCache, type BlendConfig, type BlendPart, type SourcePart } from '../../../src/evaluation/blend-cache.js';
import { differingColumn, OTHER, summationOf, weightedSum } from '../../../src/evaluation/blend-sums.js';
import type { EvalMode } from '../../../src/evaluation/splits.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';

const ITEMS = 80;
const USERS = 50;
const SOURCES = ['a', 'b', 'c', 'd'];

/** A source's top lists with scores drawn from all of (0, 1] (not only dyadic ones), so float32 rounding shows. */
function randomPart(rand: () => number, depth: number): SourcePart {
  const indptr = new Int32Array(USERS + 1);
  const items: number[] = [];
  const scores: number[] = [];
  for (let u = 0; u < USERS; u++) {
    const picked = new Set<number>();
    const n = Math.floor(rand() * depth);
    while (picked.size < n) picked.add(Math.floor(rand() * ITEMS));
    for (const i of picked) {
      items.push(i);
      scores.push(rand() < 0.1 ? 1 : Math.fround(1e-3 + rand()));
    }
    indptr[u + 1] = items.length;
  }
  return { indptr, items: Int32Array.from(items), scores: Float32Array.from(scores) };
}

function randomCache(rand: () => number): BlendCache {
  const set = (n: number) => new Set(Array.from({ length: n }, () => Math.floor(rand() * ITEMS)));
  const trainItems = Array.from({ length: USERS }, () => Int32Array.from(set(Math.floor(rand() * 8))));
  return {
    itemCount: ITEMS,
    users: Array.from({ length: USERS }, (_, j) => j),
    orders: Int32Array.from({ length: USERS }, () => 1 + Math.floor(rand() * 25)),
    trainItems,
    relevant: {
      novel: trainItems.map(() => (rand() < 0.7 ? set(1 + Math.floor(rand() * 5)) : undefined)),
      all: trainItems.map(() => (rand() < 0.8 ? set(1 + Math.floor(rand() * 5)) : undefined)),
    },
    itemBuyers: Float32Array.from({ length: ITEMS }, () => Math.floor(rand() * 30)),
    discountUnit: 2.5,
    parts: new Map(SOURCES.map((s) => [s, randomPart(rand, 10 + Math.floor(rand() * 30))])),
  };
}

/** The same blend scored on a copy of the cache that holds no kept sums (nor any other per-blend state): the plain blend. */
function plain(cache: BlendCache, config: BlendConfig, k: number, from: number, to: number): BlendPart {
  const fresh: BlendCache = { ...cache, parts: new Map(cache.parts), matrix: undefined, fixedNew: undefined, keptSums: undefined };
  return scoreBlendRange(fresh, config, k, from, to);
}

const plainArrays = (p: BlendPart) =>
  Object.fromEntries((['novel', 'all'] as const).map((m) => [m, { ndcg: [...p[m].ndcg], recall: [...p[m].recall], shown: [...p[m].shown] }]));

describe('kept blend sums (blend-sums.ts) against the plain blend', () => {
  it('When random trial sequences move one or more weights, to and from 0, on new and own items, with the discount, modes, k, fullHistoryOrders, ranges and parts changing, Then every trial scores exactly as the plain blend', () => {
    const values = [0, 0, 0.05, 0.1, 0.3, 0.7, 1, 1.3, 2.9];
    for (let seed = 1; seed <= 12; seed++) {
      const rand = mulberry32(seed * 7_717);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
      const cache = randomCache(rand);
      const spare = randomCache(rand);
      const weightsOf = () => ({ cold: Object.fromEntries(SOURCES.map((s) => [s, pick(values)])), warm: Object.fromEntries(SOURCES.map((s) => [s, pick(values)])) });
      let config: BlendConfig = { weights: weightsOf(), repeatWeights: rand() < 0.7 ? weightsOf() : undefined, fullHistoryOrders: 10, popularityDiscount: 0.3 };
      let k = 1 + Math.floor(rand() * 10);
      const ranges: [number, number][] = [[0, USERS], [0, 25], [25, USERS], [7, 32]];
      let range = ranges[0];
      for (let trial = 0; trial < 100; trial++) {
        const next = structuredClone(config);
        const side = next.repeatWeights && rand() < 0.5 ? 'repeatWeights' : 'weights';
        const moves = rand() < 0.8 ? 1 : 2 + Math.floor(rand() * 2);
        for (let m = 0; m < moves; m++) {
          const w = next[side]!;
          const end = pick(['cold', 'warm'] as const);
          const name = pick(SOURCES);
          // Now and then a source leaves the weights or comes back under another key order.
          if (rand() < 0.15) delete (w[end] as Record<string, number>)[name];
          else w[end] = { ...(rand() < 0.2 ? { [name]: pick(values) } : {}), ...w[end], [name]: pick(values) };
        }
        const r = rand();
        if (r < 0.05) next.popularityDiscount = pick([0, 0.2, 0.5, 1]);
        else if (r < 0.08) next.fullHistoryOrders = pick([3, 10, 20]);
        else if (r < 0.1) next.repeatWeights = next.repeatWeights ? undefined : weightsOf();
        else if (r < 0.13) k = 1 + Math.floor(rand() * 10);
        else if (r < 0.16) range = pick(ranges);
        else if (r < 0.18) cache.parts.set(pick(SOURCES), spare.parts.get(pick(SOURCES))!);
        next.modes = pick<EvalMode[] | undefined>([undefined, ['novel'], ['all'], ['all'], ['novel', 'all']]);
        config = next;
        const reused = scoreBlendRange(cache, config, k, range[0], range[1]);
        expect(plainArrays(reused), `seed ${seed} trial ${trial}`).toEqual(plainArrays(plain(cache, config, k, range[0], range[1])));
      }
    }
  });

  it('When differingColumn says two summations sum alike (SAME, or but for a column that scores 0), Then their float32 sums are bit for bit equal; reordered terms are not alike', () => {
    const rand = mulberry32(4_242);
    const width = 6;
    const weights = [0, 0.05, 0.1, 0.3, 0.7, 1.3, 2.9];
    const shuffled = () => [...Array(width).keys()].sort(() => rand() - 0.5);
    let alike = 0;
    let reordered = 0;
    for (let trial = 0; trial < 3_000; trial++) {
      const order = shuffled();
      const thenWs = order.map(() => weights[Math.floor(rand() * weights.length)]);
      // now: then with one column's weight moved and/or that column moved to another place, or the whole order shuffled.
      let nowOrder = [...order];
      const nowWs = [...thenWs];
      const r = rand();
      const at = Math.floor(rand() * width);
      if (r < 0.6) nowWs[at] = weights[Math.floor(rand() * weights.length)];
      if (r > 0.4 && r < 0.8) {
        const [col] = nowOrder.splice(at, 1);
        const [w] = nowWs.splice(at, 1);
        const to = Math.floor(rand() * width);
        nowOrder.splice(to, 0, col);
        nowWs.splice(to, 0, w);
      }
      if (r >= 0.8) nowOrder = shuffled();
      const then = summationOf(Int32Array.from(order), Float64Array.from(thenWs));
      const now = summationOf(Int32Array.from(nowOrder), Float64Array.from(nowWs));
      const diff = differingColumn(then, now);
      for (let row = 0; row < 20; row++) {
        const scores = Float32Array.from({ length: width }, () => (rand() < 0.3 ? 0 : Math.fround(rand())));
        if (diff >= 0) scores[diff] = 0;
        const a = weightedSum(scores, 0, then);
        const b = weightedSum(scores, 0, now);
        if (diff !== OTHER) {
          alike++;
          expect(Object.is(a, b), `trial ${trial}: ${a} vs ${b}`).toBe(true);
        } else if (a !== b) reordered++;
      }
    }
    // Both kinds occur: the check above is not vacuous, and reordering does change float32 sums.
    expect(alike).toBeGreaterThan(10_000);
    expect(reordered).toBeGreaterThan(100);
  });
});
