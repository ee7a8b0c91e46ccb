/**
 * Worker-thread entry of a threaded FoldPool: builds a copy of every fold in workerData from its input,
 * then answers `{ id, op, ... }` requests in order with `{ id, result }` or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RollingFold, type FoldSpec } from './rolling-fold.js';
import type { FoldFit, FoldRequest } from './fold-pool.js';
import type { PurchaseColumns } from './purchase-columns.js';
import type { SplitInput } from './splits.js';

const data = workerData as { columns: PurchaseColumns; items?: SplitInput['items']; users?: SplitInput['users']; specs: FoldSpec[] };
let folds: RollingFold[] | undefined;

parentPort!.on('message', (msg: FoldRequest & { id: number }) => {
  try {
    // Every fold splits the same columns (no object per purchase): one copy of them per thread.
    folds ??= data.specs.map((spec) => new RollingFold({ purchases: data.columns, items: data.items, users: data.users }, spec));
    let result: unknown;
    if (msg.op === 'info') result = folds.map((f) => f.info());
    else if (msg.op === 'fit') {
      const fold = folds[msg.fold];
      const started = performance.now();
      const objective = fold.fit(msg.name, msg.recommender, msg.candidate, msg.index);
      result = { objective, ...fold.candidateParts(msg.name, msg.index), ms: performance.now() - started } satisfies FoldFit;
    } else if (msg.op === 'install') result = folds[msg.fold].install(msg.name, msg.index, { part: msg.part, ...(msg.leftOutPart ? { leftOutPart: msg.leftOutPart } : {}) }) ?? null;
    else if (msg.op === 'keep') result = folds.map((f) => f.keep(msg.name, msg.index) ?? null);
    else if (msg.on === 'left-out') result = folds.map((f, i) => (msg.ranges[i] ? f.scoreLeftOutRange(msg.blend, msg.ranges[i]![0], msg.ranges[i]![1]) : null));
    else result = folds.map((f, i) => (msg.ranges[i] ? f.scoreRange(msg.blend, msg.ranges[i]![0], msg.ranges[i]![1]) : null));
    parentPort!.postMessage({ id: msg.id, result });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
