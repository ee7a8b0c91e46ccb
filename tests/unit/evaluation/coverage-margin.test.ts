import { describe, expect, it } from 'vitest';
import { coverageFloorOf } from '../../../src/evaluation/coverage-estimate.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { DAY, END, T0 } from '../../helpers/taste-groups-shop.js';

// tune.coverageMargin (issue 11, fifty-sixth session): counted over every customer's lists, the windows met the floor
// exactly and the month served fell below it; with the margin the windows are held at minCoverage + margin, where the
// every-customer count is not the sample's (a sample that leaves customers out), and nowhere else.

describe('coverageFloorOf', () => {
  const sampled = { kept: 5_000, customers: 15_246 };
  const everyone = { kept: 4_334, customers: 4_334 };

  it('When the windows count every customer\'s lists of a sample that leaves customers out, Then the floor is minCoverage + margin', () => {
    expect(coverageFloorOf({ minCoverage: 0.3, coverageMargin: 0.07, coverageEstimate: 'every-customer' }, sampled)).toBeCloseTo(0.37, 12);
    expect(coverageFloorOf({ minCoverage: 0.25, coverageMargin: 0.5, coverageEstimate: 'every-customer' }, sampled)).toBe(0.75);
  });

  it('When the floor plus the margin passes 1, Then it is held at 1', () => {
    expect(coverageFloorOf({ minCoverage: 0.8, coverageMargin: 0.5, coverageEstimate: 'every-customer' }, sampled)).toBe(1);
  });

  it('When the sample keeps every customer, the count is the sample\'s or extrapolated, or no margin is set, Then the floor is minCoverage', () => {
    expect(coverageFloorOf({ minCoverage: 0.3, coverageMargin: 0.07, coverageEstimate: 'every-customer' }, everyone)).toBe(0.3);
    expect(coverageFloorOf({ minCoverage: 0.3, coverageMargin: 0.07, coverageEstimate: 'sample' }, sampled)).toBe(0.3);
    expect(coverageFloorOf({ minCoverage: 0.3, coverageMargin: 0.07, coverageEstimate: 'extrapolated' }, sampled)).toBe(0.3);
    expect(coverageFloorOf({ minCoverage: 0.3, coverageMargin: 0.07 }, sampled)).toBe(0.3);
    expect(coverageFloorOf({ minCoverage: 0.3, coverageEstimate: 'every-customer' }, sampled)).toBe(0.3);
    expect(coverageFloorOf({ minCoverage: 0.3, coverageMargin: 0, coverageEstimate: 'every-customer' }, sampled)).toBe(0.3);
  });
});

// The shop of coverage-every-customer.test.ts: 60 customers in three taste groups, two products every 10 days.
const events: PurchaseRow[] = [];
for (let u = 0; u < 60; u++) {
  for (let day = 1 + (u % 7), n = 0; day < 120; day += 10, n++) {
    for (const i of [(u * 7 + n * 3) % 60, (u * 11 + n * 5 + 1) % 60]) events.push({ userId: `u${u}`, itemId: `g${u % 3}-${i}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
  }
}

describe('tune.coverageMargin', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };
  const withTune = (tune: Record<string, unknown>) => parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.3, variants: false, maxCustomers: 20, ...tune } }, 'fixture');
  const end = new Date(END).toISOString();

  it('is a tune field of at most 0.5, absent unless set', () => {
    expect(withTune({ coverageMargin: 0.07 }).tune).toMatchObject({ coverageMargin: 0.07 });
    expect(withTune({}).tune!.coverageMargin).toBeUndefined();
    expect(() => withTune({ coverageMargin: 0.6 })).toThrow();
    expect(() => withTune({ coverageMargin: -0.1 })).toThrow();
  });

  it('When tuning validates 20 of 60 customers on the every-customer count, Then it tunes as minCoverage 0.37 would and the record says the floor held', async () => {
    const margin = await tuneRecipeOn({ events }, withTune({ coverageEstimate: 'every-customer', coverageMargin: 0.07 }), end, undefined, { rounds: 1 });
    const raised = await tuneRecipeOn({ events }, withTune({ coverageEstimate: 'every-customer', minCoverage: 0.3 + 0.07 }), end, undefined, { rounds: 1 });
    const v = margin.validation as RollingValidation;
    expect(v.coverageMargin).toEqual({ minCoverage: 0.3, margin: 0.07, heldAt: 0.3 + 0.07 });
    const { coverageMargin: _, ...rest } = v;
    expect(rest).toEqual(raised.validation);
    expect(margin.recipe.hybrid).toEqual(raised.recipe.hybrid);
  }, 120_000);

  it('When tuning\'s sample keeps every customer (as Online Retail\'s does), Then the margin changes nothing and is not recorded', async () => {
    const everyone = { maxCustomers: 5_000, coverageEstimate: 'every-customer' };
    const margin = await tuneRecipeOn({ events }, withTune({ ...everyone, coverageMargin: 0.07 }), end, undefined, { rounds: 1 });
    const without = await tuneRecipeOn({ events }, withTune(everyone), end, undefined, { rounds: 1 });
    expect(margin).toEqual({ ...without, recipe: { ...without.recipe, tune: { ...without.recipe.tune, coverageMargin: 0.07 } } });
    expect((margin.validation as RollingValidation).coverageMargin).toBeUndefined();
  }, 60_000);
});
