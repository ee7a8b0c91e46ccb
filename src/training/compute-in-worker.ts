import type { Dataset } from '../recommenders/dataset.js';
import type { ImportedAls } from '../recommenders/imported-factors.js';
import type { ComputedModel, ComputeStepListener } from './compute-model.js';
import type { Recipe } from './recipe.js';
import type { TableEntries } from '../serving/serving-model-builder.js';
import { ownedBuffers } from './transfer-list.js';
import { startModuleWorker } from './worker-thread.js';
import type { ChunkGate } from './chunk-gate.js';

/**
 * Runs computeModel in a worker thread, so seconds of fitting never block the event loop of the
 * process (an API answering requests while it trains inline). Aborting the signal terminates the
 * thread at once; a listener that throws does too, and the promise rejects with its error.
 */
export function computeInWorker(
  ds: Dataset,
  recipe: Recipe,
  opts: {
    storeRecommenders: boolean;
    onStep?: ComputeStepListener;
    signal?: AbortSignal;
    threads?: number;
    precomputeDays?: number;
    /** Factors trained elsewhere standing in for one ALS source's fit. */
    importedAls?: ImportedAls;
    /** Move the dataset's event columns to the thread instead of copying them (the caller's `ds` is unusable after). */
    transferDataset?: boolean;
    /** As computeModel's: the per-user tables' entries in chunks as they are built, moved from the thread. */
    onEntries?: (entries: TableEntries) => void;
    /** As computeModel's; shared with the thread. */
    chunkGate?: ChunkGate;
    chunkUsers?: number;
  },
): Promise<ComputedModel> {
  opts.signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const sig = ds.signals;
    const columns = [ds.eventUser, ds.eventItem, ds.eventOrder, ds.eventTs, ds.eventQuantity, ds.eventPrice, ...(sig ? [sig.user, sig.item, sig.ts, sig.weight] : [])];
    const transfer = opts.transferDataset ? ownedBuffers(columns.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength))) : undefined;
    const worker = startModuleWorker(
      'compute-worker',
      {
        ds,
        recipe,
        storeRecommenders: opts.storeRecommenders,
        threads: opts.threads,
        precomputeDays: opts.precomputeDays,
        importedAls: opts.importedAls,
        streamEntries: Boolean(opts.onEntries),
        chunkGate: opts.chunkGate,
        chunkUsers: opts.chunkUsers,
      },
      transfer,
    );
    let settled = false;
    let received: ComputedModel | null = null;
    const finish = (err: unknown, model?: ComputedModel) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      if (err) reject(err);
      else resolve(model!);
    };
    const onAbort = () => finish(opts.signal!.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Listener calls run one after another, in the order the worker posted them.
    let listened: Promise<unknown> = Promise.resolve();
    type Message =
      | { type: 'step'; step: string; phase: 'start' | 'end'; ms?: number }
      | { type: 'entries'; entries: TableEntries }
      | { type: 'done'; model: ComputedModel }
      | { type: 'error'; message: string };
    worker.on('message', (msg: Message) => {
      if (msg.type === 'entries') {
        try {
          if (!settled) opts.onEntries?.(msg.entries);
        } catch (err) {
          finish(err);
        }
      } else if (msg.type === 'step') {
        const { type: _, ...event } = msg;
        listened = listened.then(() => (settled ? undefined : opts.onStep?.(event))).catch((err: unknown) => finish(err));
      } else if (msg.type === 'done') {
        received = msg.model;
        void listened.then(() => finish(null, msg.model));
      } else {
        finish(new Error(msg.message));
      }
    });
    worker.on('error', (err) => finish(err));
    // The thread ends right after its last message, possibly before the listeners above have run.
    worker.on('exit', (code) => received ?? finish(new Error(`the training thread exited (code ${code}) before it finished`)));
  });
}
