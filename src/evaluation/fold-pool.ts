import type { Worker } from 'node:worker_threads';
import type { PurchaseRow } from '../recommenders/dataset.js';
import { siblingModule, startModuleWorker } from '../training/worker-thread.js';
import type { BlendScores } from './blend-cache.js';
import { RollingFold, type FoldBlend, type FoldInfo, type FoldSpec } from './rolling-fold.js';
import type { SplitInput } from './splits.js';

const WORKER_URL = siblingModule(import.meta.url, 'fold-worker');

/** A request to every fold, answered per fold (in fold order). */
export type FoldRequest =
  | { op: 'info' }
  | { op: 'fit'; name: string; recommender: string; candidate: Record<string, unknown>; index: number }
  | { op: 'keep'; name: string; index: number }
  | { op: 'score'; blend: FoldBlend };

/**
 * The rolling-origin folds, wherever they live: answers each request with one result per fold, in
 * fold order. Requests are answered in the order they are made.
 */
export interface FoldPool {
  info(): Promise<FoldInfo[]>;
  /** The objective of the candidate alone, per fold. */
  fit(name: string, recommender: string, candidate: Record<string, unknown>, index: number): Promise<number[]>;
  keep(name: string, index: number): Promise<void>;
  score(blend: FoldBlend): Promise<BlendScores[]>;
  /** Ends the pool's threads (idempotent). */
  close(): Promise<void>;
}

/** All folds in this thread, one after another (yielding to the event loop between fits). */
export function localFoldPool(input: SplitInput, specs: FoldSpec[]): FoldPool {
  const folds = specs.map((spec) => new RollingFold(input, spec));
  return {
    info: async () => folds.map((f) => f.info()),
    fit: async (name, recommender, candidate, index) => {
      const out: number[] = [];
      for (const f of folds) {
        out.push(f.fit(name, recommender, candidate, index));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return out;
    },
    keep: async (name, index) => folds.forEach((f) => f.keep(name, index)),
    score: async (blend) => folds.map((f) => f.score(blend)),
    close: async () => {},
  };
}

/** Purchases as typed columns with string tables: posted to a thread far faster than as objects. */
export interface PurchaseColumns {
  strings: string[];
  user: Int32Array;
  item: Int32Array;
  /** -1 for a purchase without an order id. */
  order: Int32Array;
  ts: Float64Array;
  quantity: Float64Array;
  price: Float64Array;
  hasPrice: Uint8Array;
}

export function purchaseColumns(events: Iterable<PurchaseRow>): PurchaseColumns {
  const rows = Array.isArray(events) ? (events as PurchaseRow[]) : [...events];
  const codes = new Map<string, number>();
  const code = (s: string) => {
    let c = codes.get(s);
    if (c === undefined) codes.set(s, (c = codes.size));
    return c;
  };
  const n = rows.length;
  const cols: PurchaseColumns = {
    strings: [],
    user: new Int32Array(n),
    item: new Int32Array(n),
    order: new Int32Array(n),
    ts: new Float64Array(n),
    quantity: new Float64Array(n),
    price: new Float64Array(n),
    hasPrice: new Uint8Array(n),
  };
  for (let e = 0; e < n; e++) {
    const r = rows[e];
    cols.user[e] = code(r.userId);
    cols.item[e] = code(r.itemId);
    cols.order[e] = r.orderId === null ? -1 : code(r.orderId);
    cols.ts[e] = r.ts;
    cols.quantity[e] = r.quantity;
    cols.price[e] = r.price ?? 0;
    cols.hasPrice[e] = r.price === null ? 0 : 1;
  }
  cols.strings = [...codes.keys()];
  return cols;
}

/** The purchases back as rows, in their original order. */
export function splitInputFromColumns(c: PurchaseColumns, items?: SplitInput['items'], users?: SplitInput['users']): SplitInput {
  const events: PurchaseRow[] = new Array(c.ts.length);
  for (let e = 0; e < events.length; e++) {
    events[e] = {
      userId: c.strings[c.user[e]],
      itemId: c.strings[c.item[e]],
      orderId: c.order[e] < 0 ? null : c.strings[c.order[e]],
      ts: c.ts[e],
      quantity: c.quantity[e],
      price: c.hasPrice[e] ? c.price[e] : null,
    };
  }
  return { events, items, users };
}

/**
 * The folds spread over `threads` worker threads (largest folds first, each to the thread with the
 * least training data so far), all requests sent to every thread at once. Each thread rebuilds its
 * folds from the same input, so its answers are the same as localFoldPool's. The threads end on
 * close(), on the first failure of any of them, and when `signal` aborts.
 */
export function threadedFoldPool(input: SplitInput, specs: FoldSpec[], threads: number, signal?: AbortSignal): FoldPool {
  signal?.throwIfAborted();
  const columns = purchaseColumns(input.events);
  const items = input.items ? [...input.items] : undefined;
  const users = input.users ? [...input.users] : undefined;
  // A fold's training data grows with its end; later folds are larger. Greedy: largest first.
  const order = specs.map((s, f) => ({ f, end: Date.parse(s.end) })).sort((a, b) => b.end - a.end);
  const groups: number[][] = Array.from({ length: Math.max(1, Math.min(threads, specs.length)) }, () => []);
  const load = groups.map(() => 0);
  for (const { f } of order) {
    const g = load.indexOf(Math.min(...load));
    groups[g].push(f);
    load[g] += f + 1;
  }
  for (const g of groups) g.sort((a, b) => a - b);

  let failure: unknown;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const fail = (err: unknown) => {
    failure ??= err;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
    void close();
  };
  const workers: Worker[] = groups.map((g) => {
    const w = startModuleWorker(WORKER_URL, { columns, items, users, specs: g.map((f) => specs[f]) });
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

  /** Sends `req` to every thread and puts the answers back in fold order. */
  async function request<T>(req: FoldRequest): Promise<T[]> {
    if (failure !== undefined) throw failure;
    const answers = await Promise.all(
      workers.map(
        (w) =>
          new Promise<unknown>((resolve, reject) => {
            const id = nextId++;
            pending.set(id, { resolve, reject });
            w.postMessage({ ...req, id });
          }),
      ),
    );
    const out: T[] = new Array(specs.length);
    groups.forEach((g, w) => g.forEach((f, j) => (out[f] = (answers[w] as T[])[j])));
    return out;
  }

  return {
    info: () => request<FoldInfo>({ op: 'info' }),
    fit: (name, recommender, candidate, index) => request<number>({ op: 'fit', name, recommender, candidate, index }),
    keep: async (name, index) => {
      await request<undefined>({ op: 'keep', name, index });
    },
    score: (blend) => request<BlendScores>({ op: 'score', blend }),
    close,
  };
}
