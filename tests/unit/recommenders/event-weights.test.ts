import { describe, expect, it } from 'vitest';
import { alsFactory } from '../../../src/recommenders/als.js';
import { buyAgainFactory } from '../../../src/recommenders/buy-again.js';
import { cooccurrenceFactory } from '../../../src/recommenders/cooccurrence.js';
import { DatasetBuilder, type Dataset, type SignalRow } from '../../../src/recommenders/dataset.js';
import { userItemMatrix, weightedUserItemMatrix } from '../../../src/recommenders/interactions.js';
import { itemKnnFactory } from '../../../src/recommenders/item-knn.js';
import type { Recommender } from '../../../src/recommenders/recommender.js';
import { datasetHistories, userContext } from '../../../src/recommenders/history.js';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { twoGroups } from './two-groups.fixture.js';

const MIN = 60_000;
const T = Date.UTC(2024, 3, 1);

/** The two-groups purchases (garden g*, kitchen k*) rebuilt with the given signals added. */
function withSignals(signals: SignalRow[]): Dataset {
  const base = twoGroups().ds;
  const builder = new DatasetBuilder();
  for (let e = 0; e < base.eventUser.length; e++) {
    builder.add({ userId: base.userIds[base.eventUser[e]], itemId: base.itemIds[base.eventItem[e]], orderId: `o${base.eventOrder[e]}`, ts: base.eventTs[e], quantity: 1, price: null });
  }
  for (const s of signals) builder.addSignal(s);
  return builder.build({ items: base.items, users: base.userIds.map((id, u) => ({ id, attributes: base.userAttributes[u] })) });
}

/**
 * Four garden customers also browse the kitchen: each views g0 and k0 within minutes (a cross-group
 * co-view that no purchase supports), and a newcomer, never a buyer, views and carts k1 and k2.
 */
const crossViews = (weight: number): SignalRow[] => [
  ...[0, 1, 2, 3].flatMap((j) => [
    { userId: `g-user${j}`, itemId: 'g0', ts: T + j * 60 * MIN, weight },
    { userId: `g-user${j}`, itemId: 'k0', ts: T + j * 60 * MIN + 5 * MIN, weight },
  ]),
  { userId: 'visitor', itemId: 'k1', ts: T, weight },
  { userId: 'visitor', itemId: 'k2', ts: T + MIN, weight },
];

/** The artifact's arrays and params, without its trainedAt stamp. */
function content(r: Recommender) {
  const { header, arrays } = decodeArtifact(r.toArtifact());
  return { params: header.params, meta: header.meta, arrays };
}

const knn = (ds: Dataset) => itemKnnFactory.fit(ds, itemKnnFactory.parseParams({ shrink: 1 }));
const neighbourIds = (ds: Dataset, r: Recommender, id: string) => r.similarItems!(ds.itemIndex.get(id)!, 20).map((n) => ds.itemIds[n.item]);

describe('event weights: views, carts and ratings in the interaction matrix', () => {
  it('When every signal weighs 0, Then the dataset and every fitted model are the purchase-only ones', () => {
    const plain = twoGroups().ds;
    const zero = withSignals(crossViews(0));
    expect(zero.signals).toBeUndefined();
    expect(zero.userIds).toEqual(plain.userIds);
    expect(zero.itemIds).toEqual(plain.itemIds);
    for (const factory of [itemKnnFactory, alsFactory, cooccurrenceFactory, buyAgainFactory] as const) {
      const params = factory.parseParams({});
      expect(content(factory.fit(zero, params as never))).toEqual(content(factory.fit(plain, params as never)));
    }
  });

  it('When signals are given, Then the weighted matrix is orders plus the summed signal weights, and purchase times only', () => {
    const ds = withSignals(crossViews(0.25));
    const bought = userItemMatrix(ds);
    const weighted = weightedUserItemMatrix(ds);
    const at = (m: typeof bought, user: string, item: string) => {
      const u = ds.userIndex.get(user)!;
      const i = ds.itemIndex.get(item)!;
      for (let p = m.indptr[u]; p < m.indptr[u + 1]; p++) if (m.indices[p] === i) return { value: m.values[p], lastTs: m.lastTs[p] };
      return undefined;
    };
    // g-user0 bought g0 in one order and viewed it once: 1 + 0.25; k0 only viewed: 0.25, no purchase time.
    expect(at(weighted, 'g-user0', 'g0')).toEqual({ value: 1.25, lastTs: at(bought, 'g-user0', 'g0')!.lastTs });
    expect(at(weighted, 'g-user0', 'k0')).toEqual({ value: 0.25, lastTs: Number.NEGATIVE_INFINITY });
    expect(at(bought, 'g-user0', 'k0')).toBeUndefined();
    // The visitor, who never bought, is numbered after every buyer and has a row of views only.
    expect(ds.userIndex.get('visitor')).toBe(ds.userIds.length - 1);
    expect(at(weighted, 'visitor', 'k1')?.value).toBe(0.25);
  });

  it('When customers co-view items no purchase links, Then item-kNN makes them neighbours, more strongly as the view weight grows', () => {
    const plain = withSignals([]);
    expect(neighbourIds(plain, knn(plain), 'g0').every((id) => id.startsWith('g'))).toBe(true);
    const sims = [0.1, 0.5, 1].map((w) => {
      const ds = withSignals(crossViews(w));
      const model = knn(ds);
      expect(neighbourIds(ds, model, 'g0')).toContain('k0');
      expect(neighbourIds(ds, model, 'k1')).toContain('k2');
      return model.similarItems!(ds.itemIndex.get('g0')!, 20).find((n) => ds.itemIds[n.item] === 'k0')!.score;
    });
    expect(sims[0]).toBeLessThan(sims[1]);
    expect(sims[1]).toBeLessThan(sims[2]);
  });

  it('When a buyer viewed items of the other group, Then ALS scores those items higher for them than without the views', () => {
    const params = alsFactory.parseParams({ factors: 8, regularization: 5, iterations: 10 });
    const scoreOf = (ds: Dataset, user: string, item: string) => {
      const model = alsFactory.fit(ds, params);
      const out = new Float32Array(ds.itemIds.length);
      model.scoreUser(userContext(ds, datasetHistories(ds), ds.userIndex.get(user)!), out);
      return out[ds.itemIndex.get(item)!];
    };
    expect(scoreOf(withSignals(crossViews(0.5)), 'g-user0', 'k0')).toBeGreaterThan(scoreOf(withSignals([]), 'g-user0', 'k0'));
  });

  it('When views fall within the session gap, Then co-occurrence counts the session at the view weight; views hours apart are no pair', () => {
    const session = (gapMin: number): SignalRow[] =>
      [0, 1, 2].flatMap((j) => [
        { userId: `s${j}`, itemId: 'g0', ts: T + j * 1000 * MIN, weight: 0.5 },
        { userId: `s${j}`, itemId: 'k0', ts: T + j * 1000 * MIN + gapMin * MIN, weight: 0.5 },
      ]);
    const params = cooccurrenceFactory.parseParams({ minSupport: 1, score: 'support' });
    const near = withSignals(session(10));
    const pair = cooccurrenceFactory.fit(near, params).boughtTogether(near.itemIndex.get('g0')!, 20).find((p) => near.itemIds[p.item] === 'k0');
    // Three sessions holding both, each at min(0.5, 0.5).
    expect(pair?.support).toBeCloseTo(1.5, 6);
    const far = withSignals(session(120));
    expect(cooccurrenceFactory.fit(far, params).boughtTogether(far.itemIndex.get('g0')!, 20).map((p) => far.itemIds[p.item])).not.toContain('k0');
  });

  it('When signals are added, Then buy-again stays exactly the purchase-only model', () => {
    const params = buyAgainFactory.parseParams({});
    expect(content(buyAgainFactory.fit(withSignals(crossViews(1)), params))).toEqual(content(buyAgainFactory.fit(twoGroups().ds, params)));
  });
});
