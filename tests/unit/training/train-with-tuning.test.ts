import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createTrainer } from '../../../src/training/train-model.js';
import type { EvaluationTuning } from '../../../src/evaluation/evaluation-report.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';
import { inputRows } from '../../../src/evaluation/splits.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tunedDescription, tuneRecipeOn } from '../../../src/training/tune-for-training.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

/**
 * 20 customers over 100 days: everyone rebuys their own item weekly and tries one product new to them
 * each week (customer u's w-th week brings t(u + w)); even customers also buy the bestseller.
 */
function purchases(): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  for (let u = 0; u < 20; u++) {
    for (let day = 1 + (u % 3), w = 0; day < 100; day += 7, w++) {
      rows.push({ userId: `u${u}`, itemId: `own${u}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
      rows.push({ userId: `u${u}`, itemId: `t${u + w}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
      if (u % 2 === 0) rows.push({ userId: `u${u}`, itemId: 'best', orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
    }
  }
  return rows;
}

const tuned = (t: EvaluationTuning | undefined) => t as RollingValidation | undefined;

const recipe = {
  sources: { popularity: { params: { attributes: [] } }, 'buy-again': {} },
  // Deliberately poor starting weights: popularity only.
  hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } } },
  tune: { folds: 2, days: 20 },
};

describe('training a recipe with a tune section', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'recsvc-tune-'));
    await writeFile(join(dir, 'tuned.json'), JSON.stringify(recipe));
    const { tune: _none, ...untuned } = recipe;
    await writeFile(join(dir, 'untuned.json'), JSON.stringify(untuned));
    await writeFile(join(dir, 'bounded.json'), JSON.stringify({ ...recipe, tune: { folds: 2, days: 20, maxPurchases: 300 } }));
  });
  const trainerOn = (store: Awaited<ReturnType<typeof createMemoryModelStore>>, own: Partial<Parameters<typeof createTrainer>[0]> = {}) =>
    createTrainer({
      threads: 1,
      events: {
        async *streamPurchaseRows() {
          yield purchases();
        },
      },
      catalog: { listItems: async () => [], listUsersWithAttributes: async () => [] },
      store,
      defaultRecipe: 'tuned',
      recipesDir: dir,
      storeRecommenders: false,
      ...own,
    });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('When the recipe says tune, Then training tunes on its own data and publishes the tuned weights and the validation', async () => {
    const store = await createMemoryModelStore();
    const result = await trainerOn(store).train();
    // Customers rebuy their own item (buy-again) and try something new (popularity): the blend of both
    // beats each alone on both folds.
    expect(tuned(result.tuning)?.chosen).toBe('blend');
    expect(tuned(result.tuning)?.customers).toEqual({ used: 20, of: 20 });
    // The latest purchase is on day 99 (customers with u % 3 = 0 buy on days 1, 8, ..., 99), so the
    // windows end 1 ms after it: [day 59, day 79) and [day 79, day 99), plus that millisecond.
    const at = (day: number) => new Date(T0 + day * DAY + 1).toISOString();
    expect(tuned(result.tuning)?.folds).toEqual([
      { start: at(59), end: at(79) },
      { start: at(79), end: at(99) },
    ]);
    expect(result.durations.tune).toBeGreaterThan(0);
    const meta = await store.getActive();
    const info = meta!.info as { recipe: { hybrid: Record<string, unknown>; tune: unknown; description?: string }; tuning: { chosen: string } };
    // What tuning chose is published, not the file's weights (which weigh nothing on own items and no discount).
    const { hybrid } = (await tuneRecipeOn({ events: purchases() }, parseRecipe(recipe, 'tuned'), undefined)).recipe;
    expect(info.recipe.hybrid).toMatchObject({ weights: hybrid.weights, repeatWeights: hybrid.repeatWeights, popularityDiscount: hybrid.popularityDiscount });
    expect(hybrid.repeatWeights).toBeDefined();
    expect(info.recipe.tune).toEqual({ folds: 2, days: 20, minCoverage: 0.3, maxCoverageCost: 0.1, variants: true, maxCustomers: 5_000 });
    expect(info.tuning.chosen).toBe('blend');
    // The published recipe says its weights are tuning's, not the file's.
    expect(info.recipe.description).toMatch(/^Tuned on this data when trained/);
  }, 60_000);

  it('When the shop has more customers than tune.maxCustomers, Then tuning works on that many and its windows still end with the data', async () => {
    const rows = purchases();
    const kept = new Set(inputRows(sampleCustomers({ events: rows }, 10).input).map((e) => e.userId));
    expect(kept.size).toBe(10);
    // Every sampled customer rebuys their own item and tries one more new product on day 110 + (their
    // number % 5); the latest purchase of all is by a customer outside the sample, on day 125.
    for (const u of kept) {
      const n = Number(u.slice(1));
      const day = 110 + (n % 5);
      rows.push({ userId: u, itemId: `own${n}`, orderId: `${u}-late`, ts: T0 + day * DAY, quantity: 1, price: null });
      rows.push({ userId: u, itemId: `t${(n + 17) % 20}`, orderId: `${u}-late`, ts: T0 + day * DAY, quantity: 1, price: null });
    }
    const outsider = [...new Set(rows.map((r) => r.userId))].find((u) => !kept.has(u))!;
    rows.push({ userId: outsider, itemId: 'best', orderId: 'late', ts: T0 + 125 * DAY, quantity: 1, price: null });
    rows.sort((a, b) => a.ts - b.ts);
    const result = await tuneRecipeOn({ events: rows }, parseRecipe({ ...recipe, tune: { folds: 2, days: 20, maxCustomers: 10 } }, 'sampled'), undefined);
    const validation = result.validation as RollingValidation;
    expect(validation.customers).toEqual({ used: 10, of: 20 });
    const at = (day: number) => new Date(T0 + day * DAY + 1).toISOString();
    expect(validation.folds).toEqual([
      { start: at(85), end: at(105) },
      { start: at(105), end: at(125) },
    ]);
  }, 60_000);

  it('When the purchase read split tuning\'s returns at windows ending before its latest row (a purchase stored during the read), Then tuning\'s windows end where the split was made', async () => {
    const rows = purchases();
    // The split's own statement saw the data end on day 92 (just after it): a purchase of day 99 came in later.
    const splitEnd = T0 + 92 * DAY + 1;
    const trainer = trainerOn(await createMemoryModelStore(), {
      events: {
        async *streamPurchaseRows() {
          yield rows;
        },
        async *streamPurchaseRowsWithTuning() {
          yield { rows, tuning: rows, tuningEnd: splitEnd };
        },
      },
    });
    const at = (ms: number) => new Date(ms).toISOString();
    // Observed before: the windows ended just after day 99, the latest row, away from the split's.
    expect(tuned((await trainer.train()).tuning)?.folds).toEqual([
      { start: at(splitEnd - 40 * DAY), end: at(splitEnd - 20 * DAY) },
      { start: at(splitEnd - 20 * DAY), end: at(splitEnd) },
    ]);
  }, 60_000);

  it('When the recipe bounds tuning\'s purchases (tune.maxPurchases), Then training tunes on the customers of the draw whose purchases fit, the same ones every time', async () => {
    const rows = purchases();
    // 20 customers with 28 to 45 purchases each (14 or 15 weekly orders of 2 or 3 lines): 300 purchases
    // hold some of them. The customer draw's order, by the customer bound alone: its first n customers
    // are the sample while their purchases fit in 300.
    const purchasesOfFirst = (n: number) => inputRows(sampleCustomers({ events: rows }, n).input).length;
    let n = 0;
    while (n < 20 && purchasesOfFirst(n + 1) <= 300) n++;
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(11);
    const first = await trainerOn(await createMemoryModelStore()).train({ recipe: 'bounded' });
    expect(tuned(first.tuning)?.customers).toEqual({ used: n, of: 20 });
    // The folds still fit EASE, item-kNN, co-occurrence and popularity on every customer's purchases (all of
    // them: ten times the bound, 3,000, holds the whole input), and the report says so.
    expect(tuned(first.tuning)?.purchases).toEqual({ used: purchasesOfFirst(n), of: rows.length, fittedOn: rows.length });
    // Tuned on those customers alone: windows of everyone who buys weekly, the blend still wins the own items
    // (popularity alone the new ones: the per-mode rule judges the halves apart).
    expect(tuned(first.tuning)?.served).toEqual({ novel: 'popularity', all: 'blend' });
    const again = await trainerOn(await createMemoryModelStore()).train({ recipe: 'bounded' });
    expect(again.tuning).toEqual(first.tuning);
    // Without the bound every customer is tuned on.
    expect(tuned((await trainerOn(await createMemoryModelStore()).train()).tuning)?.purchases).toEqual({ used: rows.length, of: rows.length });
  }, 60_000);

  // 2 sources without variants on 2 folds: 4 fits, the sources alone, and 3 blend searches (minCoverage
  // 0.3: accuracy, coverage, own items) are 8 units. The steps are load, dataset, tune, fit:popularity,
  // fit:buy-again, fit:hybrid, serving, audience, profiles, write, publish: tune starts at 2/11, and unit d of 8 is
  // reported at (2 + d/8)/11, the last (the end of the step) not.
  const withinTuning = [0, 1, 2, 3, 4, 5, 6, 7].map((d) => (2 + d / 8) / 11);
  for (const [how, own] of [
    ['in a tuning thread', { threads: 1 }],
    ['on fold threads', { threads: 2 }],
    ['inline', { isolation: 'inline' as const }],
  ] as const) {
    it(`When a training tunes (${how}), Then its progress advances inside the tune step, unit by unit, and stays below the next step`, async () => {
      const seen: { step: string; fraction: number }[] = [];
      await trainerOn(await createMemoryModelStore(), own).train({}, { onProgress: (p) => void seen.push(p) });
      const tuning = seen.filter((p) => p.step === 'tune');
      expect(tuning.map((p) => p.fraction)).toHaveLength(withinTuning.length);
      tuning.forEach((p, i) => expect(p.fraction).toBeCloseTo(withinTuning[i], 12));
      const next = seen[seen.findIndex((p) => p.step === 'tune') + tuning.length];
      expect(next).toEqual({ step: 'fit:popularity', fraction: 3 / 11 });
    }, 60_000);
  }

  it('When customers who buy only on or after the cutoff are planted, Then the sample and the tuned recipe are the same (an evaluation tunes on what precedes its cutoff)', async () => {
    const sampled = parseRecipe({ ...recipe, tune: { folds: 2, days: 20, maxCustomers: 10 } }, 'sampled');
    const cutoff = new Date(T0 + 100 * DAY).toISOString();
    const before = await tuneRecipeOn({ events: purchases() }, sampled, cutoff);
    // Forty newcomers after the cutoff: some hash below every customer of the sample, so a draw over all
    // ids would take them in and leave out customers who bought before it.
    const newcomers = Array.from({ length: 40 }, (_, k) => ({ userId: `new${k}`, itemId: 'best', orderId: `new${k}`, ts: T0 + (100 + (k % 5)) * DAY, quantity: 1, price: null }));
    expect(inputRows(sampleCustomers({ events: [...purchases(), ...newcomers] }, 10).input).some((e) => e.userId.startsWith('new'))).toBe(true);
    const after = await tuneRecipeOn({ events: [...purchases(), ...newcomers] }, sampled, cutoff);
    expect((after.validation as RollingValidation).customers).toEqual({ used: 10, of: 20 });
    expect(after).toEqual(before);
  }, 60_000);

  it('When the recipe\'s tune section names tuning\'s rules, Then tuning uses them (and records those not the default); a caller\'s own rule wins', async () => {
    const own = parseRecipe({ ...recipe, tune: { folds: 2, days: 20, keepRule: 'sum', coverageFloor: 'best-single', foldWeights: 'recency' } }, 'ruled');
    const v = (await tuneRecipeOn({ events: purchases() }, own, undefined)).validation as RollingValidation;
    expect(v.keepRule).toBe('sum');
    expect(v.rules).toEqual({ coverageFloor: 'best-single', foldWeights: 'recency' });
    const plain = (await tuneRecipeOn({ events: purchases() }, parseRecipe(recipe, 'plain'), undefined)).validation as RollingValidation;
    expect(plain.keepRule).toBe('per-mode-majority');
    expect(plain).not.toHaveProperty('rules');
    const overridden = (await tuneRecipeOn({ events: purchases() }, own, undefined, undefined, { keepRule: 'per-mode', foldWeights: undefined })).validation as RollingValidation;
    expect(overridden.keepRule).toBe('per-mode');
    expect(overridden.rules).toEqual({ coverageFloor: 'best-single', foldWeights: 'recency' });
  }, 120_000);

  it('When the recipe weighs carts and caps candidates, Then the tuned recipe keeps both: tuning rewrites only weights and hyperparameters', async () => {
    const own = parseRecipe({ ...recipe, eventWeights: { add_to_cart: 0.8, view: 0 }, candidates: { perUser: 50 } }, 'weighted');
    expect(own.eventWeights).not.toEqual(parseRecipe(recipe, 'plain').eventWeights);
    const result = await tuneRecipeOn({ events: purchases() }, own, undefined);
    expect((result.validation as RollingValidation).chosen).toBe('blend');
    expect(result.recipe.eventWeights).toEqual(own.eventWeights);
    expect(result.recipe.candidates).toEqual(own.candidates);
  }, 60_000);

  it('When a recipe is tuned for a file (npm run tune --out) and tuned again, Then its description is its own; a training says once that it tuned', async () => {
    const described = parseRecipe({ ...recipe, description: 'Our shop\'s recipe.' }, 'described');
    const once = await tuneRecipeOn({ events: purchases() }, described, undefined);
    expect(once.recipe.description).toBe('Our shop\'s recipe.');
    const published = tunedDescription(once.recipe.description);
    expect(published).toMatch(/^Tuned on this data when trained.*Our shop's recipe\.$/);
    expect(tunedDescription(published)).toBe(published);
  }, 60_000);

  it('When a training says tune: false, Then the recipe\'s weights are published as written', async () => {
    const store = await createMemoryModelStore();
    const result = await trainerOn(store).train({ tune: false });
    expect(result.tuning).toBeUndefined();
    expect(result.durations.tune).toBeUndefined();
    const info = (await store.getActive())!.info as { recipe: { hybrid: { weights: unknown }; tune?: unknown } };
    expect(info.recipe.hybrid.weights).toEqual(recipe.hybrid.weights);
    expect(info.recipe.tune).toBeUndefined();
  }, 60_000);

  it('When a training asks to tune a recipe without a tune section, Then it tunes with the folds it was given', async () => {
    const store = await createMemoryModelStore();
    const result = await trainerOn(store).train({ recipe: 'untuned', tune: { folds: 2, days: 20 } });
    expect(tuned(result.tuning)?.folds).toHaveLength(2);
    expect(tuned(result.tuning)?.chosen).toBe('blend');
    const info = (await store.getActive())!.info as { recipe: { hybrid: { repeatWeights?: unknown }; tune: unknown } };
    expect(info.recipe.hybrid.repeatWeights).toBeDefined();
    expect(info.recipe.tune).toEqual({ folds: 2, days: 20, minCoverage: 0.3, maxCoverageCost: 0.1, variants: true, maxCustomers: 5_000 });
  }, 60_000);

  it('When a training tunes with tune.yearAgo, Then its purchase read nets for tuning only the returns made more than a year and a day before the end (the year-ago window\'s start), and folds x days before without it', async () => {
    const spans: number[] = [];
    const trainer = async (tune: Record<string, unknown>) =>
      trainerOn(await createMemoryModelStore(), {
        events: {
          async *streamPurchaseRows() {
            yield purchases();
          },
          async *streamPurchaseRowsWithTuning(_window, spanMs) {
            spans.push(spanMs);
            yield { rows: purchases() };
          },
        },
      }).train({ tune });
    await trainer({ folds: 2, days: 20, yearAgo: true });
    await trainer({ folds: 2, days: 20 });
    expect(spans).toEqual([367 * DAY, 40 * DAY]);
  }, 120_000);

  it('When a validation window holds almost nobody, Then tuning is skipped with the reason and the written weights are published', async () => {
    const store = await createMemoryModelStore();
    // One-day windows ending on day 99: purchases fall on days 1-3 of each week, so days 95-98 are empty.
    const result = await trainerOn(store).train({ tune: { folds: 6, days: 1 } });
    expect(result.tuning).toEqual({ skipped: expect.stringMatching(/validation window 2 of 6 has 0 customers who bought in it .*the recipe's weights were kept/) });
    const info = (await store.getActive())!.info as { recipe: { hybrid: { weights: unknown } } };
    expect(info.recipe.hybrid.weights).toEqual(recipe.hybrid.weights);
  }, 60_000);
});
