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

describe('buy-again repurchase propensity', () => {
  // X: a bought it in two orders, b once -> 1 repeater of 2 buyers. Y: c and d once each -> 0 of 2.
  // Over all 4 (user, item) pairs 1 repeats -> share 0.25. With prior 2:
  //   propensity(X) = (1 + 2 * 0.25) / (2 + 2) = 0.375, propensity(Y) = (0 + 0.5) / 4 = 0.125.
  const row = (userId: string, itemId: string, orderId: string, day: number) => ({ userId, itemId, orderId, ts: day * DAY, quantity: 1, price: null });
  const pds = buildDataset({ events: [row('a', 'X', 'a1', 1), row('a', 'X', 'a2', 5), row('b', 'X', 'b1', 2), row('c', 'Y', 'c1', 3), row('d', 'Y', 'd1', 4)] });
  const X = pds.itemIndex.get('X')!;
  const Y = pds.itemIndex.get('Y')!;
  const once = (item: number, order: string): HistoryEntry => ({ item, ts: 9 * DAY, quantity: 1, order });

  it('weights each own item by propensity^weight, so a habitually rebought item outranks a one-off at equal history', () => {
    const model = buyAgainFactory.fit(pds, buyAgainFactory.parseParams({ halfLifeDays: null, dueWeight: 0, propensityWeight: 1, propensityPrior: 2 }));
    const out = new Float32Array(2);
    model.scoreUser({ user: -1, history: [once(X, 'o1'), once(Y, 'o2')], attributes: {}, now: 10 * DAY }, out);
    expect(out[X]).toBeCloseTo(Math.log(2) * 0.375, 6);
    expect(out[Y]).toBeCloseTo(Math.log(2) * 0.125, 6);
    const squared = buyAgainFactory.fit(pds, buyAgainFactory.parseParams({ halfLifeDays: null, dueWeight: 0, propensityWeight: 2, propensityPrior: 2 }));
    squared.scoreUser({ user: -1, history: [once(X, 'o1')], attributes: {}, now: 10 * DAY }, out);
    expect(out[X]).toBeCloseTo(Math.log(2) * 0.375 ** 2, 6);
  });

  it('keeps the propensities through its artifact, and gives items added since training the mean', () => {
    const model = buyAgainFactory.fit(pds, buyAgainFactory.parseParams({ halfLifeDays: null, dueWeight: 0, propensityWeight: 1, propensityPrior: 2 }));
    const grown = { itemIds: ['NEW', 'Y', 'X'] };
    const loaded = buyAgainFactory.fromArtifact(model.toArtifact(), grown);
    const out = new Float32Array(3);
    const h = (item: number, order: string): HistoryEntry => ({ item, ts: 9 * DAY, quantity: 1, order });
    loaded.scoreUser({ user: -1, history: [h(0, 'o0'), h(1, 'o1'), h(2, 'o2')], attributes: {}, now: 10 * DAY }, out);
    expect(out[2]).toBeCloseTo(Math.log(2) * 0.375, 6);
    expect(out[1]).toBeCloseTo(Math.log(2) * 0.125, 6);
    expect(out[0]).toBeCloseTo(Math.log(2) * 0.25, 6);
  });
});
