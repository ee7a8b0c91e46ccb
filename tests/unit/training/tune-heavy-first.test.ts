import { describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';
import { parseRecipe } from '../../../src/training/recipe.js';
import { tuneRecipeOn } from '../../../src/training/tune-for-training.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

/** FNV-1a written out again (the draw's documented order: smallest hash first), to place the wholesaler. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** 20 weekly customers (3 or 2 lines a week, 28-45 lines each) and one wholesaler with 400 lines, first in the draw. */
function shop(): { rows: PurchaseRow[]; wholesaler: string } {
  const rows: PurchaseRow[] = [];
  for (let u = 0; u < 20; u++) {
    for (let day = 1 + (u % 3), w = 0; day < 100; day += 7, w++) {
      rows.push({ userId: `u${u}`, itemId: `own${u}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
      rows.push({ userId: `u${u}`, itemId: `t${u + w}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
      if (u % 2 === 0) rows.push({ userId: `u${u}`, itemId: 'best', orderId: `u${u}-${day}`, ts: T0 + day * DAY, quantity: 1, price: null });
    }
  }
  const smallest = Math.min(...Array.from({ length: 20 }, (_, u) => fnv(`u${u}`)));
  let n = 0;
  while (fnv(`w${n}`) >= smallest) n++;
  const wholesaler = `w${n}`;
  for (let k = 0; k < 400; k++) rows.push({ userId: wholesaler, itemId: `t${k % 40}`, orderId: `${wholesaler}-${k % 90}`, ts: T0 + (1 + (k % 90)) * DAY, quantity: 1, price: null });
  return { rows, wholesaler };
}

describe('R3: one customer past tune.maxPurchases, first in the draw', () => {
  it('does not leave tuning with nobody: the other customers whose purchases fit are still tuned on', async () => {
    const { rows, wholesaler } = shop();
    // The wholesaler is drawn first (smallest hash), and alone holds more than the bound of 300.
    expect(fnv(wholesaler)).toBeLessThan(Math.min(...Array.from({ length: 20 }, (_, u) => fnv(`u${u}`))));
    const sample = sampleCustomers({ events: rows }, { customers: 5000, purchases: 300 });
    // The 20 weekly customers hold 20 x 14-15 weeks x 2-3 lines, ~700 lines: some of them fit in 300.
    // Today: 0 kept, and tuning is skipped as "window 1 of 2 has 0 customers who bought in it".
    expect(sample.kept).toBeGreaterThan(0);
    const recipe = parseRecipe(
      { sources: { popularity: { params: { attributes: [] } }, 'buy-again': {} }, hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } } }, tune: { folds: 2, days: 20, maxPurchases: 300 } },
      'bounded',
    );
    const tuned = await tuneRecipeOn({ events: rows }, recipe, undefined);
    expect(tuned.validation).not.toHaveProperty('skipped');
  }, 60_000);
});
