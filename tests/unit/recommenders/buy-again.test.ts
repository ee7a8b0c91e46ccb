import { describe, expect, it } from 'vitest';
import { buyAgainFactory } from '../../../src/recommenders/buy-again.js';
import { buildDataset } from '../../../src/recommenders/dataset.js';
import type { HistoryEntry } from '../../../src/recommenders/recommender.js';

const DAY = 86_400_000;
const ITEMS = ['CYCLIC', 'RECENT', 'ONCE', 'NEVER'];
const ds = buildDataset({ events: [], items: ITEMS.map((id) => ({ id, title: id, categories: [], price: null, attributes: {}, available: true })) });
const idx = (id: string) => ds.itemIndex.get(id)!;
const buy = (id: string, day: number): HistoryEntry => ({ item: idx(id), ts: day * DAY, quantity: 1, order: `${id}@${day}` });
/**
 * now = day 100, half-life 30 days, due width 0.5.
 * CYCLIC: days 10, 40, 70 -> cycle 30, 30 days since -> due 1, recency 0.5.
 * RECENT: days 90, 94, 98 -> cycle 4, 2 days since -> due exp(-ln(0.5)^2 / 0.5) = 0.38255, recency 0.5^(2/30) = 0.95484.
 * ONCE: day 99 -> no cycle, recency 0.5^(1/30) = 0.97716.
 */
const history = [buy('CYCLIC', 10), buy('CYCLIC', 40), buy('CYCLIC', 70), buy('RECENT', 90), buy('RECENT', 94), buy('RECENT', 98), buy('ONCE', 99)];
const ctx = { user: -1, history, attributes: {}, now: 100 * DAY };

function score(params: unknown) {
  const out = new Float32Array(ITEMS.length).fill(-1);
  buyAgainFactory.fit(ds, buyAgainFactory.parseParams(params)).scoreUser(ctx, out);
  return Object.fromEntries(ITEMS.map((id) => [id, out[idx(id)]]));
}

describe('buy-again', () => {
  it('ranks an item that is due on its purchase cycle first, above more recent ones', () => {
    const s = score({ halfLifeDays: 30, dueWeight: 1, dueWidth: 0.5 });
    expect(s.CYCLIC).toBeCloseTo(Math.log(4) * (0.5 + 1), 5); // 2.07944
    expect(s.RECENT).toBeCloseTo(Math.log(4) * (0.95484 + 0.38255), 4); // 1.85401
    expect(s.ONCE).toBeCloseTo(Math.log(2) * 0.97716, 4); // 0.67732
    expect(s.NEVER).toBe(0);
    expect(s.CYCLIC).toBeGreaterThan(s.RECENT);
  });

  it('without the due factor falls back to frequency times recency, so the recent repeat wins', () => {
    const s = score({ halfLifeDays: 30, dueWeight: 0 });
    expect(s.RECENT).toBeCloseTo(Math.log(4) * 0.95484, 4);
    expect(s.CYCLIC).toBeCloseTo(Math.log(4) * 0.5, 5);
    expect(s.RECENT).toBeGreaterThan(s.CYCLIC);
  });

  it('counts distinct orders, not lines: two lines of one order are one purchase', () => {
    const out = new Float32Array(ITEMS.length);
    const model = buyAgainFactory.fit(ds, buyAgainFactory.parseParams({ halfLifeDays: null, dueWeight: 0 }));
    const twice = { ...buy('ONCE', 99), order: 'same' };
    model.scoreUser({ ...ctx, history: [twice, twice] }, out);
    expect(out[idx('ONCE')]).toBeCloseTo(Math.log(2), 6);
  });
});
