import { describe, expect, it } from 'vitest';
import { createUserErasure, type UserErasureDeps } from '../../../src/privacy/user-erasure.js';

/** Resolves once `done()` holds (polled on the event loop); the test's own timeout bounds it. */
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
};

describe('a failed try while its lease is being renewed', () => {
  it('When a turn fails with a renewal of its lease in flight, Then the failure is noted only after that renewal ended (the back-off is the last word)', async () => {
    const order: string[] = [];
    let endRenewal: (() => void) | undefined;
    const deps = {
      // The turn fails once a renewal of its lease is in flight (a quarter of a 40 ms lease after the hold).
      events: {
        deleteUsers: async () => {
          await until(() => endRenewal !== undefined);
          throw new Error('the model store did not answer');
        },
      },
      erasures: {
        askErasure: async () => {},
        renewErasures: () => {
          order.push('renewal sent');
          return new Promise<void>((resolve) => (endRenewal = () => (order.push('renewal ended'), resolve())));
        },
        erasureFailed: async () => void order.push('failure noted'),
      },
      store: { listVersions: async () => [], deleteUser: async () => {} },
      forget: async () => {},
      requests: { leaseMs: 40 },
    } as unknown as UserErasureDeps;
    const erasure = createUserErasure(deps);
    const erased = erasure.erase('a');
    await until(() => endRenewal !== undefined);
    // The turn has failed and released its hold by now; the renewal is still in flight.
    await new Promise((r) => setTimeout(r, 20));
    endRenewal!();
    await expect(erased).rejects.toThrow('the model store did not answer');
    expect(order).toEqual(['renewal sent', 'renewal ended', 'failure noted']);
  });
});
