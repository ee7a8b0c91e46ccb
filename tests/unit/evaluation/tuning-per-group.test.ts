import { describe, expect, it } from 'vitest';
import { ROLLING_VARIANTS, tuningVariants } from '../../../src/evaluation/rolling-tune.js';
import type { ItemInfo, PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const END = T0 + 120 * DAY;

/**
 * 16 customers in two tastes (styles a0..a23, b0..b23); every 10 days each buys two styles of their taste
 * (rotating), always in their own size: the variant `STYLE-uN` is bought by customer N alone, besides a first
 * order on day 0 of one product of every variant by a stocktaker (so every variant is in the catalogue tuning
 * trains on). Per product no two customers share a purchase except that one order, so a model of co-purchases
 * learns nothing that carries to another customer; per style (the group) every customer of a taste shares them.
 */
function shop(grouped: boolean): { events: PurchaseRow[]; items: ItemInfo[] } {
  const events: PurchaseRow[] = [];
  const items: ItemInfo[] = [];
  for (let u = 0; u < 16; u++) {
    const taste = u % 2 === 0 ? 'a' : 'b';
    for (let s = 0; s < 24; s++) {
      items.push({ id: `${taste}${s}-u${u}`, title: `${taste}${s}`, categories: [], price: null, attributes: {}, available: true, ...(grouped ? { itemGroupId: `${taste}${s}` } : {}) });
    }
    for (let day = 1 + (u % 5), n = 0; day < 120; day += 10, n++) {
      for (const s of [(u + n) % 24, (u + n + 1) % 24]) {
        events.push({ userId: `u${u}`, itemId: `${taste}${s}-u${u}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
      }
    }
  }
  for (const item of items) events.push({ userId: 'stocktaker', itemId: item.id, orderId: 'stock', ts: T0, quantity: 1, price: null });
  events.sort((a, b) => a.ts - b.ts);
  return { events, items };
}

const raw = {
  sources: { ease: { params: { lambda: 1 } } },
  hybrid: { weights: { cold: { ease: 1 }, warm: { ease: 1 } } },
  tune: { folds: 3, days: 30, minCoverage: 0 },
};

describe('tuning chooses per source whether ALS and EASE learn per product group', () => {
  it('When the catalogue has groups, Then ALS and EASE sources get one more candidate, their own params per group; without groups, or when the recipe says perGroup, none', () => {
    const sources = {
      ease: { recommender: 'ease', params: { lambda: 400 } },
      als: { recommender: 'als', params: { factors: 64 } },
      'item-knn': { recommender: 'item-knn', params: {} },
      trend: { recommender: 'popularity', params: {} },
      fixed: { recommender: 'ease', params: { perGroup: false } },
    };
    expect(tuningVariants(sources, false)).toEqual({ ease: ROLLING_VARIANTS.ease, als: ROLLING_VARIANTS.als, 'item-knn': ROLLING_VARIANTS['item-knn'] });
    expect(tuningVariants(sources, true)).toEqual({
      ease: [...ROLLING_VARIANTS.ease, { perGroup: true }],
      als: [...ROLLING_VARIANTS.als, { perGroup: true }],
      'item-knn': ROLLING_VARIANTS['item-knn'],
    });
  });

  it('When only a style, not a variant, is bought by more than one customer, Then tuning keeps EASE per group (it alone scores), and without groups it is never offered', async () => {
    const recipe = parseRecipe(raw, 'fixture');
    const grouped = await tuneRecipeOn(shop(true), recipe, new Date(END).toISOString());
    expect(grouped.validation).not.toHaveProperty('skipped');
    expect((grouped.recipe.sources.ease.params as { perGroup?: boolean }).perGroup).toBe(true);
    const tried: string[] = [];
    const plain = await tuneRecipeOn(shop(false), recipe, new Date(END).toISOString(), (line) => tried.push(line));
    expect(plain.validation).not.toHaveProperty('skipped');
    expect(plain.recipe.sources.ease.params).not.toHaveProperty('perGroup');
    // Without groups per group learns per product, ties and would never be kept: only the candidates tried tell
    // whether it was offered. The recipe's own EASE was tried, and no candidate with perGroup.
    expect(tried.some((line) => line.startsWith('ease {') && line.includes(': alone'))).toBe(true);
    expect(tried.filter((line) => line.includes('"perGroup"'))).toEqual([]);
  }, 120_000);
});
