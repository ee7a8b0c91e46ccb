/**
 * Worker-thread entry of runEvaluation: receives { input, recipes, request } as workerData (the purchases
 * as rows, `input.events`, or as columns, `input.purchases`, made rows again here), posts
 * `{ type: 'progress', ... }` while it works and `{ type: 'done', report }` or `{ type: 'error', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Recipe } from '../training/recipe.js';
import type { ColumnarSplitInput } from './evaluate-in-worker.js';
import { purchaseRows } from './purchase-columns.js';
import { runEvaluation, type EvaluationRequest } from './run-evaluation.js';
import type { SplitInput } from './splits.js';

const { input: given, recipes, request } = workerData as { input: SplitInput | ColumnarSplitInput; recipes: Recipe[]; request: EvaluationRequest };
const input: SplitInput = 'purchases' in given ? { events: purchaseRows(given.purchases), ...(given.items ? { items: given.items } : {}), ...(given.users ? { users: given.users } : {}) } : given;
runEvaluation(input, recipes, request, (p) => parentPort!.postMessage({ type: 'progress', ...p })).then(
  (report) => parentPort!.postMessage({ type: 'done', report }),
  (err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
);
