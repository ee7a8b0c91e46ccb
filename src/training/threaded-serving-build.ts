/**
 * The serving build split over worker threads: the per-item part runs once in the calling thread, the
 * per-user rows (most of the work) on `threads` threads at once, the calling thread one of them, each
 * taking the next chunk of consecutive users when it is free (shared-chunks.ts). Each user's rows depend
 * only on the user and the fitted models, which reach the workers as their own artifacts, and the chunks
 * are put back in order, so the result is the same as a single-thread build's.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Dataset } from '../recommenders/dataset.js';
import {
  assembleServingModel,
  prepareServingModel,
  ROWS_CHUNK_USERS,
  type BuildServingModelInput,
  userRowChunks,
  userRowTables,
  type ServingModelBuild,
  type TableEntries,
  type UserRows,
} from '../serving/serving-model-builder.js';
import type { Recipe } from './recipe.js';
import { ownedBuffers } from './transfer-list.js';
import { startModuleWorker } from './worker-thread.js';
import { takeSlot, type ChunkGate } from './chunk-gate.js';
import { sharedChunks } from './shared-chunks.js';
import type { UserRowsJob } from './user-rows-worker.js';

/** Threads used when TRAIN_THREADS is not set: one per core. */
export const defaultTrainThreads = () => Math.max(1, os.availableParallelism());

/**
 * Tuning's fold threads when TRAIN_THREADS is not set: one per validation window wherever there are two cores or more.
 * Each window lives on the thread that split it (fold-pool.ts FoldsHeld `own`), so with fewer threads than windows one
 * thread does two windows' work while the others wait: on Online Retail, 3 windows on 2 threads gave those threads
 * 64.7 s and 32.7 s of CPU, 3 threads 37.9, 31.8 and 28.6 s, which the cores share (bench/README "One tuning thread
 * per validation window"). The tuned recipe is the same for any number. One core: one thread.
 */
export const defaultTuningThreads = (windows: number, cores = defaultTrainThreads()) => (cores >= 2 ? Math.max(cores, windows) : 1);

/**
 * A typed array backed by a SharedArrayBuffer, so workers read it without a copy of their own: the
 * array itself when it is one already (a training's dataset is built `shared`), else a copy.
 */
function shared<T extends Int32Array | Float64Array | Float32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}

/** What a worker needs of the dataset: ids, attributes and events; catalog data stays here. */
export function slimDataset(ds: Dataset): Dataset {
  return {
    userIds: ds.userIds,
    itemIds: ds.itemIds,
    userIndex: new Map(),
    itemIndex: new Map(),
    items: [],
    userAttributes: ds.userAttributes,
    eventUser: shared(ds.eventUser),
    eventItem: shared(ds.eventItem),
    eventOrder: shared(ds.eventOrder),
    eventTs: shared(ds.eventTs),
    eventQuantity: shared(ds.eventQuantity),
    eventPrice: shared(ds.eventPrice),
    orderCount: ds.orderCount,
    now: ds.now,
  };
}

function runWorker(job: UserRowsJob, transfer: ArrayBuffer[], started: Worker[], onRows?: (rows: UserRows) => void): Promise<UserRows[]> {
  return new Promise((resolve, reject) => {
    const worker = startModuleWorker('user-rows-worker', job, transfer);
    started.push(worker);
    let done = false;
    worker.on('message', (msg: { type: 'rows'; rows: UserRows } | { type: 'done'; rows: UserRows[] } | { type: 'error'; message: string }) => {
      if (msg.type === 'rows') return onRows?.(msg.rows);
      done = true;
      if (msg.type === 'done') resolve(msg.rows);
      else reject(new Error(msg.message));
      void worker.terminate();
    });
    worker.on('error', (err) => {
      done = true;
      reject(err);
    });
    worker.on('exit', (code) => done || reject(new Error(`a serving-build thread exited (code ${code}) before it finished`)));
  });
}

/** The first `most` of `items`: none is taken from `items` after the last one given. */
function* firstOf<T>(items: Iterable<T>, most: number): Generator<T> {
  if (most < 1) return;
  let taken = 0;
  for (const item of items) {
    yield item;
    if (++taken >= most) return;
  }
}

/** Below this many users per thread a thread's start-up (~0.25 s) costs more than it saves. */
const MIN_USERS_PER_THREAD = 2000;

/**
 * Without `onEntries`, the per-user tables come back in the build. With it, they are handed to it in
 * chunks of `chunkUsers` users (default ROWS_CHUNK_USERS) as they are built (from every thread; in no particular order across
 * threads) and the build's per-user tables are empty: a caller that writes each chunk and drops it
 * never holds all the rows at once (~1 GB at 16 x Online Retail).
 */
export async function buildServingModelInThreads(
  input: BuildServingModelInput & { recipe: Recipe },
  threads: number,
  opts: {
    minUsersPerThread?: number;
    onEntries?: (entries: TableEntries) => void;
    chunkUsers?: number;
    /** Each thread takes a slot of it before it hands a chunk on; the caller gives the slot back once the chunk is written. */
    chunkGate?: ChunkGate;
    /**
     * With worker threads, the most chunks the calling thread builds itself; the workers build the rest. Default: as
     * many as it takes while the workers start. A test sets it so that the workers' share is known whatever the
     * machine's load (on a loaded one the calling thread can build nearly every chunk before a worker has started).
     */
    callerChunks?: number;
  } = {},
): Promise<ServingModelBuild> {
  const { ds, fitted, recipe } = input;
  const prepared = prepareServingModel(input);
  const users = ds.userIds.length;
  const most = Math.floor(users / (opts.minUsersPerThread ?? MIN_USERS_PER_THREAD));
  const count = Math.max(1, Math.min(threads, most));
  const chunkUsers = opts.chunkUsers ?? ROWS_CHUNK_USERS;
  // Every thread, this one included, takes its chunks from this counter.
  const next = new Int32Array(new SharedArrayBuffer(4));
  const onEntries = opts.onEntries;
  const onRows = onEntries && ((rows: UserRows) => onEntries(userRowTables(prepared.singles, rows)));
  // Set when another thread failed: this one stops taking chunks, and hands none on.
  let failed = false;
  /** This thread's chunks: kept, or each handed to onRows, letting the other threads' chunks through in between. */
  const ownChunks = async (most = Infinity): Promise<UserRows[]> => {
    const kept: UserRows[] = [];
    for (const chunk of userRowChunks({ ...prepared, ds, fitted }, firstOf(sharedChunks(next, users, chunkUsers), most))) {
      if (onRows && opts.chunkGate) await takeSlot(opts.chunkGate); // waiting lets the other threads' chunks through
      if (failed) break;
      if (onRows) onRows(chunk);
      else kept.push(chunk);
      // Lets the other threads' chunks through, and their failure be seen.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (failed) break;
    }
    return kept;
  };
  if (count === 1) return assembleServingModel(prepared, await ownChunks());
  const slim = slimDataset(ds);
  const { artifacts: _, ...rest } = prepared;
  // Each thread gets the fitted models encoded for it alone and moved there, not copied: this thread
  // keeps none of those bytes while it builds its own chunks.
  const started: Worker[] = [];
  const others = Array.from({ length: count - 1 }, () => {
    const sources: UserRowsJob['sources'] = [...fitted.sources].map(([name, r]) => [name, recipe.sources[name]?.recommender ?? name, r.toArtifact()]);
    const hybrid = fitted.hybrid.toArtifact();
    return runWorker({ ds: slim, sources, hybrid, prepared: rest, next, stream: Boolean(onRows), chunkUsers, chunkGate: opts.chunkGate }, ownedBuffers([...sources.map(([, , b]) => b), hybrid]), started, onRows);
  });
  // Rejections are observed at once, so a failing thread cannot go unhandled while this one works.
  const settled = Promise.all(others);
  settled.catch(() => {
    failed = true;
    // No thread takes another chunk.
    Atomics.store(next, 0, Math.ceil(users / chunkUsers));
  });
  try {
    const first = await ownChunks(opts.callerChunks);
    const rows = await settled;
    return assembleServingModel(prepared, onRows ? [] : [...first, ...rows.flat()]);
  } catch (err) {
    // One thread failed: the others' rows are of no use, and must not go on reaching onEntries.
    await Promise.all(started.map((w) => w.terminate()));
    throw err;
  }
}
