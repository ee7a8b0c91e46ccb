import { describe, expect, it } from 'vitest';
import { RollingFold } from '../../../src/evaluation/rolling-fold.js';
import { userContextsOf } from '../../../src/evaluation/user-contexts.js';
import { createBlendScratch } from '../../../src/recommenders/hybrid.js';
import { createStrategyScorer, servingOptions } from '../../../src/serving/serving-model-builder.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';
import { DAY, T0, tunedAndServedParts, wholesalerShop as shop } from './wholesaler-shop.js';

/** Each dense source's depth (hybrid.sourceDepth), its limit and tuning's depth alike. */
const DEPTH = 5;


/** Dense sources (their best `sourceDepth` per customer) and EASE, each blended alone (ALS alone ranks the catalogue, not a pool). */
const PARAMS: Record<string, Record<string, unknown>> = {
  als: { factors: 4, iterations: 5, seed: 7 },
  ease: { lambda: 5 },
  popularity: { attributes: [], halfLifeDays: null },
};

async function foldAndFit(name: string) {
  const f = new RollingFold({ events: shop() }, { end: new Date(T0 + 91 * DAY).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: DEPTH });
  f.fit(name, name, PARAMS[name], 0);
  f.keep(name, 0);
  const alone = { [name]: 1 };
  const recipe = parseRecipe({ sources: { [name]: { params: PARAMS[name] } }, hybrid: { weights: { cold: alone, warm: alone }, sourceDepth: DEPTH, sourceLimit: DEPTH } }, 'shallow');
  return { f, fitted: await fitRecipe(f.split.train, recipe) };
}

describe("a dense source cut to its sourceDepth best items, for a customer who bought more products than the depth", () => {
  it.each(Object.keys(PARAMS))(
    "When %s is cut at its sourceDepth best items, Then the blend takes its best new items up to the depth and its scores of the customer's own, as tuning's part does",
    async (name) => {
      const { f, fitted } = await foldAndFit(name);
      const contexts = userContextsOf(f.split, f.cache.users);
      const scratch = createBlendScratch(f.split.train.itemIds.length);
      const dense = new Float32Array(f.split.train.itemIds.length);
      const bulk = f.split.train.userIndex.get('bulk')!;
      expect(f.cache.users).toContain(bulk);
      for (const [j, u] of f.cache.users.entries()) {
        const ctx = contexts.get(u)!;
        fitted.hybrid.blendSparse(ctx, scratch);
        const own = new Set(f.cache.trainItems[j]);
        const { tuned: tunedItems, served } = tunedAndServedParts(f, scratch, name, j);
        expect([...served.keys()].sort((a, b) => a - b), `${name} for customer ${u}`).toEqual([...tunedItems.keys()].sort((a, b) => a - b));
        for (const [i, s] of served) expect(s).toBeCloseTo(tunedItems.get(i)!, 6);
        // As many new items as the source scores above 0 anywhere in the catalogue, up to the depth.
        fitted.sources.get(name)!.scoreUser(ctx, dense);
        const scoredNew = [...dense.keys()].filter((i) => dense[i] > 0 && !own.has(i)).length;
        const newItems = [...served.keys()].filter((i) => !own.has(i)).length;
        expect(newItems, `${name} for customer ${u}`).toBe(Math.min(DEPTH, scoredNew));
        // The wholesaler's own purchases fill the source's best five; they still get five new products.
        if (u === bulk) expect(newItems, name).toBe(DEPTH);
      }
    },
  );

  it.each(['als', 'ease'])("When a version's list of %s alone is scored for the wholesaler, Then it holds the source's best new products", async (name) => {
    const { f, fitted } = await foldAndFit(name);
    const ds = f.split.train;
    const bulk = ds.userIndex.get('bulk')!;
    const ctx = userContextsOf(f.split, [bulk]).get(bulk)!;
    const score = createStrategyScorer({ fitted, options: servingOptions({ serving: { strategyCandidates: 10 } }), itemCount: ds.itemIds.length });
    const list = score(ctx, name)!;
    const own = new Set(ctx.history.map((h) => h.item));
    const dense = new Float32Array(ds.itemIds.length);
    fitted.sources.get(name)!.scoreUser(ctx, dense);
    // The source's best new items by its own scores, computed without the cut, to the depth the version keeps.
    const best = [...dense.keys()].filter((i) => dense[i] > 0 && !own.has(i)).sort((a, b) => dense[b] - dense[a] || a - b).slice(0, DEPTH);
    expect(best.length).toBe(DEPTH);
    expect([...list.items].filter((i) => !own.has(i)).map((i) => dense[i])).toEqual(best.map((i) => dense[i]));
  });
});
