import { describe, expect, it } from 'vitest';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { easeFactory } from '../../../src/recommenders/ease.js';
import type { UserContext } from '../../../src/recommenders/recommender.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';
import { SparseScores } from '../../../src/recommenders/sparse-scores.js';

const DAY = 86_400_000;
const row = (userId: string, itemId: string, day: number): PurchaseRow => ({ userId, itemId, orderId: `${userId}-${day}`, ts: day * DAY, quantity: 1, price: null });

/**
 * u1 buys a and b, u2 buys b and c, u3 buys a, b and c. With lambda = 1:
 *   X^T X + I = [[3,2,1],[2,4,2],[1,2,3]], determinant 16, so by cofactors
 *   P = [[8,-4,0],[-4,8,-4],[0,-4,8]] / 16 = [[.5,-.25,0],[-.25,.5,-.25],[0,-.25,.5]]
 *   B[i][j] = -P[i][j] / P[j][j]: B[a][b] = B[b][a] = B[b][c] = B[c][b] = 0.5, B[a][c] = B[c][a] = 0, diagonal 0.
 */
const eventsOf = (): PurchaseRow[] => [row('u1', 'a', 1), row('u1', 'b', 1), row('u2', 'b', 2), row('u2', 'c', 2), row('u3', 'a', 3), row('u3', 'b', 3), row('u3', 'c', 3)];
const ds = buildDataset({ events: eventsOf() });
const idx = (id: string) => ds.itemIndex.get(id)!;
const scoresFor = (model: ReturnType<typeof easeFactory.fit>, items: string[]) => {
  const ctx: UserContext = { user: -1, history: items.map((id) => ({ item: idx(id), ts: ds.now, quantity: 1, order: 'cart' })), attributes: {} };
  const out = new Float32Array(ds.itemIds.length);
  model.scoreUser(ctx, out);
  return Object.fromEntries(ds.itemIds.map((id, i) => [id, out[i]]));
};

describe('EASE', () => {
  it('When one item is bought, Then the scores are its row of the closed-form B, with a zero diagonal', () => {
    const model = easeFactory.fit(ds, easeFactory.parseParams({ lambda: 1, neighbours: 0 }));
    const a = scoresFor(model, ['a']);
    expect(a.a).toBe(0);
    expect(a.b).toBeCloseTo(0.5, 6);
    expect(a.c).toBeCloseTo(0, 6);
    const b = scoresFor(model, ['b']);
    expect(b.b).toBe(0);
    expect(b.a).toBeCloseTo(0.5, 6);
    expect(b.c).toBeCloseTo(0.5, 6);
  });

  it('When several items are bought, Then their rows add up (x_u B)', () => {
    const model = easeFactory.fit(ds, easeFactory.parseParams({ lambda: 1, neighbours: 0 }));
    const s = scoresFor(model, ['a', 'c']);
    expect(s.b).toBeCloseTo(1, 6);
    expect(s.a).toBeCloseTo(0, 6); // B[c][a] = 0 and B[a][a] = 0
  });

  it('When the catalogue exceeds maxItems, Then only the most-bought items are modelled and the fit says so', () => {
    // Kept: b (3 buyers) and a (2 buyers, ties with c, lower index). X^T X + I over (a, b) = [[3,2],[2,4]],
    // P = [[4,-2],[-2,3]] / 8, so B[a][b] = 0.25 / 0.375 = 2/3 and B[b][a] = 0.25 / 0.5 = 0.5.
    const model = easeFactory.fit(ds, easeFactory.parseParams({ lambda: 1, neighbours: 0, maxItems: 2 }));
    expect(model.info).toEqual({ catalogItems: 3, boughtItems: 3, modelItems: 2, restrictedTo: 2 });
    expect(scoresFor(model, ['a']).b).toBeCloseTo(2 / 3, 6);
    expect(scoresFor(model, ['b']).a).toBeCloseTo(0.5, 6);
    expect(scoresFor(model, ['b']).c).toBe(0);
    expect(scoresFor(model, ['c'])).toEqual({ a: 0, b: 0, c: 0 });
  });

  describe('a catalogue with products nobody bought (a 25,000-product grocery with 13,750 bought)', () => {
    // The same three bought items as above, and two catalogue items (x, y) nobody bought.
    const catalogue = ['a', 'b', 'c', 'x', 'y'].map((id) => ({ id, title: id, description: null, categories: [], price: null, attributes: {}, available: true }));
    const withUnbought = buildDataset({ events: eventsOf(), items: catalogue });
    const fitted = (maxItems: number) => easeFactory.fit(withUnbought, easeFactory.parseParams({ lambda: 1, neighbours: 0, maxItems }));
    const scoresOf = (model: ReturnType<typeof easeFactory.fit>, items: string[]) => {
      const ctx: UserContext = { user: -1, history: items.map((id) => ({ item: withUnbought.itemIndex.get(id)!, ts: withUnbought.now, quantity: 1, order: 'cart' })), attributes: {} };
      const out = new Float32Array(withUnbought.itemIds.length);
      model.scoreUser(ctx, out);
      return Object.fromEntries(withUnbought.itemIds.map((id, i) => [id, out[i]]));
    };

    it('When every bought item fits under maxItems, Then no restriction is reported and the never-bought items take no slot', () => {
      // Catalogue 5 > maxItems 3 = bought 3: nothing bought was left out.
      expect(fitted(3).info).toEqual({ catalogItems: 5, boughtItems: 3, modelItems: 3, restrictedTo: null });
      // maxItems 4: the fourth slot is not given to a product nobody bought.
      expect(fitted(4).info).toEqual({ catalogItems: 5, boughtItems: 3, modelItems: 3, restrictedTo: null });
      // The scores are the closed form over (a, b, c) worked out at the top of this file.
      const s = scoresOf(fitted(3), ['b']);
      expect(s.a).toBeCloseTo(0.5, 6);
      expect(s.c).toBeCloseTo(0.5, 6);
      expect(s.x).toBe(0);
      expect(s.y).toBe(0);
    });

    it('When bought items exceed maxItems, Then the restriction counts the bought items beside the catalogue', () => {
      // Kept: b (3 buyers) and a (2 buyers, ties with c, lower index), as in the test above without x and y.
      const model = fitted(2);
      expect(model.info).toEqual({ catalogItems: 5, boughtItems: 3, modelItems: 2, restrictedTo: 2 });
      expect(scoresOf(model, ['a']).b).toBeCloseTo(2 / 3, 6);
      expect(scoresOf(model, ['c'])).toEqual({ a: 0, b: 0, c: 0, x: 0, y: 0 });
    });

    it('When the model goes through its artifact (a fit in a worker thread), Then the counts come back with it', () => {
      const model = fitted(2);
      expect(easeFactory.fromArtifact(model.toArtifact(), withUnbought).info).toEqual({ catalogItems: 5, boughtItems: 3, modelItems: 2, restrictedTo: 2 });
    });
  });

  it('When rows are cut to the largest weights, Then the largest survive (ties to the lower item index)', () => {
    const model = easeFactory.fit(ds, easeFactory.parseParams({ lambda: 1, neighbours: 1 }));
    const b = scoresFor(model, ['b']);
    // Row b has two weights of 0.5 (a and c); the tie goes to the lower item index, a.
    expect(b.a).toBeCloseTo(0.5, 6);
    expect(b.c).toBe(0);
  });

  it('gives similar items from the one-item row, positive weights only, best first', () => {
    const model = easeFactory.fit(ds, easeFactory.parseParams({ lambda: 1, neighbours: 0 }));
    expect(model.similarItems!(idx('b'), 5).map((n) => ds.itemIds[n.item])).toEqual(['a', 'c']);
    expect(model.similarItems!(idx('a'), 5).map((n) => ds.itemIds[n.item])).toEqual(['b']);
  });
});

describe('EASE sparse scoring', () => {
  it("When a user is scored sparsely with a limit, Then the items and scores are the best positive new ones of the dense scores and the positive ones of the user's own", () => {
    // 60 customers over 40 items with overlapping tastes, so rows carry positive and negative weights.
    const rnd = mulberry32(7);
    const events: PurchaseRow[] = [];
    for (let u = 0; u < 60; u++) {
      const base = Math.floor(rnd() * 30);
      for (let k = 0; k < 6; k++) events.push(row(`u${u}`, `i${(base + Math.floor(rnd() * 10)) % 40}`, 1 + Math.floor(rnd() * 50)));
    }
    const data = buildDataset({ events });
    const model = easeFactory.fit(data, easeFactory.parseParams({ lambda: 5, neighbours: 15, historyHalfLifeDays: 30 }));
    const n = data.itemIds.length;
    let negatives = 0;
    for (let u = 0; u < 20; u++) {
      const history = [0, 1, 2].map((k) => ({ item: Math.floor(rnd() * n), ts: data.now - k * 9 * DAY, quantity: 1, order: `o${k}` }));
      const ctx: UserContext = { user: -1, history, attributes: {} };
      const dense = new Float32Array(n);
      model.scoreUser(ctx, dense);
      negatives += dense.filter((v) => v < 0).length;
      // A limit under the positive count cuts by score; the whole catalogue as limit leaves only the sign's cut.
      for (const limit of [8, n]) {
        const own = new Set(history.map((h) => h.item));
        const ranked = [...dense.keys()].filter((i) => dense[i] > 0).sort((a, b) => dense[b] - dense[a] || a - b);
        const kept = new Set([...ranked.filter((i) => !own.has(i)).slice(0, limit), ...ranked.filter((i) => own.has(i))]);
        const expected = ranked.filter((i) => kept.has(i));
        const sparse = new SparseScores(n);
        model.scoreSparse!(ctx, sparse, limit);
        const got = Array.from({ length: sparse.size }, (_, p) => sparse.item(p)).sort((a, b) => sparse.values[b] - sparse.values[a] || a - b);
        expect(got).toEqual(expected);
        for (const i of got) expect(sparse.values[i]).toBe(dense[i]);
      }
    }
    expect(negatives).toBeGreaterThan(0);
  });
});
