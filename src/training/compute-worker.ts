/**
 * Worker-thread entry of computeModel: receives { ds, recipe, storeRecommenders } as workerData, posts
 * `{ type: 'step', ... }` while it works and `{ type: 'done', model }` or `{ type: 'error', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../recommenders/dataset.js';
import type { ImportedAls } from '../recommenders/imported-factors.js';
import { computeModel } from './compute-model.js';
import { ownedBuffers } from './transfer-list.js';
import type { Recipe } from './recipe.js';

const { ds, recipe, storeRecommenders, threads, precomputeDays, importedAls } = workerData as {
  ds: Dataset;
  recipe: Recipe;
  storeRecommenders: boolean;
  threads?: number;
  precomputeDays?: number;
  importedAls?: ImportedAls;
};
computeModel(ds, recipe, { storeRecommenders, threads, precomputeDays, importedAls, onStep: (event) => parentPort!.postMessage({ type: 'step', ...event }) }).then(
  (model) => {
    const bytes = [...model.artifacts.map(([, b]) => b), ...model.tables.flatMap(([, rows]) => rows.map(([, b]) => b))];
    parentPort!.postMessage({ type: 'done', model }, ownedBuffers(bytes));
  },
  (err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
);
