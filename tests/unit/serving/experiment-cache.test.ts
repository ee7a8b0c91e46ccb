import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExperimentRecord } from '../../../src/data/experiment-repository.js';
import { createExperimentCache } from '../../../src/serving/experiments.js';

const experiment = { id: 'exp-1', name: 'test', arms: [], status: 'active' } as unknown as ExperimentRecord;

describe('the active experiment kept in process', () => {
  afterEach(() => vi.useRealTimers());

  it('When the first read gets no answer (Postgres stopped answering), Then the process goes on without an experiment after one second, and has it once the read is done', async () => {
    vi.useFakeTimers();
    let answer!: (e: ExperimentRecord | null) => void;
    const cache = createExperimentCache({ experiments: { findActive: () => new Promise((resolve) => (answer = resolve)) }, refreshMs: 60_000 });
    let seen: ExperimentRecord | null | undefined;
    void cache.ready().then((e) => (seen = e));
    await vi.advanceTimersByTimeAsync(999);
    expect(seen).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toBeNull();
    // Once per process: the next requests do not wait for the same read again.
    let next: ExperimentRecord | null | undefined;
    void cache.ready().then((e) => (next = e));
    await vi.advanceTimersByTimeAsync(0);
    expect(next).toBeNull();
    answer(experiment);
    await vi.advanceTimersByTimeAsync(0);
    expect(cache.current()).toBe(experiment);
    expect(await cache.ready()).toBe(experiment);
  });

  it('When the first read answers in time, Then the request gets the experiment it read', async () => {
    const cache = createExperimentCache({ experiments: { findActive: async () => experiment } });
    expect(await cache.ready()).toBe(experiment);
  });
});
