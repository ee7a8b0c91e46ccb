import { describe, expect, it } from 'vitest';
import { createUserErasure, type ActivationAttempt, type UserErasureDeps } from '../../../src/privacy/user-erasure.js';

/**
 * A rollback the HTTP request may stop waiting for (routes/models.ts): it gives up only while the rollback
 * waits for its turn under the erasure lock. Fakes stand in for Postgres's lock and the model store, so
 * the order of what happens is what is checked.
 */
function fakes(opts: { erased?: string[]; commitFails?: boolean } = {}) {
  let active = 'v2';
  const seen: { committedAtFirstScrub?: boolean } = {};
  const attempt: ActivationAttempt = { abandoned: false, committed: false };
  const deps = {
    events: {},
    erasures: {
      countAfter: async () => 0,
      locked: async <T>(fn: (erasedSince: (mark: number) => Promise<string[]>) => Promise<T>) => {
        const out = await fn(async () => opts.erased ?? []);
        // The transaction's COMMIT, lost with its connection after the work was done.
        if (opts.commitFails) throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
        return out;
      },
    },
    store: {
      listVersions: async () => ['v1', 'v2'].map((version) => ({ version, recipe: 'r', trainedAt: '', info: {} })),
      getArtifact: async () => null,
      deleteUserEntries: async () => {
        seen.committedAtFirstScrub ??= attempt.committed;
      },
      activate: async (version: string) => ((active = version), true),
    },
    forget: async () => {},
  } as unknown as UserErasureDeps;
  return { erasure: createUserErasure(deps), attempt, seen, active: () => active };
}

describe('a rollback a request may stop waiting for', () => {
  it('When the lock is taken, Then the attempt is committed before its scrub, so a long scrub is waited for rather than given up', async () => {
    const { erasure, attempt, seen, active } = fakes({ erased: ['u1', 'u2'] });
    expect(await erasure.activate('v1', attempt)).toBe(true);
    // Before, the decision came after the scrub: a rollback with many customers to scrub was given up every time.
    expect(seen.committedAtFirstScrub).toBe(true);
    expect(active()).toBe('v1');
  });

  it('When the request gave up before the turn came, Then the turn activates nothing and says so', async () => {
    const { erasure, attempt, seen, active } = fakes({ erased: ['u1'] });
    attempt.abandoned = true;
    await expect(erasure.activate('v1', attempt)).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', message: expect.stringMatching(/nothing was activated/) });
    expect(active()).toBe('v2');
    expect(seen.committedAtFirstScrub).toBeUndefined();
  });

  it("When only the lock's commit fails after the pointer flipped, Then the rollback is reported as done (it is what is served)", async () => {
    const { erasure, attempt, active } = fakes({ commitFails: true });
    // Before, a 503 said "retry later" for a rollback that had landed.
    expect(await erasure.activate('v1', attempt)).toBe(true);
    expect(active()).toBe('v1');
  });

  it('When the turn fails before the pointer flipped, Then the failure stands', async () => {
    const { erasure, attempt, active } = fakes({ commitFails: true });
    attempt.abandoned = true;
    await expect(erasure.activate('v1', attempt)).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    expect(active()).toBe('v2');
  });
});
