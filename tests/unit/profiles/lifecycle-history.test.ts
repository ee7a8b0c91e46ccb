import { describe, expect, it } from 'vitest';
import { queryTimeout, LONG_STATEMENT_MS, withQueryTimeout } from '../../../src/data/query-timeout.js';
import { dependencyFailure } from '../../../src/errors.js';
import { createLifecycleHistory, lifecycleHistory, monthEnds } from '../../../src/profiles/lifecycle-history.js';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
/** Purchase days by customer id, as the repository reads them: customers c0, c1, ... */
const byCustomer = (...customers: number[][]) => new Map(customers.map((days, k) => [`c${k}`, days]));

describe('lifecycle history', () => {
  it('When month ends are asked for, Then they are the last days of the months up to the latest day, which ends the list', () => {
    const ends = monthEnds(day('2010-12-05'), day('2011-03-09'), 4).map((d) => new Date(d * 86_400_000).toISOString().slice(0, 10));
    expect(ends).toEqual(['2010-12-31', '2011-01-31', '2011-02-28', '2011-03-09']);
    // No month before the first purchase's month.
    expect(monthEnds(day('2011-02-10'), day('2011-03-09'), 12)).toEqual([day('2011-02-28'), day('2011-03-09')]);
  });

  it('When customers are staged at a day, Then only purchases up to it count, and customers who had not bought are left out', () => {
    // A weekly buyer (days 0, 7, 14) and a one-off buyer (day 20).
    const customers = [[0, 7, 14], [20]];
    const [at10, at20, at100, at300] = lifecycleHistory(customers, [10, 20, 100, 300]);
    // Day 10: the weekly buyer's tenure is 10 (< 30): new; the one-off has not bought yet.
    expect(at10.counts).toEqual({ new: 1, active: 0, silent: 0, churned: 0 });
    // Day 20: both new (tenure 20 and 0).
    expect(at20.counts).toEqual({ new: 2, active: 0, silent: 0, churned: 0 });
    // Day 100: weekly buyer 86 days away > max(4 x 7, 30): churned; one-off 80 days away (<= 90): active.
    expect(at100.counts).toEqual({ new: 0, active: 1, silent: 0, churned: 1 });
    // Day 300: one-off 280 days away > 180: churned.
    expect(at300.counts).toEqual({ new: 0, active: 0, silent: 0, churned: 2 });
    expect(at10.asOf).toBe('1970-01-11');
  });
});

describe('lifecycle history of the stored purchases', () => {
  it('When asked twice within the cache time, Then the purchases are read once; after it, again', async () => {
    let reads = 0;
    let clock = 0;
    const history = createLifecycleHistory({ purchaseDays: async () => (reads++, byCustomer([day('2011-01-05')])), cacheMs: 1000, now: () => clock });
    expect(await history(1)).toEqual([{ asOf: '2011-01-05', counts: { new: 1, active: 0, silent: 0, churned: 0 } }]);
    await history(3);
    expect(reads).toBe(1);
    clock = 1000;
    await history(1);
    expect(reads).toBe(2);
  });

  it('When the days are stale, Then the answer comes from memory at once while a fresh read replaces them', async () => {
    let clock = 0;
    let days = [[day('2011-01-05')]];
    let release: () => void = () => {};
    const history = createLifecycleHistory({
      purchaseDays: () => new Promise((resolve) => (release = () => resolve(byCustomer(...days)))),
      cacheMs: 1000,
      now: () => clock,
    });
    history.prefetch();
    history.prefetch();
    release();
    expect((await history(1))[0].asOf).toBe('2011-01-05');
    let reads = 0;
    const counting = createLifecycleHistory({ purchaseDays: async () => (reads++, byCustomer(...days)), cacheMs: 1000, now: () => clock });
    counting.prefetch();
    await counting(1);
    counting.prefetch();
    expect(reads).toBe(1);
    clock = 1000;
    days = [[day('2011-02-07')]];
    // The refresh is still reading: the kept days answer.
    expect((await history(1))[0].asOf).toBe('2011-01-05');
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await history(1))[0].asOf).toBe('2011-02-07');
  });

  it('When the read fails, Then the failure is not kept', async () => {
    let fail = true;
    const history = createLifecycleHistory({ purchaseDays: async () => { if (fail) throw new Error('down'); return new Map(); } });
    await expect(history(1)).rejects.toThrow('down');
    fail = false;
    expect(await history(1)).toEqual([]);
  });

  it('When the first read takes longer than the asking request may wait, Then that request fails as a dependency failure, and the read goes on (under the shared work limit) to answer the next', async () => {
    let reads = 0;
    let limit: number | undefined;
    let release: () => void = () => {};
    const history = createLifecycleHistory({
      purchaseDays: () => {
        reads++;
        limit = queryTimeout();
        return new Promise((resolve) => (release = () => resolve(byCustomer([day('2011-01-05')]))));
      },
    });
    const first = await withQueryTimeout(20, () => history(1)).then(() => 'answered', (err: unknown) => (dependencyFailure(err) ? 'dependency failure' : String(err)));
    expect(first).toBe('dependency failure');
    expect(limit).toBe(LONG_STATEMENT_MS);
    const second = withQueryTimeout(10_000, () => history(1));
    release();
    expect((await second)[0].asOf).toBe('2011-01-05');
    expect(reads).toBe(1);
  });

  it('When a customer is erased after the days were read, Then the next answer no longer counts them, without a new read', async () => {
    let reads = 0;
    const history = createLifecycleHistory({ purchaseDays: async () => (reads++, byCustomer([day('2011-01-05')], [day('2011-01-07')])), cacheMs: 1000, now: () => 0 });
    expect((await history(1))[0].counts.new).toBe(2);
    history.forgetUser('c1');
    expect((await history(1))[0].counts.new).toBe(1);
    expect(reads).toBe(1);
  });

  it('When a customer is erased while the days are being read, Then that read, which may have scanned before the erasure, does not count them', async () => {
    let release: () => void = () => {};
    const history = createLifecycleHistory({
      purchaseDays: () => new Promise((resolve) => (release = () => resolve(byCustomer([day('2011-01-05')], [day('2011-01-07')])))),
    });
    const answer = history(1);
    history.forgetUser('c0');
    release();
    expect((await answer)[0]).toEqual({ asOf: '2011-01-07', counts: { new: 1, active: 0, silent: 0, churned: 0 } });
    // And the days kept from it do not either.
    expect((await history(1))[0].counts.new).toBe(1);
  });
});
