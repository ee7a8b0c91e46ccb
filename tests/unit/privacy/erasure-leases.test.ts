import { describe, expect, it } from 'vitest';
import { queryTimeout } from '../../../src/data/query-timeout.js';
import { createErasureLeases } from '../../../src/privacy/erasure-leases.js';

/** Resolves once `done()` holds (polled on the event loop); the test's own timeout bounds it. */
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
};

describe('the leases a process renews on the erasures it drives', () => {
  it('When erasures are held, Then each beat renews all of them in one call, under the limit, and none once released', async () => {
    const calls: { ids: string[]; leaseMs: number; limit: number | undefined }[] = [];
    const leases = createErasureLeases({ renew: async (ids, leaseMs) => void calls.push({ ids, leaseMs, limit: queryTimeout() }), leaseMs: 120, limitMs: 25 });
    const releaseB = leases.hold('b');
    const releaseA = leases.hold('a');
    // The same id held twice (asked again while its first erasure runs) stays held until both are released.
    const releaseA2 = leases.hold('a');
    await until(() => calls.length >= 1);
    expect(calls[0]).toEqual({ ids: ['a', 'b'], leaseMs: 120, limit: 25 });
    releaseA();
    releaseA();
    releaseB();
    expect(leases.size).toBe(1);
    releaseA2();
    expect(leases.size).toBe(0);
    await leases.settled();
    const made = calls.length;
    // A few beats' time later nothing more was renewed (the timer is gone with the last hold).
    await new Promise((r) => setTimeout(r, 150));
    expect(calls.length).toBe(made);
  });

  it('When a renewal fails, Then it is logged and the next beat tries again', async () => {
    let tries = 0;
    const logged: string[] = [];
    const leases = createErasureLeases({
      renew: async () => {
        if (++tries === 1) throw new Error('Postgres did not answer');
      },
      leaseMs: 20,
      log: (msg) => logged.push(msg),
    });
    const release = leases.hold('a');
    await until(() => tries >= 2);
    release();
    await leases.settled();
    expect(logged).toEqual([expect.stringMatching(/could not renew the lease/)]);
  });

  it('When the statement limit is longer than a beat (PG_QUERY_TIMEOUT_MS=0: the jobs\' five minutes), Then a renewal Postgres never answers is given up at the beat and the next one renews', async () => {
    const limits: (number | undefined)[] = [];
    let renewed = 0;
    const leases = createErasureLeases({
      // The first renewal is stuck until its limit (as the pg client gives a statement up); the others answer.
      renew: (ids) =>
        new Promise<void>((resolve, reject) => {
          const limit = queryTimeout();
          limits.push(limit);
          if (limits.length === 1) setTimeout(() => reject(new Error('Query read timeout')), limit);
          else resolve(void (renewed += ids.length));
        }),
      leaseMs: 40,
      limitMs: 300_000,
      log: () => {},
    });
    const release = leases.hold('a');
    await until(() => renewed >= 1);
    release();
    await leases.settled();
    expect(limits.slice(0, 2)).toEqual([10, 10]);
  });

  it('When a renewal is in flight, Then settled() resolves only once it has ended', async () => {
    let finish: (() => void) | undefined;
    const leases = createErasureLeases({ renew: () => new Promise<void>((resolve) => (finish = resolve)), leaseMs: 20 });
    const release = leases.hold('a');
    await until(() => finish !== undefined);
    release();
    let settled = false;
    const waited = leases.settled().then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(settled).toBe(false);
    finish!();
    await waited;
    expect(settled).toBe(true);
  });
});
