import { describe, expect, it } from 'vitest';
import { buildDataset, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { itemKnnFactory } from '../../../src/recommenders/item-knn.js';

const DAY = 86_400_000;
const row = (userId: string, itemId: string, orderId: string, day: number): PurchaseRow => ({
  userId,
  itemId,
  orderId,
  ts: day * DAY,
  quantity: 1,
  price: null,
});
/** u1 buys X once and Y in two orders; u2 buys X and Y; u3 buys Y and Z. */
const ds = buildDataset({
  events: [
    row('u1', 'X', 'o1', 1),
    row('u1', 'Y', 'o1', 1),
    row('u1', 'Y', 'o2', 2),
    row('u2', 'X', 'o3', 3),
    row('u2', 'Y', 'o3', 3),
    row('u3', 'Y', 'o4', 4),
    row('u3', 'Z', 'o4', 4),
  ],
});
const idx = (id: string) => ds.itemIndex.get(id)!;
const simOf = (model: ReturnType<typeof itemKnnFactory.fit>, a: string, b: string) =>
  model.similarItems!(idx(a), 10).find((n) => n.item === idx(b))?.score;

describe('item-kNN', () => {
  it('computes binary cosine with shrinkage: dot / (|a||b| + shrink)', () => {
    const model = itemKnnFactory.fit(ds, itemKnnFactory.parseParams({ weighting: 'binary', shrink: 1 }));
    // X = (1,1,0), Y = (1,1,1), Z = (0,0,1) over users u1..u3.
    expect(simOf(model, 'X', 'Y')).toBeCloseTo(2 / (Math.sqrt(2) * Math.sqrt(3) + 1), 6); // 0.57983
    expect(simOf(model, 'Z', 'Y')).toBeCloseTo(1 / (1 * Math.sqrt(3) + 1), 6); // 0.36603
    expect(simOf(model, 'X', 'Z')).toBeUndefined(); // no common buyer
  });

  it('weights repeat purchases by ln(1 + orders) in the log weighting', () => {
    const model = itemKnnFactory.fit(ds, itemKnnFactory.parseParams({ weighting: 'log', shrink: 1 }));
    const [l1, l2] = [Math.log(2), Math.log(3)]; // one order, two orders
    // X = (l1, l1, 0), Y = (l2, l1, l1): dot = l1*l2 + l1^2 = 1.24204, |X| = 0.98026, |Y| = 1.47236.
    const expected = (l1 * l2 + l1 * l1) / (Math.sqrt(2 * l1 * l1) * Math.sqrt(l2 * l2 + 2 * l1 * l1) + 1);
    expect(expected).toBeCloseTo(0.50833, 4);
    expect(simOf(model, 'X', 'Y')).toBeCloseTo(expected, 6);
    expect(simOf(model, 'Y', 'X')).toBeCloseTo(expected, 6);
  });

  it('keeps only the top neighbours, best first', () => {
    const model = itemKnnFactory.fit(ds, itemKnnFactory.parseParams({ weighting: 'binary', shrink: 1, neighbours: 1 }));
    expect(model.similarItems!(idx('Y'), 10)).toEqual([{ item: idx('X'), score: expect.closeTo(0.57983, 4) }]);
  });

  it('scores a user by summing neighbour similarities over history, decayed by recency when asked', () => {
    const params = { weighting: 'binary', shrink: 1, historyHalfLifeDays: 1 } as const;
    const model = itemKnnFactory.fit(ds, itemKnnFactory.parseParams(params));
    const out = new Float32Array(ds.itemIds.length);
    const now = 10 * DAY;
    // X bought a day ago (weight 1/2), Z just now (weight 1): Y = 0.5*sim(X,Y) + 1*sim(Z,Y).
    const history = [
      { item: idx('X'), ts: now - DAY, quantity: 1, order: 'a' },
      { item: idx('Z'), ts: now, quantity: 1, order: 'b' },
    ];
    model.scoreUser({ user: -1, history, attributes: {}, now }, out);
    expect(out[idx('Y')]).toBeCloseTo(0.5 * 0.579796 + 0.366025, 5);
    expect(out[idx('X')]).toBe(0);
  });
});

describe('item-kNN with RP3beta similarity', () => {
  // Binary: u1 buys A, B; u2 buys A, B, C; u3 buys B, C. Item degrees A 2, B 3, C 2; user degrees 2, 3, 2.
  const rp = buildDataset({
    events: [row('u1', 'A', 'p1', 1), row('u1', 'B', 'p1', 1), row('u2', 'A', 'p2', 2), row('u2', 'B', 'p2', 2), row('u2', 'C', 'p2', 2), row('u3', 'B', 'p3', 3), row('u3', 'C', 'p3', 3)],
  });
  const at = (model: ReturnType<typeof itemKnnFactory.fit>, a: string, b: string) =>
    model.similarItems!(rp.itemIndex.get(a)!, 10).find((n) => n.item === rp.itemIndex.get(b)!)?.score;

  it('is the two-step random walk a -> buyer -> b, divided by pop(b)^beta', () => {
    const model = itemKnnFactory.fit(rp, itemKnnFactory.parseParams({ similarity: 'rp3beta', alpha: 1, beta: 0.5 }));
    // A -> B through u1 (1/2 * 1/2) and u2 (1/2 * 1/3) = 0.41667, over sqrt(3); A -> C through u2 only = 1/6, over sqrt(2).
    expect(at(model, 'A', 'B')).toBeCloseTo((1 / 4 + 1 / 6) / Math.sqrt(3), 6); // 0.24056
    expect(at(model, 'A', 'C')).toBeCloseTo(1 / 6 / Math.sqrt(2), 6); // 0.11785
    // Not symmetric: B -> A walks from B (3 buyers) and lands on A from u1 and u2: (1/3 * 1/2 + 1/3 * 1/3) / sqrt(2).
    expect(at(model, 'B', 'A')).toBeCloseTo((1 / 6 + 1 / 9) / Math.sqrt(2), 6);
  });

  it('with beta 0 and alpha 1 each row is a probability distribution; alpha sharpens it', () => {
    const walk = itemKnnFactory.fit(rp, itemKnnFactory.parseParams({ similarity: 'rp3beta', alpha: 1, beta: 0 }));
    // From A the walk returns to A with probability 1/2 * 1/2 + 1/2 * 1/3 (left out: an item is not its own neighbour).
    const fromA = walk.similarItems!(rp.itemIndex.get('A')!, 10).reduce((s, n) => s + n.score, 0);
    expect(fromA).toBeCloseTo(1 - (1 / 4 + 1 / 6), 6);
    const sharp = itemKnnFactory.fit(rp, itemKnnFactory.parseParams({ similarity: 'rp3beta', alpha: 2, beta: 0 }));
    expect(at(sharp, 'A', 'C')).toBeCloseTo((1 / 2) ** 2 * (1 / 3) ** 2, 6);
  });
});
