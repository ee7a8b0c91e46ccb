/**
 * The sweep of abandoned drafts that the model recovery's start runs (ModelStore.sweepDrafts, which asks Postgres
 * whether a restore is under way first: services.ts) is bounded as a look is: a Postgres that stops answering must
 * not hold the recovery's looks for good (a store that comes back empty would never be put back).
 */
import { describe, expect, it } from 'vitest';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { createModelRecovery } from '../../../src/training/model-recovery.js';

describe('the model recovery\'s sweep at its start', () => {
  it('When the sweep at the start does not answer, Then it is bounded as a look is, and the next look runs', async () => {
    let sweeps = 0;
    let bounds = 0;
    const active: ModelMeta | null = null;
    const recovery = createModelRecovery({
      store: { getActive: async () => active },
      newestTrainingSucceeded: async () => null,
      everPublished: async () => false,
      // The first sweep never answers (a Postgres that stopped answering); the others find nothing.
      sweepDrafts: () => (++sweeps === 1 ? new Promise<string[]>(() => {}) : Promise.resolve([])),
      // A statement timeout: the bounded call gives up (here at once).
      bounded: <T>(fn: () => Promise<T>) => {
        bounds++;
        void fn().catch(() => {});
        return Promise.reject(new Error('canceling statement due to statement timeout')) as Promise<T>;
      },
      everyMs: 0,
    });
    recovery.start();
    await new Promise((r) => setImmediate(r));
    recovery.check();
    await new Promise((r) => setImmediate(r));
    expect(bounds).toBe(2);
    expect(sweeps).toBe(2);
  });
});
