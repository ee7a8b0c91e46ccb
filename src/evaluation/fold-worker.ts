/**
 * Worker-thread entry of a threaded FoldPool. The thread splits the folds in workerData's `own` from its
 * input. With `handOver` it hands each over to the pool as a serialized copy (`build`) and takes the other
 * threads' folds the same way (`adopt`), so every fold is split once however many threads hold it; without,
 * it holds its own folds only (FoldsHeld `own`). It then answers `{ id, op, ... }` requests in order with
 * `{ id, result }` or `{ id, error }`; info, keep and score-whole act on the folds it holds (with `handOver`, on every
 * fold: one it lacks is an error).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { deserialize, serialize } from 'node:v8';
import { adoptUserItemMatrix } from '../recommenders/interactions.js';
import { RollingFold, type FoldSpec, type FoldState } from './rolling-fold.js';
import type { FoldFit, FoldRequest } from './fold-pool.js';
import type { PurchaseColumns } from './purchase-columns.js';
import type { SplitInput } from './splits.js';

const data = workerData as { columns: PurchaseColumns; items?: SplitInput['items']; users?: SplitInput['users']; specs: FoldSpec[]; own: number[]; handOver: boolean };
const input: SplitInput = { purchases: data.columns, items: data.items, users: data.users };
const folds: (RollingFold | undefined)[] = data.specs.map(() => undefined);

/** Fold f, once this thread built or adopted it. */
function fold(f: number): RollingFold {
  const built = folds[f];
  if (!built) throw new Error(`fold ${f} was neither built nor adopted by this thread`);
  return built;
}

/**
 * The folds info and keep act on: with `handOver` every fold, each one this thread lacks an error (it was neither built
 * nor adopted: the pool would read a null where it needs the fold); without, its own only, the others undefined.
 */
function held(): (RollingFold | undefined)[] {
  return data.handOver ? data.specs.map((_, f) => fold(f)) : folds;
}

/** A serialized fold state as one whole ArrayBuffer of its own (transferable). */
function serialized(state: FoldState): Uint8Array {
  const bytes = serialize(state);
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

parentPort!.on('message', (msg: FoldRequest & { id: number }) => {
  try {
    let result: unknown;
    const transfer: ArrayBuffer[] = [];
    if (msg.op === 'build') {
      const states: { fold: number; bytes: Uint8Array }[] = [];
      for (const f of data.own) {
        folds[f] = new RollingFold(input, data.specs[f]);
        if (!data.handOver) continue;
        const bytes = serialized(folds[f]!.state());
        states.push({ fold: f, bytes });
        transfer.push(bytes.buffer as ArrayBuffer);
      }
      result = states;
    } else if (msg.op === 'adopt') {
      for (const { fold: f, bytes } of msg.states) {
        const state = deserialize(bytes) as FoldState;
        // The train matrix is userItemMatrix's of the train dataset (splits.ts): the fits read it, not a rebuilt one.
        adoptUserItemMatrix(state.split.train, state.split.trainMatrix);
        folds[f] = new RollingFold(input, data.specs[f], state);
      }
      result = null;
    } else if (msg.op === 'info') result = held().map((f) => f?.info() ?? null);
    else if (msg.op === 'fit') {
      const target = fold(msg.fold);
      const started = performance.now();
      const objective = target.fit(msg.name, msg.recommender, msg.candidate, msg.index);
      result = { objective, ...target.candidateParts(msg.name, msg.index), ms: performance.now() - started } satisfies FoldFit;
    } else if (msg.op === 'install') result = fold(msg.fold).install(msg.name, msg.index, { part: msg.part, ...(msg.leftOutPart ? { leftOutPart: msg.leftOutPart } : {}) }) ?? null;
    else if (msg.op === 'keep') result = held().map((f) => f?.keep(msg.name, msg.index) ?? null);
    else if (msg.op === 'score-whole') result = msg.folds.map((f) => (msg.on === 'left-out' ? fold(f).scoreLeftOut(msg.blend) : fold(f).score(msg.blend)));
    else if (msg.on === 'left-out') result = data.specs.map((_, i) => (msg.ranges[i] ? fold(i).scoreLeftOutRange(msg.blend, msg.ranges[i]![0], msg.ranges[i]![1]) : null));
    else result = data.specs.map((_, i) => (msg.ranges[i] ? fold(i).scoreRange(msg.blend, msg.ranges[i]![0], msg.ranges[i]![1]) : null));
    parentPort!.postMessage({ id: msg.id, result }, transfer);
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
