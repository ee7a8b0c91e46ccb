import { Matrix, solve } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { alsFactory, alsFromFactors } from '../../../src/recommenders/als.js';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { alignFactors, type ExternalFactors } from '../../../src/recommenders/imported-factors.js';
import type { HistoryEntry, UserContext } from '../../../src/recommenders/recommender.js';
import { alsSourceOf } from '../../../src/training/factor-source.js';
import { parseRecipe } from '../../../src/training/recipe.js';

const DAY = 86_400_000;
const K = 2;

/** Three customers over four items; c has no imported row; item d has none either. */
function shop() {
  const events: PurchaseRow[] = [
    { userId: 'a', itemId: 'w', orderId: 'a1', ts: DAY, quantity: 1, price: null },
    { userId: 'b', itemId: 'x', orderId: 'b1', ts: 2 * DAY, quantity: 1, price: null },
    { userId: 'c', itemId: 'w', orderId: 'c1', ts: 3 * DAY, quantity: 1, price: null },
    { userId: 'c', itemId: 'y', orderId: 'c2', ts: 4 * DAY, quantity: 1, price: null },
    { userId: 'c', itemId: 'y', orderId: 'c3', ts: 5 * DAY, quantity: 1, price: null },
    { userId: 'a', itemId: 'd', orderId: 'a2', ts: 6 * DAY, quantity: 1, price: null },
  ];
  return buildDataset({ events });
}

const factors: ExternalFactors = {
  factors: K,
  items: { ids: ['y', 'x', 'w', 'unknown-item'], values: Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1.5, 9, 9]) },
  users: { ids: ['b', 'a', 'ghost'], values: Float32Array.from([1, 1, 0.5, -2, 9, 9]) },
};

const itemRow = (id: string) => {
  const r = factors.items.ids.indexOf(id);
  return r < 0 ? [0, 0] : [...factors.items.values.subarray(r * K, (r + 1) * K)];
};

function ctxOf(ds: ReturnType<typeof shop>, user: string): UserContext {
  const u = ds.userIndex.get(user)!;
  const history: HistoryEntry[] = [];
  for (let e = 0; e < ds.eventUser.length; e++) if (ds.eventUser[e] === u) history.push({ item: ds.eventItem[e], ts: ds.eventTs[e], quantity: 1, order: ds.eventOrder[e] });
  return { user: u, history, attributes: {} };
}

describe('ALS from imported factors', () => {
  const ds = shop();
  const params = alsFactory.parseParams({ regularization: 3, alpha: 2 });
  const { aligned, report } = alignFactors(ds, factors);
  const model = alsFromFactors(ds, aligned, params);
  const scores = (ctx: UserContext) => {
    const out = new Float32Array(ds.itemIds.length);
    model.scoreUser(ctx, out);
    return Object.fromEntries(ds.itemIds.map((id, i) => [id, out[i]]));
  };

  it('When rows name ids this shop has and has not, Then known ones are placed by id and the others counted and skipped', () => {
    expect(report.items).toEqual({ imported: 4, matched: 3, erased: 0, unknown: 1, unknownSample: ['unknown-item'], missing: 1 });
    // Customer ids are never reported, only counted.
    expect(report.users).toEqual({ imported: 3, matched: 2, erased: 0, unknown: 1, unknownSample: [], missing: 1 });
  });

  it("When rows name erased customers, known here again or not, Then they are skipped and counted without their ids, and the customer's row is left to be folded in", () => {
    const { aligned: without, report: erasedReport } = alignFactors(ds, factors, new Set(['a', 'ghost']));
    expect(erasedReport.users).toEqual({ imported: 3, matched: 1, erased: 2, unknown: 0, unknownSample: [], missing: 2 });
    const a = ds.userIndex.get('a')!;
    expect(without.userImported[a]).toBe(0);
    expect([...without.userFactors.subarray(a * 2, a * 2 + 2)]).toEqual([0, 0]);
    expect(without.userImported[ds.userIndex.get('b')!]).toBe(1);
    // Items are never erased.
    expect(erasedReport.items).toEqual(report.items);
  });

  it('When an imported customer is scored, Then each item scores the dot product of the given rows (0 for an item without one)', () => {
    const a = [0.5, -2];
    const expected = Object.fromEntries(ds.itemIds.map((id) => [id, Math.fround(itemRow(id)[0] * a[0] + itemRow(id)[1] * a[1])]));
    expect(scores(ctxOf(ds, 'a'))).toEqual(expected);
  });

  it('When a customer has no imported row, or bought after the training data, Then their factor is solved from their purchases and the item factors', () => {
    // x = (YtY + reg I + sum_i (c_i - 1) y_i y_i^T)^-1 sum_i c_i y_i, c_i = 1 + alpha ln(1 + orders), solved here with ml-matrix.
    const foldIn = (orders: Record<string, number>) => {
      const Y = new Matrix(ds.itemIds.map(itemRow));
      const A = Y.transpose().mmul(Y).add(Matrix.eye(K).mul(3));
      const b = new Matrix(K, 1);
      for (const [id, n] of Object.entries(orders)) {
        const c = 1 + 2 * Math.log1p(n);
        const y = new Matrix([itemRow(id)]);
        A.add(y.transpose().mmul(y).mul(c - 1));
        b.add(y.transpose().mul(c));
      }
      return solve(A, b).to1DArray();
    };
    const check = (got: Record<string, number>, x: number[]) => {
      for (const id of ds.itemIds) expect(got[id]).toBeCloseTo(itemRow(id)[0] * x[0] + itemRow(id)[1] * x[1], 4);
    };
    check(scores(ctxOf(ds, 'c')), foldIn({ w: 1, y: 2 }));
    const b = ctxOf(ds, 'b');
    const later = { ...b, history: [...b.history, { item: ds.itemIndex.get('y')!, ts: 10 * DAY, quantity: 1, order: 'later' }] };
    check(scores(later), foldIn({ x: 1, y: 1 }));
  });

  it('When the model is stored and loaded, Then it scores the same', () => {
    const loaded = alsFactory.fromArtifact(model.toArtifact(), ds);
    for (const user of ['a', 'b', 'c']) {
      const out = new Float32Array(ds.itemIds.length);
      loaded.scoreUser(ctxOf(ds, user), out);
      expect(Object.fromEntries(ds.itemIds.map((id, i) => [id, out[i]]))).toEqual(scores(ctxOf(ds, user)));
    }
  });

  it('When a recipe has no ALS source, or several, Then the source cannot be chosen and says why', () => {
    const base = { hybrid: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } } } };
    const recipe = (sources: object, extra: object = {}) => parseRecipe({ ...base, sources: { popularity: {}, ...sources }, ...extra }, 'r');
    expect(alsSourceOf(recipe({ als: {} }))).toBe('als');
    expect(alsSourceOf(recipe({ als: {}, 'als-wide': { recommender: 'als' } }), 'als-wide')).toBe('als-wide');
    expect(() => alsSourceOf(recipe({}))).toThrow('recipe "r": no ALS source to take the imported factors');
    expect(() => alsSourceOf(recipe({ als: {}, 'als-wide': { recommender: 'als' } }))).toThrow('several ALS sources (als, als-wide): name one as "source"');
    expect(() => alsSourceOf(recipe({ als: {} }), 'popularity')).toThrow('"popularity" is not an ALS source; ALS sources: als');
  });
});
