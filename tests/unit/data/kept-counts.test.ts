import { describe, expect, it } from 'vitest';
import { keepCounts } from '../../../src/data/kept-counts.js';

/** A read the test finishes by hand: a count that takes as long as the test says (a large store). */
function slowReads() {
  const pending: ((n: number) => void)[] = [];
  let calls = 0;
  return {
    read: () => (calls++, new Promise<number>((resolve) => pending.push(resolve))),
    finish: (n: number) => pending.shift()!(n),
    calls: () => calls,
  };
}

describe('counts kept in the process', () => {
  it('When the kept counts are too old and the new count takes longer than a call waits, Then calls get the last counts with their age, one count runs for all of them, and the next call gets its result', async () => {
    let clock = 1_000_000;
    const reads = slowReads();
    const kept = keepCounts(reads.read, { maxAgeMs: 30_000, waitMs: 5, now: () => clock });
    const first = kept.get();
    reads.finish(7);
    expect(await first).toEqual({ value: 7, countedAt: 1_000_000 });
    clock += 40_000;
    // Three calls while the count runs: the last counts each, one read.
    expect(await Promise.all([kept.get(), kept.get(), kept.get()])).toEqual([1, 2, 3].map(() => ({ value: 7, countedAt: 1_000_000 })));
    expect(reads.calls()).toBe(2);
    reads.finish(9);
    await kept.settled();
    expect(await kept.get()).toEqual({ value: 9, countedAt: 1_040_000 });
    expect(reads.calls()).toBe(2);
  });

  it('When a new count fails, Then the last counts are answered with their age, it is logged, and the next call counts again', async () => {
    let clock = 0;
    let fail = false;
    const logged: string[] = [];
    const kept = keepCounts(async () => (fail ? Promise.reject(new Error('Postgres away')) : 5), { maxAgeMs: 10, waitMs: 1_000, now: () => clock, log: (msg) => logged.push(msg) });
    expect(await kept.get()).toEqual({ value: 5, countedAt: 0 });
    fail = true;
    clock = 20;
    expect(await kept.get()).toEqual({ value: 5, countedAt: 0 });
    expect(logged).toHaveLength(1);
    fail = false;
    expect(await kept.get()).toEqual({ value: 5, countedAt: 20 });
  });

  it('When nothing is kept yet and the count fails, Then the call fails with its error', async () => {
    const kept = keepCounts(async () => Promise.reject(new Error('Postgres away')), { maxAgeMs: 10, waitMs: 1_000 });
    await expect(kept.get()).rejects.toThrow('Postgres away');
  });
});
