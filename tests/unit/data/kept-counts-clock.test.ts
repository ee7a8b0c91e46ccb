import { describe, expect, it } from 'vitest';
import { keepCounts } from '../../../src/data/kept-counts.js';

// Review of ce216ed: the age of kept counts is the wall clock's difference, now() - countedAt. When the
// wall clock steps back (NTP correcting a clock that ran ahead, a VM restored), that difference is
// negative, which passes `< maxAgeMs`: the counts are served as fresh (ageSeconds clamped to 0) until the
// clock catches up with the moment they were counted: an hour's step back freezes them for an hour.
describe('counts kept in the process, when the wall clock steps back', () => {
  it('When the clock steps back an hour after a count, Then the next call past the max age counts again rather than serving counts from the future', async () => {
    let clock = 10_000_000;
    let value = 7;
    let reads = 0;
    const kept = keepCounts(async () => (reads++, value), { maxAgeMs: 30_000, waitMs: 1_000, now: () => clock });
    expect(await kept.get()).toEqual({ value: 7, countedAt: 10_000_000 });
    // The wall clock is corrected back by an hour; a purchase lands; then 40 s pass.
    clock -= 3_600_000;
    value = 8;
    clock += 40_000;
    const answer = await kept.get();
    await kept.settled();
    // Observed: no read (reads stays 1) and { value: 7, countedAt: 10_000_000 }: counted "in the future".
    expect(reads).toBe(2);
    expect((await kept.get()).value).toBe(8);
    expect(answer.countedAt).toBeLessThanOrEqual(clock);
  });
});
