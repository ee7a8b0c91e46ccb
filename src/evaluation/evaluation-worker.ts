/**
 * Worker-thread entry of runEvaluation: receives { input, recipes, request } as workerData (the purchases
 * as rows, `input.events`, or as columns, `input.purchases`, which the split reads as they are), posts
 * `{ type: 'progress', ... }` while it works and `{ type: 'done', report }` or `{ type: 'error', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Recipe } from '../training/recipe.js';
import { runEvaluation, type EvaluationRequest } from './run-evaluation.js';
import type { SplitInput } from './splits.js';

const { input, recipes, request } = workerData as { input: SplitInput; recipes: Recipe[]; request: EvaluationRequest };
runEvaluation(input, recipes, request, (p) => parentPort!.postMessage({ type: 'progress', ...p })).then(
  (report) => parentPort!.postMessage({ type: 'done', report }),
  (err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
);
