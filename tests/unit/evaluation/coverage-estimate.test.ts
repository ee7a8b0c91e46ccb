import { describe, expect, it } from 'vitest';
import { mergeBlendParts, type BlendPart, type ModePart } from '../../../src/evaluation/blend-cache.js';
import { extrapolatedDistinct, unseenItems } from '../../../src/evaluation/coverage-estimate.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { DAY, END, T0 } from '../../helpers/taste-groups-shop.js';

describe('extrapolatedDistinct: Chao2 incidence extrapolation of the distinct items of more lists', () => {
  it('When some items are shown by exactly two lists, Then Q0 = (T-1)/T * Q1^2 / (2 Q2) and the curve rises toward S + Q0', () => {
    // T = 4 lists showed 5 distinct items, 2 of them in one list only, 1 in exactly two.
    // Q0 = 3/4 * 2^2 / (2 * 1) = 1.5; Q1 / (T Q0 + Q1) = 2 / (6 + 2) = 0.25.
    const s = { lists: 4, distinct: 5, once: 2, twice: 1 };
    expect(unseenItems(s)).toBe(1.5);
    // 6 lists: t* = 2, 5 + 1.5 * (1 - 0.75^2) = 5 + 1.5 * 0.4375 = 5.65625.
    expect(extrapolatedDistinct(s, 6)).toBeCloseTo(5.65625, 12);
    // Many more lists: at most S + Q0 = 6.5.
    expect(extrapolatedDistinct(s, 10_000)).toBeCloseTo(6.5, 12);
    // Never above the catalogue.
    expect(extrapolatedDistinct(s, 6, 5.5)).toBe(5.5);
  });

  it('When no item is shown by exactly two lists, Then Q0 = (T-1)/T * Q1 (Q1 - 1) / 2', () => {
    // T = 5, S = 3, Q1 = 3, Q2 = 0: Q0 = 4/5 * 3 * 2 / 2 = 2.4; Q1 / (T Q0 + Q1) = 3 / (12 + 3) = 0.2.
    const s = { lists: 5, distinct: 3, once: 3, twice: 0 };
    expect(unseenItems(s)).toBeCloseTo(2.4, 12);
    // 7 lists: t* = 2, 3 + 2.4 * (1 - 0.8^2) = 3 + 2.4 * 0.36 = 3.864.
    expect(extrapolatedDistinct(s, 7)).toBeCloseTo(3.864, 12);
  });

  it('When every item was shown twice or more, or there are no more lists than the sample\'s, Then the sample\'s count stands', () => {
    expect(extrapolatedDistinct({ lists: 4, distinct: 5, once: 0, twice: 3 }, 400)).toBe(5);
    expect(extrapolatedDistinct({ lists: 4, distinct: 5, once: 2, twice: 1 }, 4)).toBe(5);
    expect(extrapolatedDistinct({ lists: 4, distinct: 5, once: 2, twice: 1 }, 3)).toBe(5);
    expect(extrapolatedDistinct({ lists: 1, distinct: 10, once: 10, twice: 0 }, 40)).toBe(10);
  });
});

describe('mergeBlendParts with the lists every customer would get', () => {
  const mode = (lists: number, shown: number[], incidence: number[], extra: Partial<ModePart> = {}): ModePart => ({
    ndcg: new Float64Array(lists),
    recall: new Float64Array(lists),
    shown: Int32Array.from(shown),
    itemCount: 10,
    ...extra,
    ...(extra.lists !== undefined ? { incidence: Int32Array.from(incidence) } : {}),
  });
  const part = (m: ModePart): BlendPart => ({ novel: m, all: m });

  it('When two threads\' parts are merged, Then the incidence is summed item by item before it is extrapolated', () => {
    // Part A: 2 lists, items 0 and 1 in one list each, item 2 in both. Part B: 2 lists, items 2 and 3 once each.
    // Merged: T = 4 lists; item 0: 1, item 1: 1, item 2: 3, item 3: 1 -> S = 4, Q1 = 3, Q2 = 0.
    // Q0 = 3/4 * 3 * 2 / 2 = 2.25; Q1 / (T Q0 + Q1) = 3 / (9 + 3) = 0.25; 8 lists: t* = 4.
    // S(8) = 4 + 2.25 * (1 - 0.75^4) = 4 + 2.25 * 0.68359375 = 5.5380859375; over 10 items: 0.55380859375.
    const parts = [part(mode(2, [0, 1, 2], [1, 1, 2], { lists: 8 })), part(mode(2, [2, 3], [1, 1], { lists: 8 }))];
    const scores = mergeBlendParts(parts, 10, 10);
    expect(scores.novel.coverage).toBeCloseTo(0.55380859375, 12);
    // Reach: the most 8 lists of 10 could show is the catalogue (10), so it is the coverage.
    expect(scores.novel.reach).toBeCloseTo(0.55380859375, 12);
    expect(scores.novel.users).toBe(4);
    // Without the lists the sample's own count: 4 of 10.
    const sample = mergeBlendParts([part(mode(2, [0, 1, 2], [])), part(mode(2, [2, 3], []))], 10, 10);
    expect(sample.novel.coverage).toBe(0.4);
  });
});

describe('tune.coverageEstimate reaches tuning from a recipe', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };
  const withTune = (tune: Record<string, unknown>) => parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.3, variants: false, maxCustomers: 20, ...tune } }, 'fixture');
  // 60 customers in three groups of 60 products, two products every 10 days, each customer in an order of their own:
  // many buy something new in the last 30 days, and some products are listed to one customer of the sample only.
  const events: PurchaseRow[] = [];
  for (let u = 0; u < 60; u++) {
    for (let day = 1 + (u % 7), n = 0; day < 120; day += 10, n++) {
      for (const i of [(u * 7 + n * 3) % 60, (u * 11 + n * 5 + 1) % 60]) events.push({ userId: `u${u}`, itemId: `g${u % 3}-${i}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
    }
  }

  it('is a tune field: absent unless set, a misspelt value refused by its path', () => {
    for (const coverageEstimate of ['sample', 'extrapolated']) expect(parseRecipe({ ...raw, tune: { coverageEstimate } }, 'r').tune).toMatchObject({ coverageEstimate });
    expect(parseRecipe({ ...raw, tune: { folds: 3 } }, 'r').tune).not.toHaveProperty('coverageEstimate');
    expect(() => parseRecipe({ ...raw, tune: { coverageEstimate: 'chao2' } }, 'bad')).toThrow(/tune\.coverageEstimate/);
  });

  it('extrapolated: When tuning validates 20 of 60 customers, Then the windows count coverage as every customer\'s lists would reach it, above the sample\'s count', async () => {
    const end = new Date(END).toISOString();
    const extrapolated = (await tuneRecipeOn({ events }, withTune({ coverageEstimate: 'extrapolated' }), end, undefined, { rounds: 1 })).validation as RollingValidation;
    const sample = (await tuneRecipeOn({ events }, withTune({}), end, undefined, { rounds: 1 })).validation as RollingValidation;
    expect(sample.scores.all.coverage).toBeGreaterThan(0);
    // Every customer's lists with repurchases show more than the sample's 20 ...
    expect(extrapolated.scores.all.coverage).toBeGreaterThan(sample.scores.all.coverage);
    expect(extrapolated.scores.novel.coverage).toBeGreaterThanOrEqual(sample.scores.novel.coverage);
    // ... counted from the same customers' lists: accuracy is measured as before.
    expect(extrapolated.scores.all.users).toBe(sample.scores.all.users);
    expect(extrapolated.scores.all.ndcg).toBe(sample.scores.all.ndcg);
    // Fold threads carry each part's incidence and merge it: the same tuning on 2 threads.
    const threaded = (await tuneRecipeOn({ events }, withTune({ coverageEstimate: 'extrapolated' }), end, undefined, { rounds: 1, threads: 2 })).validation as RollingValidation;
    expect(threaded.scores).toEqual(extrapolated.scores);
  }, 120_000);

  it('extrapolated: When tuning\'s sample keeps every customer (as Online Retail\'s does), Then it tunes exactly as sample does', async () => {
    const end = new Date(END).toISOString();
    const everyone = { maxCustomers: 5_000 };
    const extrapolated = await tuneRecipeOn({ events }, withTune({ ...everyone, coverageEstimate: 'extrapolated' }), end, undefined, { rounds: 1 });
    const sample = await tuneRecipeOn({ events }, withTune(everyone), end, undefined, { rounds: 1 });
    expect(extrapolated).toEqual({ ...sample, recipe: { ...sample.recipe, tune: { ...sample.recipe.tune, coverageEstimate: 'extrapolated' } } });
  }, 60_000);
});
