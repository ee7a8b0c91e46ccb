import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../training/worker-thread.js';
import { mergeBlendParts, type BlendPart, type BlendScores, type SourcePart } from './blend-cache.js';
import { RollingFold, type FoldBlend, type FoldInfo, type FoldSpec } from './rolling-fold.js';
import type { PurchaseColumns } from './purchase-columns.js';
import { columnarInput, purchasesOf, type SplitInput } from './splits.js';

/**
 * Where a threaded pool's folds live. `every`: each thread holds a copy of every fold (split by one, handed to the
 * others), so any idle thread fits any fold and every thread scores its share of each fold's users. `own`: each fold
 * lives on the one thread that split it, which fits its candidates and scores its blends whole: one copy of each fold
 * in the process instead of one per thread, nothing handed over or installed, but the work is only as even as the folds
 * (3 folds on 2 threads: one thread has two). The results are the same.
 */
export type FoldsHeld = 'every' | 'own';

/** A request to a fold thread, which holds a copy of every fold (FoldsHeld `every`) or of its own (`own`). */
export type FoldRequest =
  /** Splits the thread's own folds (workerData `own`); answered with each one's state, serialized (FoldHandOver[]). */
  | { op: 'build' }
  /** Takes the other threads' folds, as their `build` gave them. */
  | { op: 'adopt'; states: FoldHandOver[] }
  | { op: 'info' }
  /** Fits one candidate on one fold; answered with FoldFit. */
  | { op: 'fit'; fold: number; name: string; recommender: string; candidate: Record<string, unknown>; index: number }
  /** A candidate's part fitted on another thread's copy of the fold. */
  | { op: 'install'; fold: number; name: string; index: number; part: SourcePart; leftOutPart?: SourcePart }
  | { op: 'keep'; name: string; index: number }
  /** Scores the blend on the users [from, to) of each fold (ranges[f]; null: that fold is not scored); answered with one BlendPart per fold (null where not scored). */
  | { op: 'score'; blend: FoldBlend; ranges: ([number, number] | null)[]; on?: 'left-out' }
  /** Scores the blend on every user of each fold in `folds` (held by the thread); answered with their BlendScores in that order. */
  | { op: 'score-whole'; blend: FoldBlend; folds: number[]; on?: 'left-out' };

/** A fold as one thread split it, for the others: its RollingFold state, serialized (node:v8) into a buffer of its own. */
export interface FoldHandOver {
  fold: number;
  bytes: Uint8Array;
}

/** A thread's answer to a fit request: the candidate's objective alone, its part and the time the fit took. */
export interface FoldFit {
  objective: number;
  part: SourcePart;
  /** With FoldSpec.leftOut: the candidate's lists for the left-out customers. */
  leftOutPart?: SourcePart;
  ms: number;
}

/** What fitting one candidate gave: its objective alone per fold, and the time the fits took in all (summed over folds). */
export interface CandidateFit {
  perFold: number[];
  ms: number;
}

/**
 * The rolling-origin folds, wherever they live: answers each request with one result per fold, in
 * fold order. Fits may be requested several at once (they run in any order, and what each gives does
 * not depend on the others); keep and score wait for every fit requested before them.
 */
export interface FoldPool {
  info(): Promise<FoldInfo[]>;
  /** Fits a candidate on every fold: its objective alone, per fold. `onFold` is called as each fold's fit ends. */
  fit(name: string, recommender: string, candidate: Record<string, unknown>, index: number, onFold?: () => void): Promise<CandidateFit>;
  keep(name: string, index: number): Promise<void>;
  score(blend: FoldBlend): Promise<BlendScores[]>;
  /** The blend's scores on the folds `folds` only (fold indices), in that order: each as score() gives it. */
  scoreFolds(blend: FoldBlend, folds: readonly number[]): Promise<BlendScores[]>;
  /** The blend's scores per fold on the customers the folds validate apart (FoldSpec.leftOut: tune.keepOn `left-out`). */
  scoreLeftOut(blend: FoldBlend): Promise<BlendScores[]>;
  /** Ends the pool's threads (idempotent). */
  close(): Promise<void>;
}

/** All folds in this thread, one after another (yielding to the event loop between fits). */
export function localFoldPool(input: SplitInput, specs: FoldSpec[]): FoldPool {
  // Every fold splits one copy of the purchases as columns.
  const columnar = columnarInput(input);
  const folds = specs.map((spec) => new RollingFold(columnar, spec));
  // Fits run one at a time in request order, so a keep or score requested after them waits for them.
  // After a failure the work still waiting fails at once with the same error.
  let queue: Promise<unknown> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = queue.then(() => {
      if (failure) throw failure.error;
      return work();
    });
    queue = turn.catch((error: unknown) => {
      failure ??= { error };
    });
    return turn;
  };
  return {
    info: async () => folds.map((f) => f.info()),
    fit: (name, recommender, candidate, index, onFold) =>
      inTurn(async () => {
        const perFold: number[] = [];
        const started = performance.now();
        for (const f of folds) {
          perFold.push(f.fit(name, recommender, candidate, index));
          onFold?.();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        return { perFold, ms: performance.now() - started };
      }),
    keep: (name, index) => inTurn(async () => folds.forEach((f) => f.keep(name, index))),
    score: (blend) => inTurn(async () => folds.map((f) => f.score(blend))),
    scoreFolds: (blend, only) => inTurn(async () => only.map((f) => folds[f].score(blend))),
    scoreLeftOut: (blend) => inTurn(async () => folds.map((f) => f.scoreLeftOut(blend))),
    close: async () => {},
  };
}

/**
 * The folds on min(threads, folds) worker threads, placed as `held` says (FoldsHeld; default `own`, as tuning's
 * RollingTuneOptions.foldsHeld). The purchases the threads split are one copy in shared memory that every thread reads,
 * and each fold is split once, by one thread (folds taken in turn, the largest first).
 * With `own`, each fold lives on the thread that split it, which fits its candidates and scores its blends whole
 * (op score-whole): one copy of each fold in the process, the work only as even as the folds.
 * With `every`, the thread that split a fold hands it to the others as a serialized copy of what it built
 * (RollingFold.state), so each thread holds a copy of every fold (about 330 MB at Online Retail's size) and the work is
 * shared evenly whatever the number of folds:
 *  - each fold's fit of a candidate is a task, run by the next idle thread (folds with the most
 *    training data first); the part it gives is then installed in the other threads' copies;
 *  - each blend is scored by every thread on its own share of every fold's validation users, and
 *    the shares are merged in user order (mergeBlendParts), so the scores are exactly one thread's.
 * Either way each fold is the one localFoldPool splits (a copy handed over is the same fold), so the answers are the same.
 * The threads end on close(), on the first failure of any of them, and when `signal` aborts.
 */
export function threadedFoldPool(input: SplitInput, specs: FoldSpec[], threads: number, signal?: AbortSignal, held: FoldsHeld = 'own'): FoldPool {
  signal?.throwIfAborted();
  // Purchases as typed columns with id tables, the columns in shared memory: every thread reads one copy.
  const columns = sharedColumns(purchasesOf(input));
  const items = input.items ? [...input.items] : undefined;
  const users = input.users ? [...input.users] : undefined;
  // A fold trains on what precedes its window, so the later the start the longer the fit: those go first.
  const fitOrder = specs.map((s, f) => ({ f, start: Date.parse(s.end) - s.days * 86_400_000 })).sort((a, b) => b.start - a.start).map(({ f }) => f);

  let failure: unknown;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const fail = (err: unknown) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    void close();
  };
  const count = Math.max(1, Math.min(threads, specs.length));
  // Thread w splits the folds at w, w + count, ... of the fit order, so the largest folds are split at the same time.
  const own = (w: number) => fitOrder.filter((_, t) => t % count === w);
  const workers: Worker[] = Array.from({ length: count }, (_, index) => {
    const w = startModuleWorker('fold-worker', { columns, items, users, specs, own: own(index), handOver: held === 'every' });
    w.on('message', (msg: { id: number; result?: unknown; error?: string }) => {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error === undefined) return p.resolve(msg.result);
      const err = new Error(`tuning fold thread: ${msg.error}`);
      p.reject(err);
      fail(err);
    });
    w.on('error', (err) => fail(err));
    w.on('exit', (code) => fail(new Error(`a tuning fold thread exited (code ${code}) before tuning finished`)));
    return w;
  });
  let closed = false;
  const onAbort = () => fail(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  /** Sends `req` to thread `w`; its answers come in the order its requests were sent. `transfer`: buffers moved, not copied. */
  function send<T>(w: number, req: FoldRequest, transfer: ArrayBuffer[] = []): Promise<T> {
    if (failure !== undefined) return Promise.reject(failure);
    return new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      workers[w].postMessage({ ...req, id }, transfer);
    });
  }

  // Every thread splits its own folds at once; then each takes the others' (a copy of the bytes for all but the
  // last taker, who is given them). Nothing else is sent to a thread before it holds every fold.
  const ready: Promise<void> = (async () => {
    const built = (await Promise.all(workers.map((_, w) => send<FoldHandOver[]>(w, { op: 'build' })))).flat();
    if (held === 'own') return;
    await Promise.all(
      workers.map((_, w) => {
        const states = built.filter((s) => !own(w).includes(s.fold));
        // The last thread to take a fold (the highest that did not split it) is given its buffer.
        const last = (s: FoldHandOver) => workers.every((_, other) => other <= w || own(other).includes(s.fold));
        const copies = states.map((s) => (last(s) ? s : { fold: s.fold, bytes: s.bytes.slice() }));
        return send(w, { op: 'adopt', states: copies }, copies.filter(last).map((s) => s.bytes.buffer as ArrayBuffer));
      }),
    );
  })();

  // Fit tasks wait here until a thread is idle.
  const tasks: { req: Extract<FoldRequest, { op: 'fit' }>; done: (fit: FoldFit) => void; failed: (err: unknown) => void }[] = [];
  const idle = workers.map((_, w) => w);
  let fitsRunning: Promise<unknown> = Promise.resolve();
  let isReady = false;
  ready.then(
    () => {
      isReady = true;
      pump();
    },
    // The pool has failed: no thread will take the waiting tasks.
    (err) => {
      for (const waiting of tasks.splice(0)) waiting.failed(err);
    },
  );
  // FoldsHeld `own`: fold f's thread.
  const owner = specs.map((_, f) => workers.findIndex((_, w) => own(w).includes(f)));
  const pump = () => {
    while (isReady && idle.length > 0 && tasks.length > 0) {
      // A task goes to the next idle thread, or (`own`) to its fold's thread when that is idle.
      const at = held === 'own' ? tasks.findIndex((t) => idle.includes(owner[t.req.fold])) : 0;
      if (at < 0) return;
      const task = tasks.splice(at, 1)[0];
      const w = held === 'own' ? idle.splice(idle.indexOf(owner[task.req.fold]), 1)[0] : idle.shift()!;
      send<FoldFit>(w, task.req).then(
        (fit) => {
          // The other threads' copies of the fold get the part before anything else is asked of them.
          workers.forEach((_, other) => {
            if (other !== w && held === 'every') void send(other, { op: 'install', fold: task.req.fold, name: task.req.name, index: task.req.index, part: fit.part, ...(fit.leftOutPart ? { leftOutPart: fit.leftOutPart } : {}) }).catch(() => {});
          });
          idle.push(w);
          task.done(fit);
          pump();
        },
        (err) => {
          // The pool has failed: no thread will take the waiting tasks.
          task.failed(err);
          for (const waiting of tasks.splice(0)) waiting.failed(err);
        },
      );
    }
  };
  const fitOn = (req: Extract<FoldRequest, { op: 'fit' }>) =>
    new Promise<FoldFit>((done, failed) => {
      if (failure !== undefined) return failed(failure);
      tasks.push({ req, done, failed });
      pump();
    });

  /** Sends `req` to every thread once every fit requested so far is done and installed everywhere. */
  async function everywhere<T>(req: (w: number) => FoldRequest): Promise<T[]> {
    await ready;
    await fitsRunning;
    if (failure !== undefined) throw failure;
    return Promise.all(workers.map((_, w) => send<T>(w, req(w))));
  }

  let sizes: number[] | undefined;
  let leftOutSizes: number[] | undefined;
  // Asked of every thread once the folds are built and handed over: each answers from its copies.
  const info = async () => {
    const answers = await everywhere<(FoldInfo | null)[]>(() => ({ op: 'info' }));
    const folds = specs.map((_, f) => answers[held === 'own' ? owner[f] : 0][f]!);
    // A thread's share ranges over the fold's cached users: those validated and those listed for coverage only.
    sizes = folds.map((f) => f.users + (f.listedOnly ?? 0));
    leftOutSizes = folds.map((f) => f.leftOut?.users ?? 0);
    return folds;
  };
  /** FoldsHeld `own`: the blend's scores on the folds `folds`, each asked of its thread, which scores it whole. */
  const scoreOnOwners = async (blend: FoldBlend, folds: readonly number[], on?: 'left-out'): Promise<BlendScores[]> => {
    const mine = (w: number) => folds.filter((f) => owner[f] === w);
    const answers = await everywhere<BlendScores[]>((w) => ({ op: 'score-whole', blend, folds: mine(w), ...(on ? { on } : {}) }));
    return folds.map((f) => answers[owner[f]][mine(owner[f]).indexOf(f)]);
  };
  /** Thread w's share of fold f's users (of `n` per fold): consecutive ranges of about equal size, in thread order. */
  const share = (w: number, only?: ReadonlySet<number>, n: readonly number[] = sizes!): ([number, number] | null)[] =>
    n.map((users, f) => (only && !only.has(f) ? null : [Math.floor((users * w) / workers.length), Math.floor((users * (w + 1)) / workers.length)]));
  const scoreFolds = async (blend: FoldBlend, folds: readonly number[]): Promise<BlendScores[]> => {
    if (held === 'own') return scoreOnOwners(blend, folds);
    if (!sizes) await info();
    const only = new Set(folds);
    const parts = await everywhere<(BlendPart | null)[]>((w) => ({ op: 'score', blend, ranges: share(w, only) }));
    return folds.map((f) => mergeBlendParts(parts.map((p) => p[f]!), parts[0][f]!.novel.itemCount, specs[f].k));
  };

  return {
    info,
    fit: async (name, recommender, candidate, index, onFold) => {
      const fits = fitOrder.map((fold) => fitOn({ op: 'fit', fold, name, recommender, candidate, index }).then((fit) => (onFold?.(), fit)));
      const all = Promise.all(fits);
      fitsRunning = Promise.all([fitsRunning, all.catch(() => {})]);
      const done = await all;
      const perFold: number[] = new Array(specs.length);
      fitOrder.forEach((fold, t) => (perFold[fold] = done[t].objective));
      return { perFold, ms: done.reduce((sum, f) => sum + f.ms, 0) };
    },
    keep: async (name, index) => {
      await everywhere<unknown>(() => ({ op: 'keep', name, index }));
    },
    score: (blend) => scoreFolds(blend, specs.map((_, f) => f)),
    scoreFolds,
    scoreLeftOut: async (blend) => {
      if (held === 'own') return scoreOnOwners(blend, specs.map((_, f) => f), 'left-out');
      if (!leftOutSizes) await info();
      const parts = await everywhere<(BlendPart | null)[]>((w) => ({ op: 'score', blend, ranges: share(w, undefined, leftOutSizes), on: 'left-out' }));
      return specs.map((spec, f) => mergeBlendParts(parts.map((p) => p[f]!), parts[0][f]!.novel.itemCount, spec.k));
    },
    close,
  };
}

/** The columns with their typed arrays in shared memory, so the threads given them read one copy (the id tables are copied). */
function sharedColumns(c: PurchaseColumns): PurchaseColumns {
  const shared = <T extends Int32Array | Float64Array | Uint8Array>(a: T): T => {
    const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
    const out = new Ctor(new SharedArrayBuffer(a.byteLength));
    out.set(a as never);
    return out;
  };
  return { ...c, user: shared(c.user), item: shared(c.item), order: shared(c.order), ts: shared(c.ts), quantity: shared(c.quantity), price: shared(c.price), hasPrice: shared(c.hasPrice) };
}
