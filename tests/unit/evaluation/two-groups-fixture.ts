import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { parseRecipe } from '../../../src/training/recipe.js';

export const DAY = 86_400_000;
export const T0 = Date.parse('2011-01-01T00:00:00Z');

/**
 * Two shops in one: users g0-* buy items a*, users g1-* buy items b*. Before the cutoff each user
 * buys three items of their group; after it, one more item of their group that they never bought.
 */
export function twoGroups(): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  for (let g = 0; g < 2; g++) {
    const prefix = g === 0 ? 'a' : 'b';
    for (let u = 0; u < 12; u++) {
      const user = `g${g}-${u}`;
      for (let j = 0; j < 3; j++) {
        rows.push({ userId: user, itemId: `${prefix}${(u + j) % 6}`, orderId: `${user}-o${j}`, ts: T0 + (u + j) * DAY, quantity: 1, price: 1 });
      }
      rows.push({ userId: user, itemId: `${prefix}${(u + 3) % 6}`, orderId: `${user}-t`, ts: T0 + 100 * DAY, quantity: 1, price: 1 });
    }
  }
  return rows;
}

export const recipe = parseRecipe(
  {
    name: 'tiny',
    sources: {
      popularity: { params: {} },
      'item-knn': { params: { neighbours: 5, shrink: 0 } },
    },
    hybrid: { weights: { cold: { popularity: 1, 'item-knn': 1 }, warm: { popularity: 0.2, 'item-knn': 1 } } },
  },
  'tiny',
);
