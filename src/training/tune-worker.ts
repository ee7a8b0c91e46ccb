/**
 * Worker-thread entry of tuneForTraining: receives { input, recipe, end } as workerData, posts
 * `{ type: 'progress', message }` and `{ type: 'advance', done, total }` while it works, and `{ type: 'done', tuning }`
 * or `{ type: 'error', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SplitInput } from '../evaluation/splits.js';
import type { CustomerSample } from '../evaluation/tuning-sample.js';
import type { Recipe } from './recipe.js';
import { tuneForTraining } from './tune-for-training.js';

const { input, recipe, end } = workerData as { input: SplitInput | CustomerSample; recipe: Recipe; end?: string };
tuneForTraining(
  input,
  recipe,
  (message) => parentPort!.postMessage({ type: 'progress', message }),
  { onAdvance: (done, total) => parentPort!.postMessage({ type: 'advance', done, total }) },
  end,
).then(
  (tuning) => parentPort!.postMessage({ type: 'done', tuning }),
  (err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
);
