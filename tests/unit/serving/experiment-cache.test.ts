import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExperimentRecord } from '../../../src/data/experiment-repository.js';
import { createExperimentCache } from '../../../src/serving/experiments.js';
import { createExperimentService } from '../../../src/serving/experiment-service.js';

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

  it('When this process stops the experiment while a background re-read is under way, Then once the stop has answered the process serves none', async () => {
    const active = { id: 'exp-1', arms: [{ name: 'a', strategy: 'hybrid', share: 0.5 }, { name: 'b', strategy: 'popularity', share: 0.5 }], active: true, createdAt: new Date().toISOString(), stoppedAt: null };
    // A table whose reads answer what was there when they began, a little later (a read's snapshot).
    let row: ExperimentRecord | null = active;
    const repo = {
      findActive: () => {
        const seen = row;
        return new Promise<ExperimentRecord | null>((r) => setTimeout(() => r(seen), 20));
      },
      stop: async (id: string) => {
        row = null;
        return { ...active, id, active: false, stoppedAt: new Date().toISOString() };
      },
    };
    // Every look is due for a re-read.
    const cache = createExperimentCache({ experiments: repo, refreshMs: 0 });
    expect(await cache.ready()).toEqual(active);
    // A request starts the due re-read; the experiment is stopped through this process meanwhile (an audit
    // found the stop's own read joined the one under way, which answered the experiment still active).
    expect(cache.current()).toEqual(active);
    const service = createExperimentService({ experiments: repo as never, cache, offeredStrategies: async () => null });
    expect((await service.stop('exp-1')).active).toBe(false);
    expect(cache.current()).toBeNull();
  });
});
