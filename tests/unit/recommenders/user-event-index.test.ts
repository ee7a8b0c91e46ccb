import { describe, expect, it } from 'vitest';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { datasetHistories, indexedHistory, userEventIndex } from '../../../src/recommenders/history.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';

const DAY = 86_400_000;

describe('histories read through the user event index', () => {
  it("When customers' purchases are interleaved in time, Then each customer's indexed history is their history, in time order, and a customer without purchases has none", () => {
    const rand = mulberry32(3);
    const events: PurchaseRow[] = [];
    for (let e = 0; e < 400; e++) {
      const u = Math.floor(rand() * 30);
      events.push({ userId: `u${u}`, itemId: `i${Math.floor(rand() * 50)}`, orderId: `o${u}-${e % 7}`, ts: Math.floor(rand() * 90) * DAY, quantity: 1 + (e % 3), price: null });
    }
    const ds = buildDataset({ events, users: [{ id: 'nobody', attributes: {} }] });
    const index = userEventIndex(ds);
    const histories = datasetHistories(ds);
    for (let u = 0; u < ds.userIds.length; u++) {
      const history = indexedHistory(ds, index, u);
      expect(history).toEqual(histories[u]);
      for (let p = 1; p < history.length; p++) expect(history[p].ts).toBeGreaterThanOrEqual(history[p - 1].ts);
    }
    expect(indexedHistory(ds, index, ds.userIndex.get('nobody')!)).toEqual([]);
    expect(histories.filter((h) => h.length > 0)).toHaveLength(30);
  });
});
