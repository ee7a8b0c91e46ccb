import { describe, expect, it } from 'vitest';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { sampleCustomers } from '../../../src/evaluation/tuning-sample.js';

// Review of a45b01a: tune.maxCustomers / tune.maxPurchases were what kept tuning's memory flat as a shop
// grows (docs/SCALING.md: "Tuning on such a sample costs the same for any shop larger than the bounds").
// Now the sample carries `population`, every customer's purchases, and each fold thread copies those columns
// and splits them once per fold (fold-worker.ts: threads x (columns + folds x split)). bench/README measured
// peak RSS 1.64 GB -> 2.72 GB at 420k customers / 2.2M purchases with 2 threads; nothing bounds it at 10x.
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

describe("a tuning sample's population", () => {
  it('When a shop has far more purchases than tune.maxPurchases, Then what the folds fit on stays within a bound set by the recipe, not the shop', () => {
    const rows: PurchaseRow[] = [];
    for (let u = 0; u < 400; u++) for (let d = 0; d < 10; d++) rows.push({ userId: `u${u}`, itemId: `i${(u + d) % 50}`, orderId: `u${u}-${d}`, ts: T0 + d * 7 * DAY, quantity: 1, price: 1 });
    const bounds = { customers: 20, purchases: 300 };
    const sample = sampleCustomers({ events: rows }, bounds);
    expect(sample.kept).toBeLessThanOrEqual(20);
    expect(sample.input.purchases!.length).toBeLessThanOrEqual(300);
    // Observed: 4,000, every purchase of the shop (ten times the shop, ten times this).
    expect(sample.population?.purchases?.length ?? 0).toBeLessThanOrEqual(10 * bounds.purchases);
    // Every purchase of a scored customer stays (the folds validate their histories), and of the others the
    // most recent: no purchase left out is later than one kept.
    const pop = sample.population!.purchases!;
    const scored = new Set(sample.scored);
    const keptTimes = new Map<string, number>();
    for (let i = 0; i < pop.length; i++) keptTimes.set(`${pop.userIds[pop.user[i]]}|${pop.orderIds[pop.order[i]]}`, pop.ts[i]);
    const scoredRows = rows.filter((r) => scored.has(r.userId));
    expect(scoredRows.every((r) => keptTimes.has(`${r.userId}|${r.orderId}`))).toBe(true);
    const others = rows.filter((r) => !scored.has(r.userId));
    const keptOthers = others.filter((r) => keptTimes.has(`${r.userId}|${r.orderId}`));
    const leftOut = others.filter((r) => !keptTimes.has(`${r.userId}|${r.orderId}`));
    expect(keptOthers.length).toBe(10 * bounds.purchases - scoredRows.length);
    expect(Math.max(...leftOut.map((r) => r.ts))).toBeLessThanOrEqual(Math.min(...keptOthers.map((r) => r.ts)));
  });
});
