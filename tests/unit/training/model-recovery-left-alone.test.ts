import { describe, expect, it } from 'vitest';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { INTERRUPTED } from '../../../src/jobs/job-repository.js';
import { failureMessage } from '../../../src/jobs/job-runner.js';
import { createModelRecovery, trainingStillTrusted } from '../../../src/training/model-recovery.js';

describe('a lost model that is left alone', () => {
  it('When the store lost its model but the newest training failed, Then nothing is queued and one warning says why and what to do, once per loss', async () => {
    const store = await createMemoryModelStore();
    const warnings: string[] = [];
    let succeeded = false;
    const submitted: string[] = [];
    const recovery = createModelRecovery({
      store,
      newestTrainingSucceeded: async () => succeeded,
      everPublished: async () => true,
      submit: async () => (submitted.push('train'), { id: 'job-1' }),
      warn: (_obj, msg) => warnings.push(msg),
    });
    expect(await recovery.recover()).toBeNull();
    expect(await recovery.recover()).toBeNull();
    expect(submitted).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/holds no version.*not training again by itself.*POST \/v1\/training-jobs/);
    // Once a training has succeeded, the next look trains (and says so).
    succeeded = true;
    expect(await recovery.recover()).toBe('job-1');
    expect(submitted).toEqual(['train']);
    expect(warnings[1]).toMatch(/training the default recipe again/);
  });

  it('When the store never held a version and nothing ever published, Then no loss is reported and nothing is queued, nor when a version appears', async () => {
    // The one read recovery makes of a store without contents (an active pointer and nothing else).
    let active: ModelMeta | null = null;
    const store = { getActive: async () => active };
    const warnings: string[] = [];
    const recovery = createModelRecovery({
      store,
      // No training or factor import ever ended: the only version is the first start's sample model (no job).
      newestTrainingSucceeded: async () => null,
      everPublished: async () => false,
      submit: async () => ({ id: 'job-1' }),
      warn: (_obj, msg) => warnings.push(msg),
    });
    expect(await recovery.recover()).toBeNull();
    expect(warnings).toEqual([]);
    active = { version: 'v1', recipe: 'default', trainedAt: '2026-01-01T00:00:00Z', info: {} };
    expect(await recovery.recover()).toBeNull();
    expect(warnings).toEqual([]);
  });

  it("When the first start's sample model (published by no job) is lost while this process serves it, Then it is trained again unasked, as a restarted process would (bootstrap queues a training for data that no job trained)", async () => {
    let active: ModelMeta | null = { version: 'v1', recipe: 'default', trainedAt: '2026-01-01T00:00:00Z', info: {} };
    const store = { getActive: async () => active };
    const warnings: string[] = [];
    const submitted: string[] = [];
    let ended: boolean | null = null;
    const recovery = createModelRecovery({
      store,
      newestTrainingSucceeded: async () => ended,
      everPublished: async () => false,
      submit: async () => (submitted.push('train'), { id: 'job-1' }),
      warn: (_obj, msg) => warnings.push(msg),
    });
    expect(await recovery.recover()).toBeNull();
    active = null;
    // Observed before: null, and a warning that it waits for a person ("none ever ran as a job").
    expect(await recovery.recover()).toBe('job-1');
    expect(submitted).toEqual(['train']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/holds no version although trainings have published before.*training the default recipe again/);
    // That training failed: the newest job failed now, so the next look leaves it to a person (tried once).
    ended = false;
    expect(await recovery.recover()).toBeNull();
    expect(submitted).toEqual(['train']);
    expect(warnings[1]).toMatch(/not training again by itself/);
  });

  it('When the newest training was interrupted by its process stopping, Then a lost model is trained again once, not after a second interruption or another failure', () => {
    const ok = { status: 'succeeded' as const, error: null };
    const interrupted = { status: 'failed' as const, error: INTERRUPTED };
    const broken = { status: 'failed' as const, error: 'catalog too small' };
    expect(trainingStillTrusted([ok, broken])).toBe(true);
    // A deploy stopped the automatic retraining after a success: tried again.
    expect(trainingStillTrusted([interrupted, ok])).toBe(true);
    // Killed at every try (its memory?), or failing: a person decides.
    expect(trainingStillTrusted([interrupted, interrupted])).toBe(false);
    expect(trainingStillTrusted([interrupted, broken])).toBe(false);
    expect(trainingStillTrusted([interrupted])).toBe(false);
    expect(trainingStillTrusted([broken, ok])).toBe(false);
    expect(trainingStillTrusted([])).toBe(false);
  });

  it('When the newest training failed because a store was away longer than it waits, or lost its written version, Then a lost model is trained again once, not after a second such failure', () => {
    const ok = { status: 'succeeded' as const, error: null };
    // As the runner words it (failureMessage), not a copy of the text: a change of wording must not turn this off.
    const outage = { status: 'failed' as const, error: failureMessage(Object.assign(new Error("Stream isn't writeable and enableOfflineQueue options is false"), {})) };
    const broken = { status: 'failed' as const, error: 'catalog too small' };
    expect(outage.error).not.toBe("Stream isn't writeable and enableOfflineQueue options is false");
    // The Redis restart that emptied the store also failed the training running then: trained again.
    expect(trainingStillTrusted([outage, ok])).toBe(true);
    // So after a Postgres that answered none of its statements within the job's 5-minute limit (worded as such, not as the outage's minute).
    const stalled = { status: 'failed' as const, error: failureMessage(new Error('Query read timeout'), { statementLimitMs: 300_000 }) };
    expect(stalled.error).toMatch(/within the job's limit on a statement \(5 minutes\)/);
    expect(trainingStillTrusted([stalled, ok])).toBe(true);
    expect(trainingStillTrusted([stalled, stalled])).toBe(false);
    expect(trainingStillTrusted([outage, outage])).toBe(false);
    expect(trainingStillTrusted([outage, broken])).toBe(false);
    expect(trainingStillTrusted([outage])).toBe(false);
    // A Redis that came back empty within the wait: the training's own check fails it (as job-through-outage.test.ts sees it).
    const lost = {
      status: 'failed' as const,
      error: 'the model store no longer holds all of version v20261204T210000Z-ab12 (table serving-users: 0 of 24 entries): a Redis restarted without persistence or failed over, keys evicted under maxmemory, or the version deleted after its job was found interrupted? Nothing was published: train again',
    };
    expect(trainingStillTrusted([lost, ok])).toBe(true);
    expect(trainingStillTrusted([lost, lost])).toBe(false);
    expect(trainingStillTrusted([lost, outage])).toBe(false);
  });
});
