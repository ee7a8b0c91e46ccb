import type { RollingFold } from '../../../src/evaluation/rolling-fold.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { BlendScratch } from '../../../src/recommenders/hybrid.js';

export const DAY = 86_400_000;
export const T0 = Date.parse('2026-01-01T00:00:00Z');

/**
 * Six kinds of 10 products (kind = floor(i / 10)); 60 customers each buy 2 products of one kind in each
 * of 4 orders before day 60 and one more after it. One wholesaler, `bulk`, has bought 25 products, i20..i44
 * (kinds 2 and 3 whole and half of kind 4), and buys once more after day 60: more than a small source
 * limit or depth holds.
 */
export function wholesalerShop(): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  const buy = (userId: string, item: number, day: number, order: string) => rows.push({ userId, itemId: `i${item}`, orderId: order, ts: T0 + day * DAY, quantity: 1, price: 1 });
  for (let u = 0; u < 60; u++) {
    const kind = u % 6;
    for (let o = 0; o < 4; o++) for (let k = 0; k < 2; k++) buy(`u${u}`, kind * 10 + ((u + o * 3 + k) % 10), (u % 10) + o * 12, `u${u}-${o}`);
    buy(`u${u}`, kind * 10 + ((u + 7) % 10), 65 + (u % 20), `u${u}-t`);
  }
  for (let o = 0; o < 5; o++) for (let k = 0; k < 5; k++) buy('bulk', 20 + o * 5 + k, o * 10, `bulk-${o}`);
  buy('bulk', 47, 70, 'bulk-t');
  return rows;
}

/**
 * Source `name`'s part of customer `j`'s list (the j-th of the fold's cached customers) as tuning keeps it
 * (the fold's cached parts) and as the served hybrid blended it last into `scratch`: item -> score, each.
 */
export function tunedAndServedParts(f: RollingFold, scratch: BlendScratch, name: string, j: number): { tuned: Map<number, number>; served: Map<number, number> } {
  const part = f.cache.parts.get(name)!;
  const tuned = new Map<number, number>();
  for (let p = part.indptr[j]; p < part.indptr[j + 1]; p++) tuned.set(part.items[p], part.scores[p]);
  const blended = scratch.sources.get(name)!.part;
  const served = new Map<number, number>();
  for (let p = 0; p < blended.size; p++) if (blended.values[blended.item(p)] > 0) served.set(blended.item(p), blended.values[blended.item(p)]);
  return { tuned, served };
}
