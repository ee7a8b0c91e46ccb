import { describe, expect, it } from 'vitest';
import { tuneRollingOrigin } from '../../../src/evaluation/rolling-tune.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { DAY, END, T0, tasteGroupPurchases, withLongTail } from '../../helpers/taste-groups-shop.js';

/**
 * That rolling-origin tuning uses the forty-ninth session's options, not only records them: the pure parts are
 * tested in tuning-rules-own-items.test.ts and keep-rule-single.test.ts, these the wiring in rolling-tune.ts.
 */

/**
 * 60 customers in two taste groups buying every 5 days. Until day 90 each order brings the next two items of the
 * customer's group in turn (item-kNN's neighbours) and every other order the favourite; from day 90 the two items
 * and a hot item of the ten days, the favourite every fourth order only. So the six 10-day folds from day 60
 * drift: recency weights and equal folds settle on different blends.
 */
function driftingShop(): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  for (let u = 0; u < 60; u++) {
    const g = u % 2 === 0 ? 'a' : 'b';
    for (let day = 1 + (u % 5), n = 0; day < 120; day += 5, n++) {
      const push = (item: string) => rows.push({ userId: `u${u}`, itemId: item, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
      const late = day >= 90;
      push(`${g}${(u + n) % 60}`);
      push(`${g}${(u + n + 1) % 60}`);
      if (late) {
        push(`hot${Math.floor(day / 10)}`);
        push(`${g}${(u * 7 + n * 3) % 60}`);
      }
      if (!late ? n % 2 === 0 : n % 4 === 0) push(`${g}-fav${u % 3}`);
    }
  }
  return rows;
}

describe('foldWeights recency-new-items in rolling-origin tuning', () => {
  const raw = {
    sources: { popularity: { params: { attributes: [], halfLifeDays: 7 } }, 'buy-again': {}, 'item-knn': { params: { neighbours: 5 } }, ease: { params: { lambda: 10 } } },
    hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1, 'buy-again': 1, ease: 1 } } },
  };
  const options = { folds: 6, days: 10, end: new Date(END).toISOString(), grid: [0, 0.5, 1, 2], discountGrid: [0, 0.3], rounds: 2, variants: {} };

  it('searches the weights on new items by recency and those on own items on equal folds, and serves that blend', async () => {
    const { validation: v, recipe } = await tuneRollingOrigin({ events: driftingShop() }, parseRecipe(raw, 'drift'), raw, {
      ...options,
      foldWeights: 'recency-new-items',
      compare: [
        { coverageFloor: 'accuracy-share', foldWeights: 'recency' },
        { coverageFloor: 'accuracy-share', foldWeights: 'equal' },
      ],
    });
    const [recency, equal] = v.compared!.map((c) => c.blend);
    // Preconditions: on this shop the rules settle on different blends, new items and own items alike.
    expect(recency.weights).not.toEqual(equal.weights);
    expect(recency.repeatWeights).not.toEqual(equal.repeatWeights);
    expect(v.rules).toEqual({ foldWeights: 'recency-new-items' });
    // The tuned blend (recorded whole when not served whole, else served).
    const hybrid = recipe.hybrid as { weights: unknown; repeatWeights?: unknown; popularityDiscount: number };
    const tuned = v.rejectedBlend ?? hybrid;
    // New items as recency weighs the folds (the discount is searched with them) ...
    expect(tuned.weights).toEqual(recency.weights);
    expect(tuned.popularityDiscount).toBe(recency.popularityDiscount);
    // ... own items not as recency does (the own-item search pools the folds equally, from recency's new-item weights).
    expect(tuned.repeatWeights).not.toEqual(recency.repeatWeights);
    // Here they are the ones equal folds find.
    expect(tuned.repeatWeights).toEqual(equal.repeatWeights);
  }, 120_000);
});

describe('keepRule per-mode-single in rolling-origin tuning', () => {
  // The long-tail shop (single-source-coverage.test.ts): EASE serves new items; beside them the blend's own-item
  // weights beat buy-again on every fold (per-mode keeps them) but not EASE alone (per-mode-single does not).
  const raw = {
    sources: { 'buy-again': {}, ease: { params: { lambda: 10 } }, 'item-knn': { params: { neighbours: 5 } } },
    hybrid: { weights: { cold: { ease: 1 }, warm: { ease: 1 } } },
  };
  const options = { folds: 3, days: 30, end: new Date(END).toISOString(), grid: [0, 0.5, 1, 2], discountGrid: [0, 0.5, 1, 2], rounds: 3, variants: {}, minCoverage: 0.9, maxCoverageCost: 1 };

  it('serves what per-mode-single keeps, where it differs from per-mode', async () => {
    const { validation: v, recipe } = await tuneRollingOrigin({ events: withLongTail(tasteGroupPurchases()) }, parseRecipe(raw, 'tail'), raw, { ...options, keepRule: 'per-mode-single' });
    expect(v.keepRule).toBe('per-mode-single');
    // Precondition: the rules differ here.
    expect(v.keptBy!['per-mode']).toEqual({ novel: 'ease', all: 'blend' });
    expect(v.keptBy!['per-mode-single']).toEqual({ novel: 'ease', all: 'ease' });
    expect(v.served).toEqual({ novel: 'ease', all: 'ease' });
    expect(v.chosen).toBe('ease');
    // EASE alone: no own-item weights of the blend are published.
    expect(recipe.hybrid).toMatchObject({ weights: { cold: { ease: 1 }, warm: { ease: 1 } } });
    expect(recipe.hybrid).not.toHaveProperty('repeatWeights');
  }, 60_000);
});
