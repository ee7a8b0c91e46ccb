/**
 * One source's fit on a thread of its own, so that a training's other fits run beside it. The
 * fitted model comes back as its artifact and is loaded here: the same model as a fit in this thread
 * (an artifact holds everything a model scores with).
 */
import type { Dataset } from '../recommenders/dataset.js';
import type { Recommender } from '../recommenders/recommender.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { slimDataset } from './threaded-serving-build.js';
import { startModuleWorker } from './worker-thread.js';

/**
 * Recommender families whose fit is long and single-threaded (EASE's inversion), worth a thread of
 * their own while the other sources fit. ALS splits its own fit over the training's threads.
 */
export const OWN_THREAD_FAMILIES: ReadonlySet<string> = new Set(['ease']);

/**
 * Fits `recommender` with (parsed) `params` on `ds` in a worker thread; resolves to the model and the
 * fit's milliseconds. Aborting `signal` ends the thread and rejects with the signal's reason. The
 * worker's dataset has the purchases (shared, not copied), the signals and the ids, but no catalogue
 * or index maps: a family fitted this way (OWN_THREAD_FAMILIES) must not read those.
 */
export function fitInWorker(ds: Dataset, recommender: string, params: unknown, signal?: AbortSignal): Promise<{ model: Recommender; ms: number }> {
  const factory = recommenderFactory(recommender);
  if (!factory) return Promise.reject(new Error(`unknown recommender "${recommender}"`));
  if (signal?.aborted) return Promise.reject(signal.reason);
  const data: Dataset = { ...slimDataset(ds), ...(ds.signals ? { signals: ds.signals } : {}) };
  return new Promise((resolve, reject) => {
    const worker = startModuleWorker('fit-worker', { ds: data, recommender, params });
    let settled = false;
    // The first of the result, an error, the thread's exit or the abort settles; the rest are ignored.
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = () =>
      settle(() => {
        void worker.terminate();
        reject(signal!.reason);
      });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (msg: { type: 'done'; artifact: Uint8Array; ms: number } | { type: 'error'; message: string }) =>
      settle(() => {
        void worker.terminate();
        if (msg.type === 'error') return reject(new Error(msg.message));
        try {
          resolve({ model: factory.fromArtifact(msg.artifact, ds), ms: msg.ms });
        } catch (err) {
          reject(err);
        }
      }),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`fit worker for ${recommender} exited with code ${code}`))));
  });
}
