import { describe, expect, it } from 'vitest';
import { defaultTuningThreads } from '../../../src/training/threaded-serving-build.js';

// With TRAIN_THREADS unset, tuning starts one fold thread per validation window on a machine of two cores or more,
// so no thread holds two windows' work while another waits (fold-pool.ts FoldsHeld `own`); one core keeps one.
describe('defaultTuningThreads', () => {
  it('gives each of 3 windows its own thread on 2 cores', () => {
    expect(defaultTuningThreads(3, 2)).toBe(3);
  });

  it('keeps one thread on one core, whatever the windows', () => {
    expect(defaultTuningThreads(3, 1)).toBe(1);
    expect(defaultTuningThreads(6, 1)).toBe(1);
  });

  it('keeps the cores when there are more cores than windows (the pool uses one per window)', () => {
    expect(defaultTuningThreads(3, 8)).toBe(8);
    expect(defaultTuningThreads(1, 2)).toBe(2);
  });
});
