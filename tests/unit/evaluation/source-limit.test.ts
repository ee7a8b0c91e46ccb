import { describe, expect, it } from 'vitest';
import { RollingFold } from '../../../src/evaluation/rolling-fold.js';
import { userContextsOf } from '../../../src/evaluation/user-contexts.js';
import { createBlendScratch } from '../../../src/recommenders/hybrid.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { DAY, T0, tunedAndServedParts, wholesalerShop as shop } from './wholesaler-shop.js';

const LIMIT = 10;


describe('a source limited to its best items, in tuning and in the served hybrid', () => {
  it('When a customer has bought more products than the limit, Then both take the same items of each source: its best new ones up to the limit and its scores of the customer\'s own', async () => {
    const f = new RollingFold({ events: shop() }, { end: new Date(T0 + 91 * DAY).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: LIMIT });
    const params = { popularity: { attributes: [] }, 'item-knn': { neighbours: 20, shrink: 0 } };
    for (const [name, p] of Object.entries(params)) {
      f.fit(name, name, p, 0);
      f.keep(name, 0);
    }
    const both = { popularity: 1, 'item-knn': 1 };
    const recipe = parseRecipe(
      { sources: { popularity: { params: params.popularity }, 'item-knn': { params: params['item-knn'] } }, hybrid: { weights: { cold: both, warm: both }, sourceLimit: LIMIT } },
      'limited',
    );
    const fitted = await fitRecipe(f.split.train, recipe);
    const contexts = userContextsOf(f.split, f.cache.users);
    const scratch = createBlendScratch(f.split.train.itemIds.length);
    const bulk = f.split.train.userIndex.get('bulk')!;
    expect(f.cache.users).toContain(bulk);

    for (const [j, u] of f.cache.users.entries()) {
      fitted.hybrid.blendSparse!(contexts.get(u)!, scratch);
      const own = new Set(f.cache.trainItems[j]);
      for (const name of Object.keys(params)) {
        const { tuned: tunedItems, served } = tunedAndServedParts(f, scratch, name, j);
        expect([...served.keys()].sort((a, b) => a - b), `${name} for customer ${u}`).toEqual([...tunedItems.keys()].sort((a, b) => a - b));
        for (const [i, s] of served) expect(s).toBeCloseTo(tunedItems.get(i)!, 6);
        // The limit holds for new items only: the wholesaler, whose purchases fill every source's best ten,
        // still gets as many new ones as the source scores, up to ten.
        const raw = scratch.sources.get(name)!.raw;
        let scoredNew = 0;
        for (let p = 0; p < raw.size; p++) if (raw.values[raw.item(p)] > 0 && !own.has(raw.item(p))) scoredNew++;
        const newItems = [...served.keys()].filter((i) => !own.has(i)).length;
        expect(newItems, `${name} for customer ${u}`).toBe(Math.min(LIMIT, scoredNew));
        if (u === bulk) expect(newItems, name).toBeGreaterThan(0);
      }
    }
  });
});
