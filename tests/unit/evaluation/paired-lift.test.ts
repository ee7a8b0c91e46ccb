import { describe, expect, it } from 'vitest';
import { PairedLift } from '../../../src/evaluation/metric-accumulator.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';

/** Five metrics with the same value, as userAccuracy lays them out. */
const all = (v: number) => [v, v, v, v, v];

describe('PairedLift', () => {
  it('When fewer than 2 users or a baseline of 0 were seen, Then there is no interval', () => {
    const one = new PairedLift();
    one.add(all(1), all(1));
    expect(one.intervals().ndcg).toBeNull();
    const zero = new PairedLift();
    zero.add(all(1), all(0));
    zero.add(all(0), all(0));
    expect(zero.intervals().recall).toBeNull();
  });

  it('When a strategy is the baseline plus a constant share for every user, Then the interval is that lift with no width', () => {
    const lift = new PairedLift();
    for (const b of [0.2, 0.4, 0.6, 0.8]) lift.add(all(1.1 * b), all(b));
    const ci = lift.intervals().map!;
    expect(ci.low).toBeCloseTo(0.1, 9);
    expect(ci.high).toBeCloseTo(0.1, 9);
  });

  it('Pairing: noise the two lists share for a user does not widen the interval, noise of their own does', () => {
    // The same per-user difficulty for both strategies (shared), and a small independent part.
    const rand = mulberry32(7);
    const shared = new PairedLift();
    const unpaired = new PairedLift();
    const other = Array.from({ length: 500 }, () => rand());
    for (let u = 0; u < 500; u++) {
      const difficulty = rand();
      const x = 0.55 * difficulty + 0.05 * rand();
      const b = 0.5 * difficulty + 0.05 * rand();
      shared.add(all(x), all(b));
      // The same strategy's values against the baseline of an unrelated user: the difficulty no longer cancels.
      unpaired.add(all(x), all(0.5 * other[u] + 0.05 * rand()));
    }
    const width = (p: PairedLift) => p.intervals().ndcg!.high - p.intervals().ndcg!.low;
    expect(width(shared)).toBeLessThan(width(unpaired) / 3);
  });

  it('When the true lift is known, Then about 95% of the intervals drawn from 400 samples hold it', () => {
    // Per user: b = 1 with probability 0.3 (a hit), x = b except that a miss turns into a hit with
    // probability 0.1 and a hit into a miss with probability 0.05. E[x] = 0.3 x 0.95 + 0.7 x 0.1 = 0.355,
    // so the true lift is 0.355 / 0.3 - 1.
    const truth = 0.355 / 0.3 - 1;
    const rand = mulberry32(42);
    let held = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const lift = new PairedLift();
      for (let u = 0; u < 1_000; u++) {
        const b = rand() < 0.3 ? 1 : 0;
        const x = b === 1 ? (rand() < 0.05 ? 0 : 1) : rand() < 0.1 ? 1 : 0;
        lift.add(all(x), all(b));
      }
      const ci = lift.intervals().hitRate!;
      if (ci.low <= truth && truth <= ci.high) held++;
    }
    // Binomial(400, 0.95) lies in [365, 393] with probability > 99.9%.
    expect(held).toBeGreaterThanOrEqual(365);
    expect(held).toBeLessThanOrEqual(393);
  });
});
