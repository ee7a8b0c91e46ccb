import { describe, expect, it } from 'vitest';
import { PairedLift } from '../../../src/evaluation/metric-accumulator.js';
import { mulberry32 } from '../../../src/recommenders/seeded-random.js';

/** Five metrics with the same value, as userAccuracy lays them out. */
const all = (v: number) => [v, v, v, v, v];

describe('PairedLift', () => {
  it('When fewer than 10 users have a hit on either side, or none at all, Then there is no interval', () => {
    const few = new PairedLift();
    // 9 hits for the strategy and 30 for the baseline over 40 users: too few on one side.
    for (let u = 0; u < 40; u++) few.add(all(u < 9 ? 1 : 0), all(u < 30 ? 1 : 0));
    expect(few.intervals().ndcg).toBeNull();
    const never = new PairedLift();
    for (let u = 0; u < 40; u++) never.add(all(0), all(1));
    expect(never.intervals().recall).toBeNull();
    const baselineNever = new PairedLift();
    for (let u = 0; u < 40; u++) baselineNever.add(all(1), all(0));
    expect(baselineNever.intervals().recall).toBeNull();
    const enough = new PairedLift();
    for (let u = 0; u < 40; u++) enough.add(all(u < 10 ? 1 : 0), all(u < 30 ? 1 : 0));
    expect(enough.intervals().ndcg).not.toBeNull();
  });

  it('When one metric has enough users with a non-zero value and another too few, Then only that one has an interval', () => {
    // Metrics in ACCURACY_METRICS order: precision, recall, ndcg, map, hitRate. Hit rate is non-zero for 12 users,
    // NDCG for 5 only (say the others' hits fall outside the ideal ranking's reach); the baseline is non-zero for all.
    const lift = new PairedLift();
    for (let u = 0; u < 30; u++) lift.add([0, 0, u < 5 ? 0.5 : 0, 0, u < 12 ? 1 : 0], [0.1, 0.1, 0.3, 0.1, 1]);
    const ci = lift.intervals();
    expect(ci.hitRate).not.toBeNull();
    expect(ci.ndcg).toBeNull();
    expect(ci.precision).toBeNull();
  });

  it('When 15 of 20 users keep a hit the baseline has for all 20, Then the interval is the delta method on log R, worked by hand', () => {
    // R = 0.75; x - R b is 0.25 for 15 users and -0.75 for 5: sample variance (15 x 0.0625 + 5 x 0.5625) / 19 = 3.75 / 19.
    // se(R) = sqrt(3.75 / 19 / 20) / mean(b) = 0.099340, se(log R) = se(R) / 0.75; lift = 0.75 exp(+-1.96 se(log R)) - 1.
    const lift = new PairedLift();
    for (let u = 0; u < 20; u++) lift.add(all(u < 15 ? 1 : 0), all(1));
    const seLog = Math.sqrt(3.75 / 19 / 20) / 0.75;
    const ci = lift.intervals().hitRate!;
    expect(ci.low).toBeCloseTo(0.75 * Math.exp(-1.959964 * seLog) - 1, 6);
    expect(ci.high).toBeCloseTo(0.75 * Math.exp(1.959964 * seLog) - 1, 6);
    // About -42% .. -3%: skewed, as a ratio is, and never below -100%.
    expect(ci.low).toBeCloseTo(-0.4215, 3);
    expect(ci.high).toBeCloseTo(-0.0277, 3);
  });

  it('When a strategy is the baseline plus a constant share for every user, Then the interval is that lift with no width', () => {
    const lift = new PairedLift();
    for (let u = 1; u <= 12; u++) lift.add(all(1.1 * (u / 20)), all(u / 20));
    const ci = lift.intervals().map!;
    expect(ci.low).toBeCloseTo(0.1, 7);
    expect(ci.high).toBeCloseTo(0.1, 7);
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
