import type { SplitInput } from '../evaluation/splits.js';
import type { CustomerSample } from '../evaluation/tuning-sample.js';
import type { Recipe } from './recipe.js';
import { tuneForTraining, type TrainingTuning } from './tune-for-training.js';
import { startModuleWorker } from './worker-thread.js';

/**
 * tuneForTraining off the calling thread (tuning fits every source once per fold: tens of seconds of
 * CPU that must not block the process's event loop). With `threads` >= 2 the folds run in that many
 * worker threads at once and only the coordinate descent's bookkeeping stays here; with one thread,
 * all of it runs in a single worker thread. Aborting the signal terminates the threads at once.
 * `onAdvance` is told the units of tuning's work done (RollingTuneOptions.onAdvance) from either.
 */
export function tuneInWorker(
  input: SplitInput | CustomerSample,
  recipe: Recipe,
  opts: { signal?: AbortSignal; onProgress?: (message: string) => void; onAdvance?: (done: number, total: number) => void; threads?: number; end?: string } = {},
): Promise<TrainingTuning> {
  opts.signal?.throwIfAborted();
  if ((opts.threads ?? 1) >= 2) return tuneForTraining(input, recipe, opts.onProgress, { threads: opts.threads, signal: opts.signal, onAdvance: opts.onAdvance }, opts.end);
  return new Promise((resolve, reject) => {
    const worker = startModuleWorker('tune-worker', { input, recipe, end: opts.end });
    let settled = false;
    const finish = (err: unknown, tuning?: TrainingTuning) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err) reject(err);
      else resolve(tuning!);
    };
    const onAbort = () => finish(opts.signal!.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    type Message = { type: 'progress'; message: string } | { type: 'advance'; done: number; total: number } | { type: 'done'; tuning: TrainingTuning } | { type: 'error'; message: string };
    worker.on('message', (msg: Message) => {
      // Messages still queued after an abort (or the end) report nothing more.
      if (settled) return;
      if (msg.type === 'progress') opts.onProgress?.(msg.message);
      else if (msg.type === 'advance') opts.onAdvance?.(msg.done, msg.total);
      else if (msg.type === 'done') finish(null, msg.tuning);
      else finish(new Error(msg.message));
    });
    worker.on('error', (err) => finish(err));
    worker.on('exit', (code) => finish(new Error(`the tuning thread exited (code ${code}) before it finished`)));
  });
}
