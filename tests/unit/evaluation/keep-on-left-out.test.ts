import { describe, expect, it } from 'vitest';
import type { FoldsHeld } from '../../../src/evaluation/fold-pool.js';
import type { LeftOutJudgement, SampleJudgement } from '../../../src/evaluation/keep-on.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { inputRows } from '../../../src/evaluation/splits.js';
import { rescoreWindows } from '../../../src/evaluation/window-rescore.js';
import { sampleCustomers, sampleDatasetCustomers } from '../../../src/evaluation/tuning-sample.js';
import { buildDataset, purchaseRowsOf, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe, tuningSampleBounds } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';
import { END, tasteGroupPurchases } from '../../helpers/taste-groups-shop.js';

// tune.keepOn `left-out` (src/evaluation/keep-on.ts, bench/keep-on-left-out-criterion.md): the keep rule judges the
// searched blend on a second sample of customers, disjoint from the one its weights were searched on.

const row = (userId: string, n: number): PurchaseRow => ({ userId, itemId: `i${n % 3}`, orderId: `${userId}-${n}`, ts: n * 1000, quantity: 1, price: null });
/** Customers c0..c(n-1), one purchase each. */
const customers = (n: number) => ({ events: Array.from({ length: n }, (_, c) => row(`c${c}`, c)) });

describe('the left-out sample (tuning-sample.ts, keepOn left-out)', () => {
  it('is the next customers of the same draw, as many as the bounds allow, disjoint from the sample, and only in the population', () => {
    // The draw's order is by 32-bit FNV-1a of the id (ties by id). Worked out apart from the code (FNV-1a: offset
    // 0x811c9dc5, prime 0x01000193): c2, c3, c0, c1, c6, c7, c4, c5, c8, c9.
    const sample = sampleCustomers(customers(10), 3, undefined, { leftOut: true });
    expect([...sample.scored!].sort()).toEqual(['c0', 'c2', 'c3']);
    expect([...sample.leftOut!].sort()).toEqual(['c1', 'c6', 'c7']);
    // The sample's purchases are its customers' only; the left-out customers' are in the population (whole), as the sample's.
    expect(new Set(inputRows(sample.input).map((e) => e.userId))).toEqual(new Set(['c0', 'c2', 'c3']));
    const population = new Set(inputRows(sample.population!).map((e) => e.userId));
    for (const id of ['c0', 'c1', 'c2', 'c3', 'c6', 'c7']) expect(population.has(id)).toBe(true);
  });

  it('is drawn from a training\'s dataset as from rows (the same customers, the same population)', () => {
    const ds = buildDataset(customers(10));
    const fromDataset = sampleDatasetCustomers(ds, {}, 3, { leftOut: true });
    const fromRows = sampleCustomers({ events: purchaseRowsOf(ds) }, 3, undefined, { leftOut: true });
    expect([...fromDataset.leftOut!].sort()).toEqual(['c1', 'c6', 'c7']);
    expect([...fromDataset.leftOut!].sort()).toEqual([...fromRows.leftOut!].sort());
    expect(new Set(inputRows(fromDataset.population!).map((e) => e.userId))).toEqual(new Set(inputRows(fromRows.population!).map((e) => e.userId)));
  });

  it('is not drawn unless asked for, nor when the customers left out fit within the bounds (fewer than two samples)', () => {
    expect(sampleCustomers(customers(10), 3)).not.toHaveProperty('leftOut');
    // 5 customers, bound 3: the 2 left out are fewer than a second sample.
    const small = sampleCustomers(customers(5), 3, undefined, { leftOut: true });
    expect(small.kept).toBe(3);
    expect(small).not.toHaveProperty('leftOut');
    // 6 customers, bound 3: the 3 left out fit the bounds exactly, still not a sample drawn from more.
    expect(sampleCustomers(customers(6), 3, undefined, { leftOut: true })).not.toHaveProperty('leftOut');
  });
});

/** `copies` copies of the taste-groups shop, each with its own customers (p0-u0, ...): 24 customers a copy. */
function copiesOfShop(copies: number): PurchaseRow[] {
  return Array.from({ length: copies }, (_, c) => tasteGroupPurchases().map((e) => ({ ...e, userId: `p${c}-${e.userId}`, orderId: `p${c}-${e.orderId}` }))).flat();
}
const raw = {
  sources: { 'buy-again': {}, ease: { params: { lambda: 10 } }, 'item-knn': { params: { neighbours: 5 } } },
  hybrid: { weights: { cold: { ease: 1 }, warm: { ease: 1 } } },
};
const tuneOn = (shop: PurchaseRow[], tune: Record<string, unknown>, threads?: number, foldsHeld?: FoldsHeld) =>
  tuneRecipeOn({ events: shop }, parseRecipe({ ...raw, tune: { folds: 3, days: 30, variants: false, ...tune } }, 'left-out'), new Date(END).toISOString(), undefined, threads ? { threads, ...(foldsHeld ? { foldsHeld } : {}) } : {});

describe('tune.keepOn left-out, from a recipe', () => {
  it('is a tune field: absent unless set, a misspelt value refused by its path', () => {
    for (const keepOn of ['left-out', 'sample']) expect(parseRecipe({ ...raw, tune: { keepOn } }, 'r').tune).toMatchObject({ keepOn });
    expect(parseRecipe({ ...raw, tune: { folds: 3 } }, 'r').tune).not.toHaveProperty('keepOn');
    expect(() => parseRecipe({ ...raw, tune: { keepOn: 'leftout' } }, 'bad')).toThrow(/tune\.keepOn/);
  });

  it('judges on the left-out customers: the record names them, the search and the sample\'s decision are the default\'s', async () => {
    const shop = copiesOfShop(4); // 96 customers
    const byDefault = await tuneOn(shop, { maxCustomers: 30 });
    const leftOut = await tuneOn(shop, { maxCustomers: 30, keepOn: 'left-out' });
    const v = leftOut.validation as RollingValidation;
    const d = byDefault.validation as RollingValidation;
    expect(d).not.toHaveProperty('keepOn');
    const judged = v.keepOn as LeftOutJudgement;
    expect(judged).toMatchObject({ on: 'left-out', customers: 30 });
    // The same search: the same blend (served or rejected), the same objectives on the sample, and the sample's decision is the default's.
    const blend = (r: typeof v, recipe: typeof leftOut.recipe) => r.rejectedBlend ?? { weights: recipe.hybrid.weights, repeatWeights: recipe.hybrid.repeatWeights, popularityDiscount: recipe.hybrid.popularityDiscount };
    expect(blend(v, leftOut.recipe)).toEqual(blend(d, byDefault.recipe));
    expect(v.modes).toEqual(d.modes);
    expect(judged.sampleKeptBy).toEqual(d.keptBy);
    // Judged on other customers: other objectives, per fold, for the blend and every source.
    expect(judged.modes.blend.novel).toHaveLength(3);
    expect(judged.modes.blend).not.toEqual(v.modes!.blend);
    expect(Object.keys(judged.modes.sources).sort()).toEqual(['buy-again', 'ease', 'item-knn']);
    // A population-fitted source (EASE, item-kNN) scores the left-out customers as a fold validating only them does,
    // fitted anew on every purchase before each window (window-rescore.ts): its lists for them were made by the same fit.
    const drawn = sampleCustomers({ events: shop }, tuningSampleBounds(leftOut.recipe.tune!), END, { leftOut: true });
    const windows = rescoreWindows({ events: shop }, leftOut.recipe, blend(v, leftOut.recipe), v.folds, v.days, v.k, drawn.leftOut);
    for (const source of ['ease', 'item-knn']) {
      const m = judged.modes.sources[source];
      windows.sources[source].forEach((s, f) => {
        expect(m.novel[f] + (m.novelShortfall ?? 0)).toBeCloseTo(s.novel.ndcg, 12);
        expect(m.all[f]).toBe(s.all.ndcg);
      });
    }
    // Fold threads score the left-out customers whole on each fold's own thread, or (every fold on each thread) their
    // shares, merged: the same tuning on 2 threads either way.
    for (const foldsHeld of ['own', 'every'] as const) expect((await tuneOn(shop, { maxCustomers: 30, keepOn: 'left-out' }, 2, foldsHeld)).validation).toEqual(leftOut.validation);
  }, 240_000);

  it('falls back to the sample on a shop too small for a second sample, and the record says so', async () => {
    const shop = copiesOfShop(4); // 96 customers: 60 sampled, 36 left, fewer than 60
    const small = await tuneOn(shop, { maxCustomers: 60, keepOn: 'left-out' });
    const byDefault = await tuneOn(shop, { maxCustomers: 60 });
    const v = small.validation as RollingValidation;
    expect(v.keepOn as SampleJudgement).toMatchObject({ on: 'sample', asked: 'left-out' });
    expect((v.keepOn as SampleJudgement).reason).toMatch(/fewer than a second sample/);
    const { keepOn: _, ...rest } = v;
    expect(rest).toEqual(byDefault.validation);
    expect(small.recipe.hybrid).toEqual(byDefault.recipe.hybrid);
  }, 240_000);
});
