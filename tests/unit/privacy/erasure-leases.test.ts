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
    const leases = createErasureLeases({ renew: async (ids, leaseMs) => void calls.push({ ids, leaseMs, limit: queryTimeout() }), leaseMs: 40, limitMs: 25 });
    const releaseB = leases.hold('b');
    const releaseA = leases.hold('a');
    // The same id held twice (asked again while its first erasure runs) stays held until both are released.
    const releaseA2 = leases.hold('a');
    await until(() => calls.length >= 1);
    expect(calls[0]).toEqual({ ids: ['a', 'b'], leaseMs: 40, limit: 25 });
    releaseA();
    releaseA();
    releaseB();
    expect(leases.size).toBe(1);
    releaseA2();
    expect(leases.size).toBe(0);
    await leases.settled();
    const made = calls.length;
    // A few beats' time later nothing more was renewed (the timer is gone with the last hold).
    await new Promise((r) => setTimeout(r, 60));
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
});
