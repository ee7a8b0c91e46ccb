import { describe, expect, it } from 'vitest';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createModelRecovery } from '../../../src/training/model-recovery.js';

describe('a lost model that is left alone', () => {
  it('When the store lost its model but the newest training failed (or none ran as a job), Then nothing is queued and one warning says why and what to do, once per loss', async () => {
    const store = await createMemoryModelStore();
    const warnings: string[] = [];
    let succeeded = false;
    const submitted: string[] = [];
    const recovery = createModelRecovery({
      store,
      newestTrainingSucceeded: async () => succeeded,
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
});
