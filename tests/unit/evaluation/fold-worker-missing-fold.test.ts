import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { FoldRequest } from '../../../src/evaluation/fold-pool.js';
import type { FoldSpec } from '../../../src/evaluation/rolling-fold.js';
import { purchasesOf } from '../../../src/evaluation/splits.js';
import { startModuleWorker } from '../../../src/training/worker-thread.js';
import { DAY, T0, twoGroups } from './two-groups-fixture.js';

// A fold thread (fold-worker.ts) of a pool whose threads hold every fold (FoldsHeld `every`) must hold each one before
// info or keep: the pool reads fold f's info from thread 0 and keeps a candidate on every copy, so a fold the thread
// lacks (its hand-over never came) is an error that names it, not a null the pool later reads as a fold. A thread that
// holds its own folds only (`own`) answers for those and leaves the others out.
const ids = (from: number, to: number) => [0, 1].flatMap((g) => Array.from({ length: to - from }, (_, u) => `g${g}-${from + u}`));
const spec = (endDay: number): FoldSpec => ({ end: new Date(T0 + endDay * DAY).toISOString(), days: 30, k: 10, fullHistoryOrders: 10, depth: 200, scored: ids(0, 8) });
const specs = [spec(101), spec(71)];

let worker: Worker | undefined;
afterEach(async () => {
  await worker?.terminate();
  worker = undefined;
});

/** A fold thread that splits fold 0 only, and a way to ask it: resolves with its result, rejects with its error. */
function thread(handOver: boolean) {
  worker = startModuleWorker('fold-worker', { columns: purchasesOf({ events: twoGroups() }), specs, own: [0], handOver });
  const w = worker;
  let id = 0;
  return <T>(req: FoldRequest) =>
    new Promise<T>((resolve, reject) => {
      const mine = ++id;
      const onMessage = (msg: { id: number; result?: T; error?: string }) => {
        if (msg.id !== mine) return;
        w.off('message', onMessage);
        if (msg.error === undefined) resolve(msg.result as T);
        else reject(new Error(msg.error));
      };
      w.on('message', onMessage);
      w.postMessage({ ...req, id: mine });
    });
}

describe('a fold thread asked about a fold it does not hold', () => {
  it('When a thread of a pool that holds every fold was never handed fold 1, Then info and keep fail naming the fold, and the fold it built still answers', async () => {
    const ask = thread(true);
    await ask({ op: 'build' });
    await expect(ask({ op: 'info' })).rejects.toThrow('fold 1 was neither built nor adopted by this thread');
    await ask({ op: 'fit', fold: 0, name: 'popularity', recommender: 'popularity', candidate: {}, index: 0 });
    await expect(ask({ op: 'keep', name: 'popularity', index: 0 })).rejects.toThrow('fold 1 was neither built nor adopted by this thread');
    const [scores] = await ask<unknown[]>({ op: 'score-whole', blend: { weights: { cold: { popularity: 1 }, warm: { popularity: 1 } } }, folds: [0] });
    expect(scores).toBeTruthy();
  }, 60_000);

  it('When a thread of a pool whose folds live on their own thread holds fold 0 only, Then info answers for fold 0 and null for fold 1, and keep acts on fold 0', async () => {
    const ask = thread(false);
    await ask({ op: 'build' });
    const info = await ask<({ trainEvents: number } | null)[]>({ op: 'info' });
    expect(info[0]?.trainEvents).toBeGreaterThan(0);
    expect(info[1]).toBeNull();
    await ask({ op: 'fit', fold: 0, name: 'popularity', recommender: 'popularity', candidate: {}, index: 0 });
    expect(await ask<unknown[]>({ op: 'keep', name: 'popularity', index: 0 })).toHaveLength(2);
  }, 60_000);
});
