/** Helper thread of als-threads.ts: updates the rows it is given (or fills its rows of Y^T Y), then raises the task's flag. */
import { parentPort } from 'node:worker_threads';
import { conjugateGradientHalfStep, gramianRows } from '../recommenders/conjugate-gradient.js';
import type { GramianTask, HalfStepTask } from './als-threads.js';

parentPort?.on('message', (t: HalfStepTask | GramianTask) => {
  let state = 1;
  try {
    if (t.kind === 'gramian') gramianRows(t.y, t.n, t.k, t.rows, t.g);
    else conjugateGradientHalfStep(t.m, t.x, t.y, t.yRows, t.k, t.reg, t.steps, { rows: t.rows, yty: t.yty });
  } catch {
    state = 2;
  }
  Atomics.store(t.flag, 0, state);
  Atomics.notify(t.flag, 0);
});
