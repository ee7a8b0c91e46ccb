import { describe, expect, it } from 'vitest';
import { RollingFold } from '../../../src/evaluation/rolling-fold.js';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { fitRecipe, parseRecipe } from '../../../src/training/recipe.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** A deterministic generator (mulberry32), so the shop is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 40 customers who each buy 4 of 15 products (a few popular, a long tail) in the first 30 days and one
 * more in the validation window; `copies` times over, each copy with its own customer ids and the same
 * purchases. Every product's share of the buyers is the same in every size of the shop.
 */
function shop(copies: number): PurchaseRow[] {
  const rand = mulberry32(7);
  const pick = () => `p${Math.floor(15 * rand() ** 2.5)}`;
  const baskets = Array.from({ length: 40 }, () => ({ before: Array.from({ length: 4 }, pick), after: pick() }));
  const rows: PurchaseRow[] = [];
  for (let c = 0; c < copies; c++) {
    baskets.forEach((b, u) => {
      const userId = `c${c}-u${u}`;
      b.before.forEach((itemId, j) => rows.push({ userId, itemId, orderId: `${userId}-${j}`, ts: T0 + (u % 30) * DAY + j, quantity: 1, price: 1 }));
      rows.push({ userId, itemId: b.after, orderId: `${userId}-t`, ts: T0 + 40 * DAY, quantity: 1, price: 1 });
    });
  }
  return rows;
}

/**
 * Novel-mode NDCG@5 of popularity and item-kNN blended with a strong discovery discount, on the window after
 * day 31; `customerShare`: the share of a larger shop's customers the shop is a sample of.
 */
function discountedNdcg(copies: number, discountShare: number, customerShare?: number): number {
  const f = new RollingFold({ events: shop(copies) }, { end: new Date(T0 + 61 * DAY).toISOString(), days: 30, k: 5, fullHistoryOrders: 10, depth: 50, discountShare, customerShare });
  f.fit('popularity', 'popularity', {}, 0);
  f.keep('popularity', 0);
  f.fit('item-knn', 'item-knn', { neighbours: 10, shrink: 0 }, 0);
  f.keep('item-knn', 0);
  const both = { popularity: 1, 'item-knn': 1 };
  return f.score({ weights: { cold: both, warm: both }, popularityDiscount: 1, modes: ['novel'] }).novel.ndcg;
}

describe('the discovery discount in tuning folds', () => {
  it('When the shop is twenty times larger with the same shares of buyers, Then a blend scores as it did: the discount counts buyers in shares of the customers', () => {
    // 40 customers at a share of 0.05 make a unit of 2 buyers; 800 make a unit of 40.
    const small = discountedNdcg(1, 0.05);
    expect(small).toBeGreaterThan(0);
    expect(discountedNdcg(20, 0.05)).toBeCloseTo(small, 9);
  });

  it('When tuning holds a twentieth of a shop\'s customers, Then its fold discounts as the whole shop does, also where the shop\'s unit is held at one buyer', () => {
    // 800 customers at the default share (0.001) make 0.8 buyers a unit, held at 1; the sample of 40 is
    // discounted in a twentieth of that. Counted in the sample's own unit (also held at 1) it would differ.
    const whole = discountedNdcg(20, 0.001);
    expect(discountedNdcg(1, 0.001, 1 / 20)).toBeCloseTo(whole, 9);
    expect(Math.abs(discountedNdcg(1, 0.001) - whole)).toBeGreaterThan(1e-3);
  });

  it('counts a fold\'s buyers in the unit the hybrid trained on the same purchases has', async () => {
    const f = new RollingFold({ events: shop(1) }, { end: new Date(T0 + 61 * DAY).toISOString(), days: 30, k: 5, fullHistoryOrders: 10, depth: 50, discountShare: 0.05 });
    // 40 customers bought before the window: 40 x 0.05 = 2 buyers a unit.
    expect(f.cache.discountUnit).toBe(2);
    const recipe = parseRecipe({ sources: { popularity: { params: {} } }, hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } }, popularityDiscount: 1, discountShare: 0.05 } }, 'r');
    const fitted = await fitRecipe(f.split.train, recipe);
    const meta = decodeArtifact(fitted.hybrid.toArtifact(), { algorithm: 'hybrid', version: 1 }).header.meta as { customers: number; discountShare: number };
    expect(meta.customers * meta.discountShare).toBe(2);
  });

  it('When buyers are counted as they are (share 0), Then the same beta ranks the larger shop differently', () => {
    // The reason for the share: a beta tuned on a sample of a shop's customers would not carry to all of them.
    expect(Math.abs(discountedNdcg(20, 0) - discountedNdcg(1, 0))).toBeGreaterThan(1e-3);
  });
});
