/**
 * Worker-thread entry of fitInWorker: fits one recommender on the dataset in workerData and posts
 * its artifact (or the error's message).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Dataset } from '../recommenders/dataset.js';
import { recommenderFactory } from '../recommenders/registry.js';

const { ds, recommender, params } = workerData as { ds: Dataset; recommender: string; params: unknown };
try {
  const started = performance.now();
  const artifact = recommenderFactory(recommender)!.fit(ds, params).toArtifact();
  const owned = artifact.byteOffset === 0 && artifact.byteLength === artifact.buffer.byteLength ? artifact : artifact.slice();
  parentPort!.postMessage({ type: 'done', artifact: owned, ms: performance.now() - started }, [owned.buffer as ArrayBuffer]);
} catch (err) {
  parentPort!.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
