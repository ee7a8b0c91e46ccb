import { buildDataset, type Dataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';

const DAY = 86_400_000;

/** A shop with a long tail: 300 products bought with Zipf-like odds by 150 customers of 1-12 purchases in up to 3 orders. */
export function longTailShop(): Dataset {
  const rand = mulberry32(11);
  const items = 300;
  const odds = Array.from({ length: items }, (_, i) => 1 / (i + 1));
  const total = odds.reduce((a, b) => a + b, 0);
  const pick = () => {
    let r = rand() * total;
    for (let i = 0; i < items; i++) if ((r -= odds[i]) <= 0) return i;
    return items - 1;
  };
  const events: PurchaseRow[] = [];
  for (let u = 0; u < 150; u++) {
    const n = 1 + Math.floor(rand() * 12);
    for (let e = 0; e < n; e++) events.push({ userId: `u${u}`, itemId: `i${pick()}`, orderId: `o${u}-${e % 3}`, ts: (e + 1) * DAY, quantity: 1, price: null });
  }
  return buildDataset({ events });
}
