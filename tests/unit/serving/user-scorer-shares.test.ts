import { describe, expect, it } from 'vitest';
import { createHybrid } from '../../../src/recommenders/hybrid.js';
import type { Recommender, UserContext } from '../../../src/recommenders/recommender.js';
import type { SparseScores } from '../../../src/recommenders/sparse-scores.js';
import { createUserScorer, servingOptions } from '../../../src/serving/serving-model-builder.js';

/** A source that gives every customer the same scores. */
const fixed = (name: string, scores: Record<number, number>): Recommender => ({
  name,
  scoreUser(_ctx, out) {
    out.fill(0);
    for (const [i, s] of Object.entries(scores)) out[Number(i)] = s;
  },
  scoreSparse(_ctx: UserContext, out: SparseScores) {
    for (const [i, s] of Object.entries(scores)) out.set(Number(i), s);
  },
  toArtifact: () => new Uint8Array(0),
});

describe('a precomputed customer entry: the sources named beside each candidate', () => {
  // Three sources, the middle one (b) weighed 0 by the blend: a and c each weigh 1, and their parts are their
  // scores over their best (1 for both). Item 5: a 1, c 0.05 (4.8% of 1.05: not named); item 7: c alone; item 6:
  // a 0.5 and c 0.4 (56% and 44%: both). b would lead every item, but the blend does not take it.
  const sources = new Map<string, Recommender>([
    ['a', fixed('a', { 5: 1, 6: 0.5 })],
    ['b', fixed('b', { 5: 9, 6: 9, 7: 9 })],
    ['c', fixed('c', { 5: 0.05, 6: 0.4, 7: 1 })],
  ]);
  const both = { a: 1, c: 1 };
  const hybrid = createHybrid(sources, { weights: { cold: both, warm: both } });
  const score = createUserScorer({
    fitted: { sources, hybrid },
    options: servingOptions({}),
    sourceNames: ['a', 'b', 'c'],
    singles: [],
    popular: { score: new Float32Array(8), order: Int32Array.from({ length: 8 }, (_, i) => i), segments: [] },
    neighbours: new Map(),
    itemCount: 8,
  });
  // Item 1 twice (two orders of it), item 3 once.
  const history = [
    { item: 1, ts: 1000, quantity: 1, order: 'o1' },
    { item: 3, ts: 2000, quantity: 1, order: 'o2' },
    { item: 1, ts: 3000, quantity: 1, order: 'o3' },
  ];

  it('When scored, Then each candidate names the sources of at least 10% of its parts by their place in the model, led by the largest', () => {
    const scored = score({ user: 0, history, attributes: {} }, {})!;
    const { hybrid: list } = scored.entry;
    expect([...list.items]).toEqual([5, 7, 6]);
    // Bits by the sources' places in the model (a = 0, b = 1, c = 2): a alone, c alone, a and c.
    expect([...list.sourceMask]).toEqual([0b001, 0b100, 0b101]);
    expect([...list.dominant]).toEqual([0, 2, 0]);
  });

  it('When the history repeats an item, Then the entry keeps each purchase once, in item order, and scoring again gives the same entry', () => {
    const first = score({ user: 0, history, attributes: {} }, {})!;
    expect([...first.entry.purchased]).toEqual([1, 3]);
    expect(first.entry.orders).toBe(3);
    // The scorer's marks of the first customer's purchases are gone: the next sees only its own.
    const other = score({ user: 1, history: [{ item: 3, ts: 1000, quantity: 1, order: 'p1' }], attributes: {} }, {})!;
    expect([...other.entry.purchased]).toEqual([3]);
    expect([...score({ user: 0, history, attributes: {} }, {})!.entry.hybrid.sourceMask]).toEqual([0b001, 0b100, 0b101]);
  });
});
