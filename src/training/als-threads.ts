/**
 * ALS half-steps split over worker threads. Within a half-step every row's update reads only the other
 * side's factors (fixed) and writes only its own row, so consecutive row ranges run at once on several
 * threads and give exactly the single-thread result. The factor matrices and the confidence rows live
 * in SharedArrayBuffers; the fitting thread hands each helper its range and blocks on an Atomics flag
 * until all are done, so fitAls stays synchronous.
 */
import { isMainThread, type Worker } from 'node:worker_threads';
import type { ConfidenceRows, HalfStepRunner } from '../recommenders/conjugate-gradient.js';
import { conjugateGradientHalfStep, finishGramian, gramianRows, gramianSplit } from '../recommenders/conjugate-gradient.js';
import { startModuleWorker } from './worker-thread.js';

/** A helper that has not finished its range in this long is taken for dead. */
const HALF_STEP_TIMEOUT_MS = 10 * 60_000;

export interface HalfStepTask {
  kind?: 'half-step';
  m: ConfidenceRows;
  x: Float64Array;
  y: Float64Array;
  yRows: number;
  k: number;
  reg: number;
  steps: number;
  rows: { from: number; to: number };
  yty: Float64Array;
  /** [state, ...]: 0 running, 1 done, 2 failed. */
  flag: Int32Array;
}

/** A helper's share of Y^T Y: its accumulator rows of `g` (gramianRows), both arrays shared. */
export interface GramianTask {
  kind: 'gramian';
  y: Float64Array;
  n: number;
  k: number;
  rows: { from: number; to: number };
  g: Float64Array;
  /** [state, ...]: 0 running, 1 done, 2 failed. */
  flag: Int32Array;
}

const sharedF64 = (n: number) => new Float64Array(new SharedArrayBuffer(n * 8));
function shareRows(m: ConfidenceRows): ConfidenceRows {
  const copy = <T extends Int32Array | Float64Array>(a: T): T => {
    const out = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
    out.set(a as never);
    return out;
  };
  return { rows: m.rows, indptr: copy(m.indptr), indices: copy(m.indices), confidence: copy(m.confidence) };
}

/** Rows [0, rows) split in `parts` consecutive ranges of about equal non-zeros (plus a constant per row). */
function splitRows(m: ConfidenceRows, parts: number): { from: number; to: number }[] {
  const total = m.indptr[m.rows] + m.rows * 8;
  const out: { from: number; to: number }[] = [];
  let from = 0;
  for (let r = 0; r < m.rows && out.length < parts - 1; r++) {
    if (m.indptr[r + 1] + (r + 1) * 8 >= (total * (out.length + 1)) / parts) {
      out.push({ from, to: r + 1 });
      from = r + 1;
    }
  }
  out.push({ from, to: m.rows });
  return out;
}

/** Blocks until every helper has raised its flag; throws when one failed or has not finished in time. */
function waitFor(flags: Int32Array[]): void {
  for (const flag of flags) {
    const deadline = Date.now() + HALF_STEP_TIMEOUT_MS;
    while (Atomics.load(flag, 0) === 0) {
      if (Date.now() > deadline) throw new Error('an ALS thread did not finish its rows');
      Atomics.wait(flag, 0, 0, 1000);
    }
    if (Atomics.load(flag, 0) === 2) throw new Error('an ALS thread failed');
  }
}

function fillRows(y: Float64Array, n: number, k: number, ranges: { from: number; to: number }[]): Float64Array {
  const g = new Float64Array(k * k);
  for (const range of ranges) gramianRows(y, n, k, range, g);
  return g;
}

/**
 * `threads` participants (this thread and threads - 1 helpers) for one fit, or null where this thread
 * cannot block (the process's main thread) or one thread is asked for. Call close() after the fit.
 */
export function createAlsThreads(threads: number): (HalfStepRunner & { close(): void }) | null {
  if (threads <= 1 || isMainThread) return null;
  let helpers: Worker[] = [];
  const shared = new Map<ConfidenceRows, ConfidenceRows>();
  return {
    allocate: sharedF64,
    halfStep(m, x, y, yRows, k, reg, steps, yty) {
      let rows = shared.get(m);
      if (!rows) shared.set(m, (rows = shareRows(m)));
      if (helpers.length === 0) helpers = Array.from({ length: threads - 1 }, () => startModuleWorker('als-worker', null));
      const ranges = splitRows(rows, threads);
      const flags = ranges.slice(1).map(() => new Int32Array(new SharedArrayBuffer(4)));
      ranges.slice(1).forEach((range, h) => {
        const task: HalfStepTask = { m: rows, x, y, yRows, k, reg, steps, rows: range, yty, flag: flags[h] };
        helpers[h].postMessage(task);
      });
      conjugateGradientHalfStep(rows, x, y, yRows, k, reg, steps, { rows: ranges[0], yty });
      waitFor(flags);
    },
    // Y^T Y with each thread filling its own rows of the accumulator: every entry is summed as one thread sums it,
    // so the result is gramian's to the bit, and the other threads do not wait while one thread makes it.
    gramian(y, n, k, reg) {
      if (!(y.buffer instanceof SharedArrayBuffer)) return finishGramian(fillRows(y, n, k, [{ from: 0, to: k }]), k, reg);
      if (helpers.length === 0) helpers = Array.from({ length: threads - 1 }, () => startModuleWorker('als-worker', null));
      const g = sharedF64(k * k);
      const ranges = gramianSplit(k, threads);
      const flags = ranges.slice(1).map(() => new Int32Array(new SharedArrayBuffer(4)));
      ranges.slice(1).forEach((range, h) => {
        const task: GramianTask = { kind: 'gramian', y, n, k, rows: range, g, flag: flags[h] };
        helpers[h].postMessage(task);
      });
      gramianRows(y, n, k, ranges[0], g);
      waitFor(flags);
      return finishGramian(g, k, reg);
    },
    close() {
      for (const w of helpers) void w.terminate();
      helpers = [];
    },
  };
}
