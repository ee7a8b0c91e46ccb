import { describe, expect, it } from 'vitest';
import { catalogueKeysBefore } from '../../../src/evaluation/coverage-catalogue.js';
import { purchaseColumnsOf } from '../../../src/evaluation/purchase-columns.js';
import { tuneRollingOrigin } from '../../../src/evaluation/rolling-tune.js';
import type { ItemInfo, PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { DAY, END, T0, tasteGroupPurchases } from '../../helpers/taste-groups-shop.js';

const item = (id: string, itemGroupId?: string): ItemInfo => ({ id, title: id, categories: [], price: null, attributes: {}, available: true, ...(itemGroupId ? { itemGroupId } : {}) });
const buy = (userId: string, itemId: string, day: number): PurchaseRow => ({ userId, itemId, orderId: `${userId}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });

describe('catalogueKeysBefore', () => {
  const rows = [buy('u1', 'coat-s', 1), buy('u1', 'coat-m', 2), buy('u2', 'scarf', 3), buy('u2', 'belt', 4), buy('u3', 'hat-s', 10)];
  const items = [item('coat-s', 'coat'), item('coat-m', 'coat'), item('coat-l', 'coat'), item('hat-s', 'hat'), item('scarf'), item('belt')];

  it('counts each group bought before the instant once and each product in no group once, as a split counts its catalogue', () => {
    // Before day 5: the coat group (two sizes bought), the scarf and the belt; the hat is bought on day 10; coat-l never.
    expect(catalogueKeysBefore(purchaseColumnsOf(rows), items, T0 + 5 * DAY)).toBe(3);
    expect(catalogueKeysBefore(purchaseColumnsOf(rows), items, T0 + 11 * DAY)).toBe(4);
    // A purchase at the instant itself is not before it.
    expect(catalogueKeysBefore(purchaseColumnsOf(rows), items, T0 + 10 * DAY)).toBe(3);
  });

  it('counts products when the catalogue has no groups (or is not given)', () => {
    expect(catalogueKeysBefore(purchaseColumnsOf(rows), undefined, T0 + 5 * DAY)).toBe(4);
    expect(catalogueKeysBefore(purchaseColumnsOf(rows), [item('coat-s'), item('coat-m')], T0 + 11 * DAY)).toBe(5);
  });
});

describe('tune.coverageCatalogue: what tuning counts coverage against', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, 'item-knn': 1 } } },
  };
  const options = { folds: 1, days: 30, end: new Date(END).toISOString(), grid: [0, 1], discountGrid: [0], rounds: 1, minCoverage: 0.3, coverageCatalogue: 'served' as const };
  // A new customer buys ten products nobody bought before, 5 days before the end: inside the window, so no list
  // of the window can show them (its sources learn before the window), yet the served model's catalogue holds them.
  const late = Array.from({ length: 10 }, (_, j) => ({ userId: 'newcomer', itemId: `late${j}`, orderId: 'newcomer-1', ts: END - 5 * DAY, quantity: 1, price: null }));

  it('served: When products are first bought inside the window, Then the window lists the same items and its coverage is counted against them too', async () => {
    const recipe = parseRecipe(raw, 'fixture');
    const shop = tasteGroupPurchases();
    const before = await tuneRollingOrigin({ events: shop }, recipe, raw, options);
    const after = await tuneRollingOrigin({ events: [...shop, ...late] }, recipe, raw, options);
    const served = catalogueKeysBefore(purchaseColumnsOf(shop), undefined, END);
    // The same lists (the newcomer is no validation customer and the sources learn before the window) ...
    expect(after.recipe).toEqual(before.recipe);
    expect(after.validation.scores.novel.ndcg).toBe(before.validation.scores.novel.ndcg);
    // ... showing the same items, a share of a catalogue ten products larger.
    expect(before.validation.scores.novel.coverage).toBeGreaterThan(0);
    expect(after.validation.scores.novel.coverage).toBeCloseTo((before.validation.scores.novel.coverage * served) / (served + 10), 12);
    // Fold threads merge their customers' parts with the same catalogue: the same tuning on 2 threads.
    expect(await tuneRollingOrigin({ events: [...shop, ...late] }, recipe, raw, { ...options, threads: 2 })).toEqual(after);
  });

  it('window (the default): When products are first bought inside the window, Then coverage is counted against the window\'s own catalogue, unchanged', async () => {
    const recipe = parseRecipe(raw, 'fixture');
    const shop = tasteGroupPurchases();
    const { coverageCatalogue: _, ...byWindow } = options;
    const before = await tuneRollingOrigin({ events: shop }, recipe, raw, byWindow);
    const after = await tuneRollingOrigin({ events: [...shop, ...late] }, recipe, raw, byWindow);
    expect(before.validation.scores.novel.coverage).toBeGreaterThan(0);
    expect(after.validation.scores.novel.coverage).toBe(before.validation.scores.novel.coverage);
    expect(after.recipe).toEqual(before.recipe);
  });

  it('A recipe\'s tune.coverageCatalogue reaches tuning as a training runs it', async () => {
    const withTune = (tune: Record<string, unknown>) => parseRecipe({ ...raw, tune: { folds: 1, days: 30, minCoverage: 0.3, variants: false, ...tune } }, 'fixture');
    const events = [...tasteGroupPurchases(), ...late];
    const end = new Date(END).toISOString();
    const served = (await tuneRecipeOn({ events }, withTune({ coverageCatalogue: 'served' }), end, undefined, { rounds: 1 })).validation as RollingValidation;
    const byWindow = (await tuneRecipeOn({ events }, withTune({}), end, undefined, { rounds: 1 })).validation as RollingValidation;
    // The served catalogue holds the ten late products the window's does not: the same lists count a smaller share.
    expect(served.scores.novel.coverage).toBeGreaterThan(0);
    expect(served.scores.novel.coverage).toBeLessThan(byWindow.scores.novel.coverage);
  }, 60_000);
});
