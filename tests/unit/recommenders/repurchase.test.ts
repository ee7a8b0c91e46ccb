import { describe, expect, it } from 'vitest';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from '../../../src/recommenders/artifact.js';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import type { HistoryEntry } from '../../../src/recommenders/recommender.js';
import { itemFacts, pairFeatures, REPURCHASE_FEATURES, repurchaseFactory } from '../../../src/recommenders/repurchase.js';
import { SparseScores } from '../../../src/recommenders/sparse-scores.js';

const DAY = 86_400_000;
const row = (userId: string, itemId: string, orderId: string, day: number, quantity = 1): PurchaseRow => ({ userId, itemId, orderId, ts: day * DAY, quantity, price: null });
const feature = (name: (typeof REPURCHASE_FEATURES)[number]) => REPURCHASE_FEATURES.indexOf(name);

/**
 * 40 customers each buy HABIT in orders on days 10, 20, 30 and 40 and ONEOFF once on day 45. In the
 * label window (the last 30 days, from day 70 to day 100) every customer orders again and buys
 * `rebought`: the habit (as shoppers do) or, in the mirror shop, the one-off item.
 */
function shop(rebought: 'HABIT' | 'ONEOFF'): PurchaseRow[] {
  const rows: PurchaseRow[] = [];
  for (let c = 0; c < 40; c++) {
    const u = `c${c}`;
    for (const day of [10, 20, 30, 40]) rows.push(row(u, 'HABIT', `${u}-${day}`, day));
    rows.push(row(u, 'ONEOFF', `${u}-45`, 45));
    rows.push(row(u, rebought, `${u}-80`, 80 + (c % 20)));
    rows.push(row(u, 'NEW', `${u}-80`, 80 + (c % 20)));
  }
  return rows;
}

/** A new customer with the same pattern, scored at day 100. */
function scoresOf(rebought: 'HABIT' | 'ONEOFF') {
  const ds = buildDataset({ events: shop(rebought) });
  const model = repurchaseFactory.fit(ds, repurchaseFactory.parseParams({}));
  const idx = (id: string) => ds.itemIndex.get(id)!;
  const history: HistoryEntry[] = [
    ...[60, 70, 80, 90].map((day) => ({ item: idx('HABIT'), ts: day * DAY, quantity: 1, order: `h${day}` })),
    { item: idx('ONEOFF'), ts: 95 * DAY, quantity: 1, order: 'o95' },
  ];
  const out = new Float32Array(ds.itemIds.length).fill(-1);
  model.scoreUser({ user: -1, history, attributes: {}, now: 100 * DAY }, out);
  return { ds, model, history, habit: out[idx('HABIT')], oneoff: out[idx('ONEOFF')], unbought: out[idx('NEW')] };
}

describe('repurchase (learned)', () => {
  it('learns from the label window which own items come back: the habit where shoppers rebuy habits', () => {
    const s = scoresOf('HABIT');
    expect(s.habit).toBeGreaterThan(s.oneoff);
    expect(s.unbought).toBe(0);
  });

  it('and the one-off item in a shop where customers rebuy what they bought once: the ranking is learned, not fixed', () => {
    const s = scoresOf('ONEOFF');
    expect(s.oneoff).toBeGreaterThan(s.habit);
    expect(s.unbought).toBe(0);
  });

  it('scores probabilities, the same sparsely as densely', () => {
    const { ds, model, history } = scoresOf('HABIT');
    const ctx = { user: -1, history, attributes: {}, now: 100 * DAY };
    const dense = new Float32Array(ds.itemIds.length);
    model.scoreUser(ctx, dense);
    const sparse = new SparseScores(ds.itemIds.length);
    model.scoreSparse!(ctx, sparse, 10);
    const got = new Float32Array(ds.itemIds.length);
    for (let p = 0; p < sparse.size; p++) got[sparse.item(p)] = sparse.values[sparse.item(p)];
    expect([...got]).toEqual([...dense]);
    for (const v of dense) expect(v >= 0 && v < 1).toBe(true);
  });

  it('falls back to frequency and recency when the label window has no repurchase to learn from', () => {
    // Nobody buys in the last 30 days: no labelled pairs at all.
    const ds = buildDataset({ events: [row('a', 'X', 'a1', 1), row('a', 'X', 'a2', 2), row('a', 'Y', 'a3', 3), row('b', 'Z', 'b1', 60)] });
    const model = repurchaseFactory.fit(ds, repurchaseFactory.parseParams({}));
    const out = new Float32Array(ds.itemIds.length);
    const at = (id: string) => ds.itemIndex.get(id)!;
    const history: HistoryEntry[] = [
      { item: at('X'), ts: 1 * DAY, quantity: 1, order: 1 },
      { item: at('X'), ts: 2 * DAY, quantity: 1, order: 2 },
      { item: at('Y'), ts: 2 * DAY, quantity: 1, order: 2 },
      { item: at('Z'), ts: 50 * DAY, quantity: 1, order: 3 },
    ];
    model.scoreUser({ user: -1, history, attributes: {}, now: 60 * DAY }, out);
    // X: two orders; Y: one, as old as X's last; Z: one, recent.
    expect(out[at('X')]).toBeGreaterThan(out[at('Y')]);
    expect(out[at('Z')]).toBeGreaterThan(out[at('Y')]);
  });

  it('survives its artifact; an item added since training gets the mean repurchase share and no buyers', () => {
    const { ds, model, history } = scoresOf('HABIT');
    const ctx = { user: -1, history, attributes: {}, now: 100 * DAY };
    const before = new Float32Array(ds.itemIds.length);
    model.scoreUser(ctx, before);
    const after = new Float32Array(ds.itemIds.length);
    repurchaseFactory.fromArtifact(model.toArtifact(), ds).scoreUser(ctx, after);
    expect([...after]).toEqual([...before]);

    // A catalogue with an item in front: indices move, scores follow their items.
    const grown = { itemIds: ['ADDED', ...ds.itemIds] };
    const moved = new Float32Array(grown.itemIds.length);
    const shifted = history.map((h) => ({ ...h, item: h.item + 1 }));
    repurchaseFactory.fromArtifact(model.toArtifact(), grown).scoreUser({ ...ctx, history: [...shifted, { item: 0, ts: 99 * DAY, quantity: 1, order: 'x' }] }, moved);
    for (let i = 0; i < ds.itemIds.length; i++) if (before[i] > 0) expect(moved[i + 1]).toBeGreaterThan(0);
    expect(moved[0]).toBeGreaterThan(0);
  });

  it('rejects an artifact that is not its own or has the wrong number of coefficients', () => {
    const { ds, model } = scoresOf('HABIT');
    expect(() => repurchaseFactory.fromArtifact(new Uint8Array(4), ds)).toThrow(ArtifactFormatError);
    const { header, arrays } = decodeArtifact(model.toArtifact());
    const short = encodeArtifact(header, { ...arrays, coefficients: (arrays.coefficients as Float64Array).slice(1) });
    expect(() => repurchaseFactory.fromArtifact(short, ds)).toThrow(/wrong number of coefficients/);
    const noFacts = encodeArtifact(header, { coefficients: arrays.coefficients });
    expect(() => repurchaseFactory.fromArtifact(noFacts, ds)).toThrow(/propensity does not match the item list/);
  });
});

describe('repurchase features', () => {
  const ds = buildDataset({
    events: [row('a', 'X', 'a1', 0), row('a', 'X', 'a2', 10), row('b', 'X', 'b1', 25), row('b', 'Y', 'b1', 25), row('c', 'Y', 'c1', 40), row('c', 'Y', 'c2', 200)],
  });
  const params = repurchaseFactory.parseParams({ propensityPrior: 0, recentDays: 20, trendDays: 10 });
  const at = (id: string) => ds.itemIndex.get(id)!;

  it('counts item facts from the purchases before the reference time only', () => {
    // Before day 41: X bought by a (2 orders) and b (1): share 1/2. Y by b and c, once each: 0.
    // Buyers in the 20 days before: X b (day 25), Y b and c. In the 10 days before: Y c only.
    const facts = itemFacts(ds, 41 * DAY, params);
    expect(facts.propensity[at('X')]).toBeCloseTo(0.5, 6);
    expect(facts.propensity[at('Y')]).toBe(0);
    expect(facts.buyers[at('X')]).toBeCloseTo(Math.log(3), 6);
    expect(facts.recent[at('X')]).toBeCloseTo(Math.log(2), 6);
    expect(facts.recent[at('Y')]).toBeCloseTo(Math.log(3), 6);
    expect(facts.trend[at('X')]).toBe(0);
    expect(facts.trend[at('Y')]).toBeCloseTo(Math.log(2), 6);
    // c's second order of Y (day 200) is after the reference time and changes none of it.
  });

  it('describes a customer’s item by its orders, timing, share and cycle', () => {
    const facts = itemFacts(ds, 41 * DAY, params);
    // X in orders on days 10 and 20 (two lines in the first), Y once on day 20; scored at day 30.
    const history: HistoryEntry[] = [
      { item: at('X'), ts: 10 * DAY, quantity: 2, order: 1 },
      { item: at('X'), ts: 10 * DAY, quantity: 1, order: 1 },
      { item: at('X'), ts: 20 * DAY, quantity: 3, order: 2 },
      { item: at('Y'), ts: 20 * DAY, quantity: 1, order: 2 },
    ];
    const seen = new Map<number, number[]>();
    pairFeatures(history, 30 * DAY, facts, (item, x) => seen.set(item, [...x]));
    const x = seen.get(at('X'))!;
    expect(x[feature('log orders with the item')]).toBeCloseTo(Math.log(3), 9);
    expect(x[feature('log days since the item was last bought')]).toBeCloseTo(Math.log(11), 9);
    expect(x[feature('log days since the item was first bought')]).toBeCloseTo(Math.log(21), 9);
    expect(x[feature("share of the customer's orders with the item")]).toBe(1);
    expect(x[feature("log customer's orders")]).toBeCloseTo(Math.log(3), 9);
    expect(x[feature('log quantity bought')]).toBeCloseTo(Math.log(7), 9);
    // Interval 10 days, 10 days since: exactly due.
    expect(x[feature('item is due: closeness of the days since last bought to its usual interval')]).toBeCloseTo(1, 9);
    expect(x[feature('recency: 0.5^(days since last bought / 60)')]).toBeCloseTo(Math.pow(0.5, 10 / 60), 9);
    expect(x[feature("item's repurchase share")]).toBeCloseTo(0.5, 6);
    const y = seen.get(at('Y'))!;
    expect(y[feature("share of the customer's orders with the item")]).toBe(0.5);
    expect(y[feature('item is due: closeness of the days since last bought to its usual interval')]).toBe(0);
  });
});
