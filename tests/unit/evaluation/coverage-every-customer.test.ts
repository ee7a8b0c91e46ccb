import { describe, expect, it } from 'vitest';
import { RollingFold, withRowsOf, type FoldBlend, type FoldSpec } from '../../../src/evaluation/rolling-fold.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { DAY, END, T0 } from '../../helpers/taste-groups-shop.js';

// tune.coverageEstimate `every-customer` (issue 11, fifty-fifth session): a window's novel coverage counts the lists of
// every customer of the window, the sample's and those it left out, as the held-out month counts them (bench/README
// "Why tuning's window coverage does not predict held-out coverage"); accuracy stays the sample's.

// 60 customers in three groups of 60 products, two products every 10 days, each in an order of their own (the shop of
// coverage-estimate.test.ts): many buy something new in the last 30 days, and lists differ by customer.
const events: PurchaseRow[] = [];
for (let u = 0; u < 60; u++) {
  for (let day = 1 + (u % 7), n = 0; day < 120; day += 10, n++) {
    for (const i of [(u * 7 + n * 3) % 60, (u * 11 + n * 5 + 1) % 60]) events.push({ userId: `u${u}`, itemId: `g${u % 3}-${i}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
  }
}

describe('withRowsOf', () => {
  it('When users 1 and 3 of 4 are listed apart, Then their rows come, in order, from the listed part and the others stay', () => {
    const part = { indptr: Int32Array.from([0, 2, 2, 3, 3]), items: Int32Array.from([7, 8, 9]), scores: Float32Array.from([1, 0.5, 1]) };
    const listed = { indptr: Int32Array.from([0, 1, 3]), items: Int32Array.from([4, 5, 6]), scores: Float32Array.from([1, 1, 0.25]) };
    const merged = withRowsOf(part, listed, Uint8Array.from([0, 1, 0, 1]));
    expect([...merged.indptr]).toEqual([0, 2, 3, 4, 6]);
    expect([...merged.items]).toEqual([7, 8, 4, 9, 5, 6]);
    expect([...merged.scores]).toEqual([1, 0.5, 1, 1, 1, 0.25]);
  });
});

describe('a fold counting every customer\'s lists for coverage', () => {
  const spec: FoldSpec = { end: new Date(END).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: 200 };
  const scored = Array.from({ length: 20 }, (_, u) => `u${u}`);
  const blend: FoldBlend = { weights: { cold: { 'item-knn': 1 }, warm: { 'item-knn': 1 } } };
  const fitted = (fold: RollingFold) => {
    fold.fit('item-knn', 'item-knn', { neighbours: 5, shrink: 0 }, 0);
    fold.keep('item-knn', 0);
    return fold;
  };

  it('When a population-fitted source is blended, Then coverage and reach are those of every customer\'s lists, accuracy the sample\'s', () => {
    const counted = fitted(new RollingFold({ events }, { ...spec, scored, coverageEstimate: 'every-customer' }));
    const sample = fitted(new RollingFold({ events }, { ...spec, scored }));
    const everyone = fitted(new RollingFold({ events }, spec));
    const s = counted.score(blend);
    const e = everyone.score(blend);
    const own = sample.score(blend);
    // item-knn is fitted on every customer's purchases either way, so every customer's lists are the same lists.
    expect(s.novel.coverage).toBe(e.novel.coverage);
    expect(s.novel.reach).toBe(e.novel.reach);
    expect(s.novel.coverage).toBeGreaterThan(own.novel.coverage);
    expect(s.novel.users).toBe(own.novel.users);
    expect(s.novel.ndcg).toBe(own.novel.ndcg);
    // The lists with repurchases are the sample's alone.
    expect(s.all).toEqual(own.all);
    // The fold counts the sample's customers as its validation users, the others apart (a thread's share ranges over both).
    const info = counted.info();
    expect(info.users).toBe(sample.info().users);
    expect(info.novelUsers).toBe(sample.info().novelUsers);
    expect(info.users + info.listedOnly!).toBeGreaterThan(info.users);
    expect(info.novelUsers + info.listedOnly!).toBe(everyone.info().novelUsers);
    // A range of users scored apart and merged gives the same scores (fold threads).
    const half = Math.floor((info.users + info.listedOnly!) / 2);
    expect(sample.info().listedOnly).toBeUndefined();
    expect(counted.scoreRange(blend, 0, half).novel.listedOnly! + counted.scoreRange(blend, half, info.users + info.listedOnly!).novel.listedOnly!).toBe(info.listedOnly);
  });

  it('When products come in groups and some customer left out bought only products of groups they had, Then only the customers with a novel list are listed', () => {
    // Seven or eight products to a group: a customer's window purchases are often of groups bought before (no novel list).
    const items = Array.from({ length: 180 }, (_, n) => ({ id: `g${Math.floor(n / 60)}-${n % 60}`, title: 't', categories: [], price: null, attributes: {}, available: true, itemGroupId: `g${Math.floor(n / 60)}-${n % 8}` }));
    const counted = fitted(new RollingFold({ events, items }, { ...spec, scored, coverageEstimate: 'every-customer' }));
    const everyone = fitted(new RollingFold({ events, items }, spec));
    const info = counted.info();
    expect(info.novelUsers + info.listedOnly!).toBe(everyone.info().novelUsers);
    expect(everyone.info().novelUsers).toBeLessThan(everyone.info().users);
    expect(counted.score(blend).novel.coverage).toBe(everyone.score(blend).novel.coverage);
  });

  it('When a source is fitted on the sample, Then the customers it left out get its lists as unknown customers do, and accuracy stays the sample\'s', () => {
    const fold = new RollingFold({ events }, { ...spec, scored, coverageEstimate: 'every-customer' });
    fold.fit('als', 'als', { factors: 4, iterations: 3, seed: 1 }, 0);
    // ALS is fitted on the sample's purchases only: the sampled fold has no row for a customer it left out, so each
    // listed one's row is their scoring from their own purchases (ALS folds them in), never empty.
    const part = fold.candidatePart('als', 0);
    const listedOnly = fold.cache.listedOnly!;
    const rows = (flag: number) => [...listedOnly].flatMap((x, j) => (x === flag ? [part.indptr[j + 1] - part.indptr[j]] : []));
    expect(rows(1).length).toBe(fold.info().listedOnly);
    expect(Math.min(...rows(1))).toBeGreaterThan(0);
    fold.keep('als', 0);
    const sample = new RollingFold({ events }, { ...spec, scored });
    sample.fit('als', 'als', { factors: 4, iterations: 3, seed: 1 }, 0);
    sample.keep('als', 0);
    const alsBlend: FoldBlend = { weights: { cold: { als: 1 }, warm: { als: 1 } } };
    const counted = fold.score(alsBlend);
    const own = sample.score(alsBlend);
    expect(counted.novel.coverage).toBeGreaterThanOrEqual(own.novel.coverage);
    expect(counted.novel.ndcg).toBe(own.novel.ndcg);
    expect(counted.all).toEqual(own.all);
  });
});

describe('tune.coverageEstimate every-customer', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };
  const withTune = (tune: Record<string, unknown>) => parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.3, variants: false, maxCustomers: 20, ...tune } }, 'fixture');
  const end = new Date(END).toISOString();

  it('is a tune field', () => {
    expect(withTune({ coverageEstimate: 'every-customer' }).tune).toMatchObject({ coverageEstimate: 'every-customer' });
  });

  it('When tuning validates 20 of 60 customers, Then the windows count every customer\'s novel lists, and 2 fold threads tune as one', async () => {
    const log: string[] = [];
    const counted = await tuneRecipeOn({ events }, withTune({ coverageEstimate: 'every-customer' }), end, (m) => log.push(m), { rounds: 1 });
    const sample = (await tuneRecipeOn({ events }, withTune({}), end, undefined, { rounds: 1 })).validation as RollingValidation;
    const v = counted.validation as RollingValidation;
    expect(log.some((m) => /customers the sample left out listed for coverage/.test(m))).toBe(true);
    expect(v.scores.novel.coverage).toBeGreaterThan(sample.scores.novel.coverage);
    expect(v.scores.all.users).toBe(sample.scores.all.users);
    const threaded = await tuneRecipeOn({ events }, withTune({ coverageEstimate: 'every-customer' }), end, undefined, { rounds: 1, threads: 2 });
    expect(threaded).toEqual(counted);
  }, 120_000);

  it('When tuning\'s sample keeps every customer (as Online Retail\'s does), Then it tunes exactly as sample does', async () => {
    const everyone = { maxCustomers: 5_000 };
    const counted = await tuneRecipeOn({ events }, withTune({ ...everyone, coverageEstimate: 'every-customer' }), end, undefined, { rounds: 1 });
    const sample = await tuneRecipeOn({ events }, withTune(everyone), end, undefined, { rounds: 1 });
    expect(counted).toEqual({ ...sample, recipe: { ...sample.recipe, tune: { ...sample.recipe.tune, coverageEstimate: 'every-customer' } } });
  }, 60_000);
});
