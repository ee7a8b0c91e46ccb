import { describe, expect, it } from 'vitest';
import type { LeftOutJudgement } from '../../../src/evaluation/keep-on.js';
import { RollingFold, type FoldBlend, type FoldSpec } from '../../../src/evaluation/rolling-fold.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { DAY, END, T0 } from '../../helpers/taste-groups-shop.js';

// tune.keepOn `left-out` with tune.coverageEstimate `extrapolated` (the two options of issue 11 merged in 39e486c2):
// the left-out customers' windows count coverage as every customer's lists would reach it, as the sample's do, so the
// keep rule compares the blend and the single sources on the same measure wherever it judges.

// 60 customers in three groups of 60 products, two products every 10 days, each customer in an order of their own
// (the shop of coverage-estimate.test.ts): many buy something new in the last 30 days, and lists differ by customer.
const events: PurchaseRow[] = [];
for (let u = 0; u < 60; u++) {
  for (let day = 1 + (u % 7), n = 0; day < 120; day += 10, n++) {
    for (const i of [(u * 7 + n * 3) % 60, (u * 11 + n * 5 + 1) % 60]) events.push({ userId: `u${u}`, itemId: `g${u % 3}-${i}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
  }
}

describe('a fold validating left-out customers apart, with coverage extrapolated', () => {
  const spec: FoldSpec = { end: new Date(END).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: 200 };
  const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, u) => `u${from + u}`);
  const scored = ids(0, 20);
  const leftOut = ids(20, 40);
  const blend: FoldBlend = { weights: { cold: { 'item-knn': 1 }, warm: { 'item-knn': 1 } } };
  const fitted = (fold: RollingFold) => {
    fold.fit('item-knn', 'item-knn', { neighbours: 5, shrink: 0 }, 0);
    fold.keep('item-knn', 0);
    return fold;
  };

  it('When a population-fitted source is scored on the left-out customers, Then coverage and reach are those of a fold validating only them, extrapolated to every customer', () => {
    const both = fitted(new RollingFold({ events }, { ...spec, scored, leftOut, coverageEstimate: 'extrapolated' }));
    const asSample = fitted(new RollingFold({ events }, { ...spec, scored: leftOut, coverageEstimate: 'extrapolated' }));
    const counted = fitted(new RollingFold({ events }, { ...spec, scored: leftOut }));
    const judged = both.scoreLeftOut(blend);
    const expected = asSample.score(blend);
    for (const mode of ['novel', 'all'] as const) {
      expect(judged[mode].users).toBe(expected[mode].users);
      expect(judged[mode].coverage).toBe(expected[mode].coverage);
      expect(judged[mode].reach).toBe(expected[mode].reach);
      expect(judged[mode].ndcg).toBe(expected[mode].ndcg);
    }
    // Extrapolated, not the 20 lists' own count (else the keep rule would judge the sources on another measure than the sample's).
    expect(judged.all.coverage).toBeGreaterThan(counted.score(blend).all.coverage);
  });
});

describe('tune.keepOn left-out and tune.coverageEstimate extrapolated together', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };
  const tuneOn = (tune: Record<string, unknown>, threads?: number) =>
    tuneRecipeOn({ events }, parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.3, variants: false, maxCustomers: 20, ...tune } }, 'both'), new Date(END).toISOString(), undefined, { rounds: 1, ...(threads ? { threads } : {}) });

  it('When both are set, Then the search is extrapolated coverage\'s alone, the keep rule judges 20 left-out customers, and 2 fold threads tune as one', async () => {
    const both = await tuneOn({ coverageEstimate: 'extrapolated', keepOn: 'left-out' });
    const extrapolated = await tuneOn({ coverageEstimate: 'extrapolated' });
    const v = both.validation as RollingValidation;
    const e = extrapolated.validation as RollingValidation;
    const judged = v.keepOn as LeftOutJudgement;
    expect(judged).toMatchObject({ on: 'left-out', customers: 20 });
    // The same search on the sample (the same blend, served or rejected), and the sample's decision is extrapolated coverage's alone.
    const blend = (r: RollingValidation, recipe: typeof both.recipe) => r.rejectedBlend ?? { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: recipe.hybrid.popularityDiscount };
    expect(blend(v, both.recipe)).toEqual(blend(e, extrapolated.recipe));
    expect(v.modes).toEqual(e.modes);
    expect(judged.sampleKeptBy).toEqual(e.keptBy);
    expect(judged.modes.blend).not.toEqual(v.modes!.blend);
    // Fold threads carry both parts (the sample's and the left-out customers'), each with its lists' incidence.
    const threaded = await tuneOn({ coverageEstimate: 'extrapolated', keepOn: 'left-out' }, 2);
    expect(threaded).toEqual(both);
  }, 240_000);
});

// Reviewer r5 (fifty-fifth session, low): with `every-customer` the floor is held on every customer's lists, but the
// keep rule's left-out judgement priced coverage on the 20 left-out customers' own lists, another count.
describe('tune.keepOn left-out and tune.coverageEstimate every-customer together', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };

  it('When every customer\'s lists meet the floor (0.4) that the 20 left-out customers\' own lists miss, Then the left-out judgement charges no coverage shortfall, as the sample\'s does', async () => {
    const tuned = await tuneRecipeOn({ events }, parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.4, maxCoverageCost: 1, variants: false, maxCustomers: 20, coverageEstimate: 'every-customer', keepOn: 'left-out' } }, 'both'), new Date(END).toISOString(), undefined, { rounds: 1 });
    const v = tuned.validation as RollingValidation;
    const judged = v.keepOn as LeftOutJudgement;
    expect(judged).toMatchObject({ on: 'left-out', customers: 20 });
    // On the sample's judgement (every customer's count) neither the blend nor item-knn falls short of 0.4.
    expect(v.modes!.blend.novelShortfall).toBeUndefined();
    expect(v.modes!.sources['item-knn'].novelShortfall).toBeUndefined();
    // Before: the left-out customers' own lists were charged 0.111 (blend) and 0.167 (item-knn).
    expect(judged.modes.blend.novelShortfall).toBeUndefined();
    expect(judged.modes.sources['item-knn'].novelShortfall).toBeUndefined();
    // Accuracy stays the left-out customers' own.
    expect(judged.modes.blend.novel).not.toEqual(v.modes!.blend.novel);
  }, 120_000);
});
