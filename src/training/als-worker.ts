/** Helper thread of als-threads.ts: updates the rows it is given, then raises the task's flag. */
import { parentPort } from 'node:worker_threads';
import { conjugateGradientHalfStep } from '../recommenders/conjugate-gradient.js';
import type { HalfStepTask } from './als-threads.js';

parentPort?.on('message', (t: HalfStepTask) => {
  let state = 1;
  try {
    conjugateGradientHalfStep(t.m, t.x, t.y, t.yRows, t.k, t.reg, t.steps, { rows: t.rows, yty: t.yty });
  } catch {
    state = 2;
  }
  Atomics.store(t.flag, 0, state);
  Atomics.notify(t.flag, 0);
});
