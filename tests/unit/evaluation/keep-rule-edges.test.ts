import { describe, expect, it } from 'vitest';
import { beatsEveryFold, keepDecision, keepOwnHalfAsServed, type KeepInput } from '../../../src/evaluation/keep-rule.js';
import { tuneRollingOrigin } from '../../../src/evaluation/rolling-tune.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { END, tasteGroupPurchases } from '../../helpers/taste-groups-shop.js';

/**
 * The keep rule's edges (keep-rule.ts). A tie at NDCG 1 (both lists perfect, as on a window of few customers)
 * carries no evidence: it is no loss for the blend where it wins the other folds, and no win where it wins none.
 * Judged objectives as the taste-groups shop's tuning gave them (rolling-tune.test.ts, ALS, EASE, capped popularity):
 * the blend's new-item lists beat ALS's on the first two folds, and both are perfect on the last.
 */
const tiedAtTheTop: KeepInput = {
  blend: { novel: [0.5321, 0.7537, 1], all: [0.6771, 0.5898, 0.8016] },
  sources: {
    als: { novel: [0.5122, 0.74, 1], all: [0.5044, 0.4006, 0.5022] },
    ease: { novel: [0.5684, 0.6835, 1], all: [0.5245, 0.3443, 0.3264] },
  },
  novelCandidates: ['als', 'ease'],
  ownCandidates: ['als', 'ease'],
  blendActsOnCap: true,
};

describe('keep rule: a tie at the maximum', () => {
  it('is no loss: per-mode keeps the blend\'s new-item weights that win every other fold (observed before: ALS served them)', () => {
    expect(keepDecision('per-mode', tiedAtTheTop)).toEqual({ novel: 'blend', all: 'blend' });
    expect(keepDecision('per-mode-single', tiedAtTheTop)).toEqual({ novel: 'blend', all: 'blend' });
  });

  it('is no win: folds all tied at the maximum keep the single source (nothing shows the blend better)', () => {
    expect(beatsEveryFold([1, 1], [1, 1])).toBe(false);
    const allPerfect = { ...tiedAtTheTop, blend: { novel: [1, 1, 1], all: tiedAtTheTop.blend.all } };
    const sources = { ...tiedAtTheTop.sources, als: { novel: [1, 1, 1], all: tiedAtTheTop.sources.als.all } };
    expect(keepDecision('per-mode', { ...allPerfect, sources }).novel).toBe('als');
  });

  it('a tie below the maximum, or a fold lost at it, is still a loss', () => {
    expect(beatsEveryFold([0.6, 0.8], [0.5, 0.8])).toBe(false);
    expect(beatsEveryFold([0.6, 0.99], [0.5, 1])).toBe(false);
    expect(beatsEveryFold([0.6, 1], [0.5, 1])).toBe(true);
    expect(beatsEveryFold([0.6, 1], [0.5, 0.99])).toBe(true);
  });

  it('holds for the own half as served and for the sum rule (novel + all, at most 2)', () => {
    expect(keepOwnHalfAsServed({ novel: 'als', all: 'blend' }, [0.6, 0.5, 1], { ...tiedAtTheTop, sources: { ...tiedAtTheTop.sources, ease: { novel: [0, 0, 0], all: [0.55, 0.45, 1] } }, ownCandidates: ['ease'] })).toEqual({ novel: 'als', all: 'blend' });
    const perfectBoth = { ...tiedAtTheTop, blend: { novel: [0.6, 1], all: [0.7, 1] }, sources: { als: { novel: [0.5, 1], all: [0.6, 1] } }, novelCandidates: ['als'], ownCandidates: ['als'] };
    expect(keepDecision('sum', perfectBoth)).toEqual({ novel: 'blend', all: 'blend' });
    // At 1 the sum is not at its maximum: the tie there is a loss as before.
    const halfPerfect = { ...perfectBoth, blend: { novel: [0.6, 1], all: [0.7, 0] }, sources: { als: { novel: [0.5, 1], all: [0.6, 0] } } };
    expect(keepDecision('sum', halfPerfect)).toEqual({ novel: 'als', all: 'als' });
  });
});

/**
 * The taste-groups shop where every order also brings the shop's four hits: popularity ranks them (and so the
 * all-mode lists) best alone. The recipe caps popularity and has no source of own items.
 */
function hitsShop(): PurchaseRow[] {
  const rows = tasteGroupPurchases();
  const orders = new Map(rows.map((r) => [r.orderId, r]));
  for (const r of orders.values()) for (let h = 0; h < 4; h++) rows.push({ ...r, itemId: `hit${h}` });
  return rows;
}

describe('keep rule: the own half in a recipe with no source of own items', () => {
  it('is judged against the sources that may serve alone, not a capped one (observed before: capped popularity alone served own items)', async () => {
    const raw = {
      sources: { popularity: { params: { attributes: [] } }, 'item-knn': { params: { neighbours: 2 } } },
      hybrid: { weights: { cold: { popularity: 1 }, warm: { 'item-knn': 1 } }, sourceCap: { sources: ['popularity'], share: 0.3 } },
    };
    // No search (rounds 0): the tuned blend is the recipe's, item-kNN for warm customers.
    const { validation: v, recipe } = await tuneRollingOrigin({ events: hitsShop() }, parseRecipe(raw, 'hits'), raw, { folds: 3, days: 30, end: new Date(END).toISOString(), grid: [0, 0.5, 1, 2], discountGrid: [0, 0.3], rounds: 0, variants: {} });
    const { sources, blend } = v.modes!;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Preconditions: capped popularity has the best all-mode lists alone and beats the blend's on a fold; item-kNN is beaten on every fold.
    expect(mean(sources.popularity.all)).toBeGreaterThan(mean(sources['item-knn'].all));
    expect(blend.all.some((x, f) => x < sources.popularity.all[f])).toBe(true);
    blend.all.forEach((x, f) => expect(x).toBeGreaterThan(sources['item-knn'].all[f]));
    for (const decision of Object.values(v.keptBy!)) expect(decision.all).not.toBe('popularity');
    expect(v.served!.all).toBe('blend');
    expect(recipe.hybrid).not.toHaveProperty('repeatWeights.warm.popularity');
  }, 60_000);
});
