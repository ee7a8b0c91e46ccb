/**
 * Worker-thread entry of computeModel: receives { ds, recipe, storeRecommenders, ... } as workerData,
 * posts `{ type: 'step', ... }` (and `{ type: 'entries', entries }` when streaming) while it works and
 * `{ type: 'done', model }` or `{ type: 'error', message }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../recommenders/dataset.js';
import type { ImportedAls } from '../recommenders/imported-factors.js';
import { computeModel } from './compute-model.js';
import { ownedBuffers } from './transfer-list.js';
import type { Recipe } from './recipe.js';
import type { TableEntries } from '../serving/serving-model-builder.js';
import type { ChunkGate } from './chunk-gate.js';

const { ds, recipe, storeRecommenders, threads, precomputeDays, importedAls, streamEntries, chunkGate, chunkUsers } = workerData as {
  ds: Dataset;
  recipe: Recipe;
  storeRecommenders: boolean;
  threads?: number;
  precomputeDays?: number;
  importedAls?: ImportedAls;
  /** Post the per-user tables' entries as they are built (`{ type: 'entries' }`) instead of in the model. */
  streamEntries?: boolean;
  /** Shared with the thread that writes the entries (see chunk-gate.ts). */
  chunkGate?: ChunkGate;
  chunkUsers?: number;
};
const onEntries = (entries: TableEntries) => parentPort!.postMessage({ type: 'entries', entries }, ownedBuffers(entries.flatMap(([, rows]) => rows.map(([, b]) => b))));
computeModel(ds, recipe, { storeRecommenders, threads, precomputeDays, importedAls, onEntries: streamEntries ? onEntries : undefined, chunkGate, chunkUsers, onStep: (event) => parentPort!.postMessage({ type: 'step', ...event }) }).then(
  (model) => {
    const bytes = [...model.artifacts.map(([, b]) => b), ...model.tables.flatMap(([, rows]) => rows.map(([, b]) => b))];
    parentPort!.postMessage({ type: 'done', model }, ownedBuffers(bytes));
  },
  (err: unknown) => parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) }),
);
