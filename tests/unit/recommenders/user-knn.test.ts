import { describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../../src/recommenders/artifact.js';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { itemKnnFactory } from '../../../src/recommenders/item-knn.js';
import type { HistoryEntry } from '../../../src/recommenders/recommender.js';
import { basketProfile, userKnnFactory } from '../../../src/recommenders/user-knn.js';

const DAY = 86_400_000;
const row = (userId: string, itemId: string, orderId: string, day: number): PurchaseRow => ({ userId, itemId, orderId, ts: day * DAY, quantity: 1, price: null });

/**
 * u1: o1 (day 1) A, B; o2 (day 2) A, C.  u2: o3 A, B, D.  u3: o4 E.  u4: o5 C, F.
 * With orderDecay 0.5, u1's newest order weighs 1 and the one before 0.5 (total 1.5), so
 * u1 = {A: 1, B: 1/3, C: 2/3}; u2 = {A: 1, B: 1, D: 1}; u3 = {E: 1}; u4 = {C: 1, F: 1}.
 */
const ds = buildDataset({
  events: [
    row('u1', 'A', 'o1', 1),
    row('u1', 'B', 'o1', 1),
    row('u1', 'A', 'o2', 2),
    row('u1', 'C', 'o2', 2),
    row('u2', 'A', 'o3', 3),
    row('u2', 'B', 'o3', 3),
    row('u2', 'D', 'o3', 3),
    row('u3', 'E', 'o4', 4),
    row('u4', 'C', 'o5', 5),
    row('u4', 'F', 'o5', 5),
  ],
});
const idx = (id: string) => ds.itemIndex.get(id)!;
const historyOf = (user: string): HistoryEntry[] => {
  const u = ds.userIndex.get(user)!;
  const out: HistoryEntry[] = [];
  for (let e = 0; e < ds.eventUser.length; e++) {
    if (ds.eventUser[e] === u) out.push({ item: ds.eventItem[e], ts: ds.eventTs[e], quantity: 1, order: ds.eventOrder[e] });
  }
  return out;
};
const scores = (model: ReturnType<typeof userKnnFactory.fit>, user: number, history: HistoryEntry[]) => {
  const out = new Float32Array(ds.itemIds.length);
  model.scoreUser({ user, history, attributes: {} }, out);
  return Object.fromEntries(ds.itemIds.map((id, i) => [id, out[i]]));
};

// Cosines with u1 = (A 1, B 1/3, C 2/3): |u1| = sqrt(14/9).
const norm1 = Math.sqrt(14 / 9);
const cos12 = (1 + 1 / 3) / (norm1 * Math.sqrt(3)); // 0.6172
const cos14 = 2 / 3 / (norm1 * Math.sqrt(2)); // 0.3780

describe('user-kNN (decayed basket profiles)', () => {
  it('builds the profile as the decayed average of the orders, newest order weighing 1', () => {
    const p = basketProfile(historyOf('u1'), ds.itemIds.length, 0.5);
    expect(p.get(idx('A'))).toBeCloseTo(1, 6);
    expect(p.get(idx('B'))).toBeCloseTo(1 / 3, 6);
    expect(p.get(idx('C'))).toBeCloseTo(2 / 3, 6);
    expect(p.size).toBe(3);
  });

  it('mixes the own profile with the similarity-weighted mean of the neighbours, never counting the customer as their own neighbour', () => {
    const model = userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5, alpha: 0.5 }));
    const s = scores(model, ds.userIndex.get('u1')!, historyOf('u1'));
    const w2 = cos12 / (cos12 + cos14);
    const w4 = cos14 / (cos12 + cos14);
    expect(cos12).toBeCloseTo(0.6172, 4);
    expect(s.A).toBeCloseTo(0.5 * 1 + 0.5 * w2, 5);
    expect(s.B).toBeCloseTo(0.5 / 3 + 0.5 * w2, 5);
    expect(s.C).toBeCloseTo(0.5 * (2 / 3) + 0.5 * w4, 5);
    expect(s.D).toBeCloseTo(0.5 * w2, 5);
    expect(s.F).toBeCloseTo(0.5 * w4, 5);
    expect(s.E).toBe(0); // u3 shares nothing with u1
  });

  it('keeps only the most similar customers', () => {
    const model = userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5, alpha: 0.5, neighbours: 1 }));
    const s = scores(model, ds.userIndex.get('u1')!, historyOf('u1'));
    expect(s.D).toBeCloseTo(0.5, 5); // u2 alone is the neighbour
    expect(s.F).toBe(0);
  });

  it('alpha 1 is a pure repeat model and alpha 0 scores only what neighbours buy', () => {
    const own = scores(userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5, alpha: 1 })), ds.userIndex.get('u1')!, historyOf('u1'));
    expect(Object.entries(own).filter(([, v]) => v > 0).map(([id]) => id).sort()).toEqual(['A', 'B', 'C']);
    const theirs = scores(userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5, alpha: 0 })), ds.userIndex.get('u1')!, historyOf('u1'));
    expect(theirs.A).toBeCloseTo(cos12 / (cos12 + cos14), 5);
  });

  it('scores an unseen visitor from their history alone, and the per-item index keeps the strongest buyers only', () => {
    const visitor = [{ item: idx('A'), ts: 9 * DAY, quantity: 1, order: 'cart' }];
    const full = scores(userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5 })), -1, visitor);
    expect(full.D).toBeGreaterThan(0); // u2 bought A
    expect(full.C).toBeGreaterThan(0); // so did u1
    // A's unit-length weight is 0.80 in u1's profile and 0.58 in u2's: with one buyer per item only u1 is found.
    const capped = scores(userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5, maxItemBuyers: 1 })), -1, visitor);
    expect(capped.D).toBe(0);
    expect(capped.C).toBeGreaterThan(0);
  });

  it('round-trips through its artifact, also onto a catalogue that gained an item', () => {
    const model = userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5 }));
    const u1 = ds.userIndex.get('u1')!;
    const before = scores(model, u1, historyOf('u1'));
    expect(scores(userKnnFactory.fromArtifact(model.toArtifact(), ds), u1, historyOf('u1'))).toEqual(before);

    const grown = ['NEW', ...ds.itemIds];
    const loaded = userKnnFactory.fromArtifact(model.toArtifact(), { itemIds: grown });
    const out = new Float32Array(grown.length);
    const shifted = historyOf('u1').map((h) => ({ ...h, item: h.item + 1 }));
    loaded.scoreUser({ user: u1, history: shifted, attributes: {} }, out);
    expect(out[0]).toBe(0);
    for (const [id, v] of Object.entries(before)) expect(out[grown.indexOf(id)]).toBeCloseTo(v, 6);
  });

  it('When a customer is erased, Then their basket is nobody\'s neighbour any more and the other baskets are unchanged', () => {
    const model = userKnnFactory.fit(ds, userKnnFactory.parseParams({ alpha: 0, neighbours: 3 }));
    const u1 = ds.userIndex.get('u1')!;
    const u2 = ds.userIndex.get('u2')!;
    // u1's neighbour u2 brings D, which only u2 bought.
    expect(scores(model, u1, historyOf('u1')).D).toBeGreaterThan(0);
    const without = userKnnFactory.withoutUsers(model.toArtifact(), new Set([u2]));
    expect(without).not.toBeNull();
    const back = userKnnFactory.fromArtifact(without!, ds);
    expect(scores(back, u1, historyOf('u1')).D).toBe(0);
    // u4 (C, F) has u1 as its only neighbour, before and after.
    const u4 = ds.userIndex.get('u4')!;
    expect(scores(back, u4, historyOf('u4'))).toEqual(scores(model, u4, historyOf('u4')));
    expect(userKnnFactory.withoutUsers(without!, new Set([u2]))).toBeNull();
  });

  it('When a loaded copy forgets a customer, Then it scores everyone as the scrubbed artifact does, also where a buyer list was cut', () => {
    // One buyer kept per item: A's list holds u1 or u2 only, so forgetting that one lets the other in.
    const params = userKnnFactory.parseParams({ orderDecay: 0.5, alpha: 0.3, neighbours: 2, maxItemBuyers: 1 });
    const bytes = userKnnFactory.fit(ds, params).toArtifact();
    for (const erased of ['u1', 'u2', 'u4']) {
      const rows = new Set([ds.userIndex.get(erased)!]);
      const scrubbed = userKnnFactory.fromArtifact(userKnnFactory.withoutUsers(bytes, rows)!, ds);
      const loaded = userKnnFactory.fromArtifact(bytes, ds);
      loaded.forgetUsers!(rows);
      for (const [user, u] of ds.userIndex) {
        expect(scores(loaded, u, historyOf(user))).toEqual(scores(scrubbed, u, historyOf(user)));
        expect(scores(loaded, -1, historyOf(user))).toEqual(scores(scrubbed, -1, historyOf(user)));
      }
      expect(decodeArtifact(loaded.toArtifact()).arrays).toEqual(decodeArtifact(scrubbed.toArtifact()).arrays);
    }
    // u1 (A, B, C) gets u2's D as a neighbour's item until u2 is forgotten.
    const loaded = userKnnFactory.fromArtifact(bytes, ds);
    const u1 = ds.userIndex.get('u1')!;
    expect(scores(loaded, u1, historyOf('u1')).D).toBeGreaterThan(0);
    loaded.forgetUsers!(new Set([ds.userIndex.get('u2')!]));
    expect(scores(loaded, u1, historyOf('u1')).D).toBe(0);
  });

  it('rejects an artifact of another recommender and out-of-range parameters', () => {
    const itemKnn = itemKnnFactory.fit(ds, itemKnnFactory.parseParams({})).toArtifact();
    expect(() => userKnnFactory.fromArtifact(itemKnn, ds)).toThrow(/user-knn/);
    expect(() => userKnnFactory.parseParams({ alpha: 2 })).toThrow(/user-knn\.alpha/);
    expect(() => userKnnFactory.parseParams({ orderDecay: 0 })).toThrow(/user-knn\.orderDecay/);
  });
});

describe('user-kNN sparse scoring', () => {
  it('gives the dense scores of the customer\'s own items and of the `limit` best others, nothing else', async () => {
    const { SparseScores } = await import('../../../src/recommenders/sparse-scores.js');
    const model = userKnnFactory.fit(ds, userKnnFactory.parseParams({ orderDecay: 0.5, alpha: 0.5 }));
    const u1 = ds.userIndex.get('u1')!;
    const dense = scores(model, u1, historyOf('u1'));
    const sparseOf = (limit: number) => {
      const out = new SparseScores(ds.itemIds.length);
      model.scoreSparse!({ user: u1, history: historyOf('u1'), attributes: {} }, out, limit);
      return Object.fromEntries(Array.from({ length: out.size }, (_, p) => [ds.itemIds[out.item(p)], out.values[out.item(p)]]));
    };
    // Unlimited: exactly the positive dense scores.
    expect(sparseOf(100)).toEqual(Object.fromEntries(Object.entries(dense).filter(([, v]) => v > 0)));
    // u1 owns A, B, C; of the others D (u2's, the closer neighbour) outranks F (u4's).
    expect(Object.keys(sparseOf(1)).sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(sparseOf(1).D).toBe(dense.D);
  });
});
