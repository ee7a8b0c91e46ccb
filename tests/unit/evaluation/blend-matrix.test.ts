import { describe, expect, it } from 'vitest';
import { mergeBlendParts, scoreBlend, scoreBlendRange, type BlendCache, type SourcePart } from '../../../src/evaluation/blend-cache.js';
import { catalogCoverage, ndcgAt, recallAt } from '../../../src/evaluation/metrics.js';
import type { EvalMode } from '../../../src/evaluation/splits.js';
import { topK } from '../../../src/evaluation/top-k.js';
import { blendedSources, blendWeights, discoveryDiscount, repeatBlendWeights, type HybridConfig } from '../../../src/recommenders/hybrid.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';

const ITEMS = 60;
const USERS = 40;

/** Random sorted-by-score top lists per user for one source, scores in (0, 1] with some ties. */
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
      scores.push(Math.ceil(rand() * 8) / 8);
    }
    indptr[u + 1] = items.length;
  }
  return { indptr, items: Int32Array.from(items), scores: Float32Array.from(scores) };
}

function randomCache(seed: number): BlendCache {
  const rand = mulberry32(seed);
  const set = (n: number) => new Set(Array.from({ length: n }, () => Math.floor(rand() * ITEMS)));
  const trainItems = Array.from({ length: USERS }, () => Int32Array.from(set(Math.floor(rand() * 6))));
  return {
    itemCount: ITEMS,
    users: Array.from({ length: USERS }, (_, j) => j),
    orders: Int32Array.from({ length: USERS }, () => 1 + Math.floor(rand() * 20)),
    trainItems,
    relevant: {
      novel: trainItems.map(() => (rand() < 0.8 ? set(1 + Math.floor(rand() * 4)) : undefined)),
      all: trainItems.map(() => (rand() < 0.9 ? set(1 + Math.floor(rand() * 4)) : undefined)),
    },
    itemBuyers: Float32Array.from({ length: ITEMS }, () => Math.floor(rand() * 30)),
    discountUnit: 2.5,
    parts: new Map([
      ['a', randomPart(rand, 25)],
      ['b', randomPart(rand, 10)],
      ['c', randomPart(rand, 40)],
    ]),
  };
}

/** The blend written the plain way: a catalogue-sized float32 buffer per user, as the hybrid keeps it. */
function naiveScores(cache: BlendCache, config: Pick<HybridConfig, 'weights' | 'repeatWeights' | 'fullHistoryOrders'> & { popularityDiscount: number }, k: number) {
  const discount = discoveryDiscount(cache.itemBuyers, config.popularityDiscount, cache.discountUnit);
  const sums = { novel: { ndcg: 0, recall: 0, users: 0, lists: [] as number[][] }, all: { ndcg: 0, recall: 0, users: 0, lists: [] as number[][] } };
  cache.users.forEach((_, j) => {
    const blended = new Float32Array(cache.itemCount);
    const owned = new Uint8Array(cache.itemCount);
    for (const i of cache.trainItems[j]) owned[i] = 1;
    const full = { ...config, normalisation: 'max', rankDepth: 200 } as HybridConfig;
    const novelWeights = blendWeights(full, cache.orders[j]);
    const ownWeights = repeatBlendWeights(full, cache.orders[j]);
    // Summed in the hybrid's order: sources weighted on new items, then those only on own items.
    for (const name of blendedSources(full, cache.orders[j])) {
      const part = cache.parts.get(name)!;
      for (let p = part.indptr[j]; p < part.indptr[j + 1]; p++) {
        const i = part.items[p];
        blended[i] += (owned[i] ? (ownWeights[name] ?? 0) : (novelWeights[name] ?? 0)) * part.scores[p];
      }
    }
    for (let i = 0; i < cache.itemCount; i++) if (!owned[i]) blended[i] *= discount[i];
    for (const mode of ['novel', 'all'] as const) {
      const relevant = cache.relevant[mode][j];
      if (!relevant) continue;
      const ranked = topK(blended, k, mode === 'novel' ? owned : undefined);
      sums[mode].ndcg += ndcgAt(relevant, ranked, k);
      sums[mode].recall += recallAt(relevant, ranked, k);
      sums[mode].users++;
      sums[mode].lists.push(ranked);
    }
  });
  const of = (mode: 'novel' | 'all') => ({
    ndcg: sums[mode].ndcg / sums[mode].users,
    recall: sums[mode].recall / sums[mode].users,
    coverage: catalogCoverage(sums[mode].lists, cache.itemCount),
    reach: (catalogCoverage(sums[mode].lists, cache.itemCount) * cache.itemCount) / Math.min(cache.itemCount, k * sums[mode].users),
    users: sums[mode].users,
  });
  return { novel: of('novel'), all: of('all') };
}

/** Random weights on new and own items over sources a, b, c, a discount and a list length. */
function randomBlend(rand: () => number) {
  const w = () => Math.round(rand() * 30) / 10;
  const config = {
    weights: { cold: { a: w(), b: w() }, warm: { b: w(), c: w() } },
    repeatWeights: { cold: { c: w() }, warm: { a: w(), c: w() } },
    fullHistoryOrders: 10,
    popularityDiscount: Math.round(rand() * 10) / 10,
  };
  return { config, k: 1 + Math.floor(rand() * 10) };
}

describe('scoreBlend on the candidate matrix', () => {
  it('When weights, discount and history lengths vary, Then it scores exactly as a plain float32 blend', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const cache = randomCache(seed);
      const rand = mulberry32(seed * 7919);
      const w = () => Math.round(rand() * 30) / 10;
      const config = {
        weights: { cold: { a: w(), b: w(), c: w() }, warm: { c: w(), a: w(), b: w() } },
        fullHistoryOrders: 10,
        popularityDiscount: rand() < 0.3 ? 0 : Math.round(rand() * 10) / 10,
      };
      const k = 1 + Math.floor(rand() * 10);
      expect(scoreBlend(cache, config, k)).toEqual(naiveScores(cache, config, k));
    }
  });

  it('When scoring a blend fails half way, Then the next blend still counts every item its lists show', () => {
    const cache = randomCache(3);
    const config = { weights: { cold: { a: 1, b: 0.5 }, warm: { b: 1, c: 2 } }, fullHistoryOrders: 10, popularityDiscount: 0.3 };
    const expected = scoreBlend(cache, config, 5);
    // A later user's relevant set throws once that user's list is being counted (items of earlier lists are marked shown by then).
    const j = cache.relevant.novel.reduce((last, r, at) => (r !== undefined ? at : last), -1);
    const kept = cache.relevant.novel[j];
    cache.relevant.novel[j] = { size: 1, has: () => { throw new Error('boom'); } } as unknown as ReadonlySet<number>;
    expect(() => scoreBlend(cache, config, 5)).toThrow('boom');
    cache.relevant.novel[j] = kept;
    expect(scoreBlend(cache, config, 5)).toEqual(expected);
  });

  it('When own items have weights of their own, Then they rank by those, new items as before, and it still scores exactly as a plain blend', () => {
    let changedAll = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const cache = randomCache(seed);
      const rand = mulberry32(seed * 104_729);
      const w = () => Math.round(rand() * 30) / 10;
      const base = { weights: { cold: { a: w(), b: w() }, warm: { b: w(), a: w() } }, fullHistoryOrders: 10, popularityDiscount: Math.round(rand() * 10) / 10 };
      // c is weighted only on own items: it must reach repurchases and nothing else.
      const config = { ...base, repeatWeights: { cold: { c: w(), a: w() }, warm: { c: w(), b: w() } } };
      const k = 1 + Math.floor(rand() * 10);
      const scores = scoreBlend(cache, config, k);
      expect(scores).toEqual(naiveScores(cache, config, k));
      const without = scoreBlend(cache, base, k);
      expect(scores.novel).toEqual(without.novel);
      if (scores.all.ndcg !== without.all.ndcg) changedAll++;
    }
    expect(changedAll).toBeGreaterThan(10);
  });

  it('When a trial is judged by one mode, Then that mode scores exactly as when both are scored, and the other is left at 0', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const cache = randomCache(seed);
      const rand = mulberry32(seed * 31_337);
      const { config, k } = randomBlend(rand);
      const both = naiveScores(cache, config, k);
      const none = { ndcg: 0, recall: 0, coverage: 0, reach: 0, users: 0 };
      expect(scoreBlend(cache, { ...config, modes: ['novel'] }, k)).toEqual({ novel: both.novel, all: none });
      expect(scoreBlend(cache, { ...config, modes: ['all'] }, k)).toEqual({ novel: none, all: both.all });
    }
  });

  it('When a search moves only the weights on own items, Then every all-mode trial scores exactly as a plain blend, also after the weights on new items, the discount, a part or k change', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const cache = randomCache(seed);
      const rand = mulberry32(seed * 7_727);
      let { config, k } = randomBlend(rand);
      const check = (from = 0, to = USERS) => {
        // Scored in two ranges, as two fold threads would: each fills the best new items of its own users.
        const parts = [scoreBlendRange(cache, { ...config, modes: ['all'] }, k, from, to), scoreBlendRange(cache, { ...config, modes: ['all'] }, k, 0, from)];
        expect(mergeBlendParts([parts[1], parts[0]], ITEMS, k).all).toEqual(naiveScores(cache, config, k).all);
      };
      const w = () => Math.round(rand() * 30) / 10;
      for (let trial = 0; trial < 12; trial++) {
        // Mostly the own-item weights, as the all-mode search does; now and then what it holds fixed.
        if (trial % 4 === 3) {
          const next = randomBlend(rand).config;
          config = trial % 8 === 3 ? { ...config, weights: next.weights } : { ...config, popularityDiscount: next.popularityDiscount };
        } else config = { ...config, repeatWeights: { cold: { c: w() }, warm: { a: w(), c: w() } } };
        if (trial === 5) cache.parts.set('a', randomCache(seed + 100).parts.get('a')!);
        if (trial === 9) k = 1 + ((k + 3) % 10);
        check(Math.floor(rand() * (USERS + 1)));
      }
    }
  });

  it('When a source part is replaced, Then the next blend uses the new part', () => {
    const cache = randomCache(3);
    const config = { weights: { cold: { b: 1 }, warm: { b: 1 } }, fullHistoryOrders: 10, popularityDiscount: 0 };
    const before = scoreBlend(cache, config, 10);
    cache.parts.set('b', randomCache(4).parts.get('b')!);
    const after = scoreBlend(cache, config, 10);
    expect(after).toEqual(naiveScores(cache, config, 10));
    expect(after).not.toEqual(before);
  });

  it('When the users are scored in ranges (as fold threads share them) and merged in user order, Then the scores are exactly the whole blend\'s', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const cache = randomCache(seed);
      const rand = mulberry32(seed * 65_537);
      const { config, k } = randomBlend(rand);
      // Two to four ranges, with an empty one now and then.
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => Math.floor(rand() * (USERS + 1))).sort((x, y) => x - y);
      const bounds = [0, ...cuts, USERS];
      const parts = bounds.slice(1).map((to, r) => scoreBlendRange(cache, config, k, bounds[r], to));
      expect(mergeBlendParts(parts, ITEMS, k)).toEqual(naiveScores(cache, config, k));
    }
  });

  it('When a search changes one source\'s weight at a time, now and then two, the discount or the modes, Then every trial on the same cache scores exactly as a plain blend', () => {
    const none = { ndcg: 0, recall: 0, coverage: 0, reach: 0, users: 0 };
    for (let seed = 1; seed <= 12; seed++) {
      const cache = randomCache(seed);
      const rand = mulberry32(seed * 2_203);
      let { config, k } = randomBlend(rand);
      const values = [0, 0.05, 0.3, 1.2, 3];
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
      for (let trial = 0; trial < 40; trial++) {
        // As coordinate descent: one weight of one source on new or own items; every fifth trial two sources or the discount.
        const side = rand() < 0.5 ? 'weights' : 'repeatWeights';
        const moved = { ...config, [side]: { cold: { ...config[side].cold }, warm: { ...config[side].warm } } };
        const move = () => ((moved[side][pick(['cold', 'warm'] as const)] as Record<string, number>)[pick(['a', 'b', 'c'])] = pick(values));
        move();
        if (trial % 5 === 4) {
          if (rand() < 0.5) move();
          else moved.popularityDiscount = pick([0, 0.3, 0.7]);
        }
        if (Object.values(moved.weights.cold).every((w) => w === 0) || Object.values(moved.weights.warm).every((w) => w === 0)) continue;
        config = moved;
        const modes: EvalMode[] = pick([['novel'], ['all'], ['novel', 'all']]);
        const expected = naiveScores(cache, config, k);
        const scored = scoreBlend(cache, { ...config, modes }, k);
        expect(scored).toEqual({ novel: modes.includes('novel') ? expected.novel : none, all: modes.includes('all') ? expected.all : none });
        if (trial === 20) k = 1 + ((k + 4) % 10);
      }
    }
  });

  it('When the parts change between two blends (a fold keeps another candidate) or another fold scores next, Then no sum kept for the old parts is read', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const cache = randomCache(seed);
      const other = randomCache(seed + 50);
      const first = { weights: { cold: { a: 1, b: 0.5, c: 0.3 }, warm: { a: 2, b: 1, c: 0.8 } }, fullHistoryOrders: 10, popularityDiscount: 0.3 };
      // Differs from the first in source b only: sums kept for candidates b does not list would be read again.
      const second = { ...first, weights: { cold: { ...first.weights.cold, b: 1.2 }, warm: { ...first.weights.warm, b: 0.05 } } };
      scoreBlend(cache, first, 5);
      cache.parts.set('a', other.parts.get('a')!);
      cache.parts.set('c', other.parts.get('c')!);
      expect(scoreBlend(cache, second, 5)).toEqual(naiveScores(cache, second, 5));
      scoreBlend(other, first, 5);
      const third = randomCache(seed + 90);
      third.keptSums = other.keptSums;
      expect(scoreBlend(third, second, 5)).toEqual(naiveScores(third, second, 5));
    }
  });
});
