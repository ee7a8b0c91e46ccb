import { describe, expect, it } from 'vitest';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { OWN_SAMPLE_COUNT, tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { DAY, END, T0 } from '../../helpers/taste-groups-shop.js';

// Reviewer r5 (fifty-fifth session, low): a caller's own pre-drawn sample (no population beside it) has no customers
// left out to list, so tune.coverageEstimate `every-customer` silently tuned on the sample's count. The tuning record
// now says so, and the margin meant for every customer's count is not added to the sample's.

const events: PurchaseRow[] = [];
for (let u = 0; u < 60; u++) {
  for (let day = 1 + (u % 7), n = 0; day < 120; day += 10, n++) {
    for (const i of [(u * 7 + n * 3) % 60, (u * 11 + n * 5 + 1) % 60]) events.push({ userId: `u${u}`, itemId: `g${u % 3}-${i}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
  }
}

describe('tune.coverageEstimate every-customer on a caller\'s own sample', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };
  const withTune = (tune: Record<string, unknown>) => parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.3, variants: false, maxCustomers: 20, ...tune } }, 'fixture');
  const end = new Date(END).toISOString();

  it('When the sample of 20 of 60 customers comes without its population, Then it tunes on the sample\'s count, without the margin, and the record says why', async () => {
    const { population: _p, scored: _s, ...own } = sampleCustomers({ events }, 20, Date.parse(end));
    expect(own.kept).toBeLessThan(own.customers);
    const asked = await tuneRecipeOn(own, withTune({ coverageEstimate: 'every-customer', coverageMargin: 0.07 }), end, undefined, { rounds: 1 });
    const sample = await tuneRecipeOn(own, withTune({}), end, undefined, { rounds: 1 });
    const v = asked.validation as RollingValidation;
    expect(v.coverageEstimate).toEqual({ on: 'sample', asked: 'every-customer', reason: OWN_SAMPLE_COUNT });
    expect(v.coverageMargin).toBeUndefined();
    const { coverageEstimate: _, ...rest } = v;
    expect(rest).toEqual(sample.validation);
    expect(asked.recipe.hybrid).toEqual(sample.recipe.hybrid);
  }, 120_000);
});
