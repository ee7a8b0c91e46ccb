/**
 * Worker-thread entry of a FoldPool: builds the folds named in workerData from its input, then answers
 * `{ id, op, args }` requests in order with `{ id, result }` or `{ id, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RollingFold, type FoldSpec } from './rolling-fold.js';
import { splitInputFromColumns, type FoldRequest, type PurchaseColumns } from './fold-pool.js';
import type { SplitInput } from './splits.js';

const data = workerData as { columns: PurchaseColumns; items?: SplitInput['items']; users?: SplitInput['users']; specs: FoldSpec[] };
let folds: RollingFold[] | undefined;

parentPort!.on('message', (msg: FoldRequest & { id: number }) => {
  try {
    folds ??= data.specs.map((spec) => new RollingFold(splitInputFromColumns(data.columns, data.items, data.users), spec));
    let result: unknown;
    if (msg.op === 'info') result = folds.map((f) => f.info());
    else if (msg.op === 'fit') result = folds.map((f) => f.fit(msg.name, msg.recommender, msg.candidate, msg.index));
    else if (msg.op === 'keep') result = folds.map((f) => f.keep(msg.name, msg.index) ?? null);
    else result = folds.map((f) => f.score(msg.blend));
    parentPort!.postMessage({ id: msg.id, result });
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
