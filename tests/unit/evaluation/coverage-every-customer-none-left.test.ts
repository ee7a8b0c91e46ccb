import { describe, expect, it } from 'vitest';
import { RollingFold, type FoldSpec } from '../../../src/evaluation/rolling-fold.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { DAY, END, T0 } from '../../helpers/taste-groups-shop.js';

// tune.coverageEstimate `every-customer` on a window where no customer the sample left out bought anything new
// (reviewer r5): the sample left out only a customer who bought long before the window, so the fold lists no one
// for coverage only. A source fitted on the sample (ALS) must still fit there, as with `sample`.
const events: PurchaseRow[] = [];
for (let u = 0; u < 30; u++) {
  for (let day = 1 + (u % 7), n = 0; day < 120; day += 10, n++) {
    for (const i of [(u * 7 + n * 3) % 60, (u * 11 + n * 5 + 1) % 60]) events.push({ userId: `u${u}`, itemId: `g${u % 3}-${i}`, orderId: `u${u}-${day}`, ts: T0 + day * DAY + u * 60_000, quantity: 1, price: null });
  }
}
// The customer left out: two orders in the first days, none in the window.
events.push({ userId: 'early', itemId: 'g0-1', orderId: 'early-1', ts: T0 + DAY, quantity: 1, price: null });
events.push({ userId: 'early', itemId: 'g0-2', orderId: 'early-2', ts: T0 + 2 * DAY, quantity: 1, price: null });

describe('every-customer on a window where the sample left out no one who bought something new', () => {
  const spec: FoldSpec = { end: new Date(END).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: 200 };
  const scored = Array.from({ length: 30 }, (_, u) => `u${u}`);

  it('When ALS is fitted on the sample, Then it fits and scores as with sample coverage, listing no one apart', () => {
    const counted = new RollingFold({ events }, { ...spec, scored, coverageEstimate: 'every-customer' });
    const sample = new RollingFold({ events }, { ...spec, scored });
    for (const fold of [counted, sample]) {
      fold.fit('als', 'als', { factors: 4, iterations: 3, seed: 1 }, 0);
      fold.keep('als', 0);
    }
    expect(counted.info().listedOnly).toBe(0);
    const blend = { weights: { cold: { als: 1 }, warm: { als: 1 } } };
    expect(counted.score(blend)).toEqual(sample.score(blend));
  });
});
