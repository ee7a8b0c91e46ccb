import { describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { RollingValidation } from '../../../src/evaluation/rolling-tune.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';
import { rescoreWindows } from '../../../src/evaluation/window-rescore.js';
import { parseRecipe, tuningSampleBounds } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

/** 40 customers over 100 days: each rebuys their own item weekly and tries a product new to them; even ones buy the bestseller. */
function purchases(): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  for (let u = 0; u < 40; u++) {
    for (let day = 1 + (u % 3), w = 0; day < 100; day += 7, w++) {
      rows.push({ userId: `u${u}`, itemId: `own${u % 7}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
      rows.push({ userId: `u${u}`, itemId: `t${(u + w) % 25}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
      if (u % 2 === 0) rows.push({ userId: `u${u}`, itemId: 'best', orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
    }
  }
  return rows;
}

const recipe = parseRecipe(
  {
    // item-knn is fitted on every customer in a sampled fold, buy-again on the sample only (rolling-fold.ts POPULATION_FITTED).
    sources: { popularity: { params: { attributes: [] } }, 'buy-again': {}, 'item-knn': {} },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } } },
    tune: { folds: 2, days: 20, maxCustomers: 15, variants: false },
  },
  'sampled',
);

describe("a tuning's windows scored again (window-rescore.ts)", () => {
  it('When scored on the tuning sample, Then every window gives back the tuning\'s own per-mode scores of the blend and of each source; the customers it left out and the sample together are everyone', async () => {
    const rows = purchases();
    const tuned = await tuneRecipeOn({ events: rows }, recipe, undefined);
    const v = tuned.validation as RollingValidation;
    expect(v.customers).toEqual({ used: 15, of: 40 });
    const blend = v.rejectedBlend ?? { weights: tuned.recipe.hybrid.weights, repeatWeights: tuned.recipe.hybrid.repeatWeights, popularityDiscount: tuned.recipe.hybrid.popularityDiscount ?? 0 };
    const sample = sampleCustomers({ events: rows }, tuningSampleBounds(tuned.recipe.tune!));
    const onSample = rescoreWindows({ events: rows }, tuned.recipe, blend, v.folds, v.days, v.k, sample.scored);
    const raw = (m: { novel: number[]; all: number[]; novelShortfall?: number }) => ({ novel: m.novel.map((x) => x + (m.novelShortfall ?? 0)), all: m.all });
    const of = (s: { novel: { ndcg: number }; all: { ndcg: number } }[]) => ({ novel: s.map((x) => x.novel.ndcg), all: s.map((x) => x.all.ndcg) });
    const close = (a: { novel: number[]; all: number[] }, b: { novel: number[]; all: number[] }) => {
      a.novel.forEach((x, i) => expect(x).toBeCloseTo(b.novel[i], 10));
      a.all.forEach((x, i) => expect(x).toBeCloseTo(b.all[i], 10));
    };
    close(of(onSample.blend), raw(v.modes!.blend));
    for (const source of Object.keys(v.modes!.sources)) close(of(onSample.sources[source]), raw(v.modes!.sources[source]));
    // The left-out customers are validated instead: the two sets partition every customer who bought in a window.
    const kept = new Set(sample.scored);
    const others = [...new Set(rows.map((r) => r.userId))].filter((u) => !kept.has(u));
    const onOthers = rescoreWindows({ events: rows }, tuned.recipe, blend, v.folds, v.days, v.k, others);
    const everyone = rescoreWindows({ events: rows }, tuned.recipe, blend, v.folds, v.days, v.k);
    everyone.blend.forEach((s, w) => {
      expect(onSample.blend[w].all.users + onOthers.blend[w].all.users).toBe(s.all.users);
      expect(onOthers.blend[w].all.users).toBeGreaterThan(0);
    });
  }, 60_000);
});
