import { buildDataset, type Dataset, type ItemInfo, type PurchaseRow } from '../../../src/recommenders/dataset.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
const WORDS = {
  g: ['spade', 'rake', 'hoe', 'fork', 'trowel', 'shears'],
  k: ['cup', 'bowl', 'plate', 'jug', 'mug', 'vase'],
};

/**
 * Two shops in one: group `g` (garden, country UK) and group `k` (kitchen, country FR) share no user,
 * no item, no title word, category or price band. Twelve users per group; user j buys items j, j+1
 * (mod 6) in one order and j+2, j+3 in a later one, so every item has in-group neighbours and every
 * user has exactly two unbought in-group items (j+4, j+5). The right answer for any recommender:
 * nothing crosses groups.
 */
export function twoGroups(): { ds: Dataset; groupOfItem: (item: number) => string; groupOfUser: (user: number) => string } {
  const events: PurchaseRow[] = [];
  const items: ItemInfo[] = [];
  for (const [g, words] of Object.entries(WORDS)) {
    words.forEach((w, n) =>
      items.push({
        id: `${g}${n}`,
        title: g === 'g' ? `wooden garden ${w}` : `glass kitchen ${w}`,
        description: null,
        categories: [g === 'g' ? 'garden' : 'kitchen'],
        price: g === 'g' ? 4 + n * 0.1 : 60 + n,
        attributes: {},
        available: true,
      }),
    );
    for (let j = 0; j < 12; j++) {
      const userId = `${g}-user${j}`;
      const buy = (orderId: string, day: number, n: number) =>
        events.push({ userId, itemId: `${g}${n % 6}`, orderId, ts: T0 + day * DAY + j * 3_600_000, quantity: 1, price: null });
      buy(`${g}${j}-1`, 10 + j, j);
      buy(`${g}${j}-1`, 10 + j, j + 1);
      buy(`${g}${j}-2`, 40 + j, j + 2);
      buy(`${g}${j}-2`, 40 + j, j + 3);
    }
  }
  const users = [...Array(12).keys()].flatMap((j) => [
    { id: `g-user${j}`, attributes: { country: 'UK' } },
    { id: `k-user${j}`, attributes: { country: 'FR' } },
  ]);
  const ds = buildDataset({ events, items, users });
  return {
    ds,
    groupOfItem: (i) => ds.itemIds[i][0],
    groupOfUser: (u) => ds.userIds[u][0],
  };
}
