/**
 * Runs an erasure's artifact rewrites (redaction.ts) in a worker thread (redaction-worker.ts), so the
 * storefront keeps its answers while an erasure rewrites a version of 420,000 customers: on the event
 * loop that rewrite held every request until the load shedding answered 503 OVERLOADED.
 *
 * The worker starts on the first job and keeps the process alive only while it has jobs. Should it fail
 * (it cannot start, it crashed), its jobs and every later one run on the calling thread instead, as
 * before, and the failure is told once. The bytes given are copied before they are handed over: they may
 * be a view into a buffer someone else keeps (a Redis client's pool, the in-memory store).
 */
import type { Worker } from 'node:worker_threads';
import { AppError } from '../errors.js';
import { startModuleWorker } from '../training/worker-thread.js';
import { redact, type RedactionJob, type RedactionResult } from './redaction.js';
import type { RedactionReply } from './redaction-worker.js';

export interface RedactionRunner {
  run(job: RedactionJob): Promise<RedactionResult>;
  close(): Promise<void>;
}

/** On the calling thread: for tests of the erasure's logic and wherever no worker is wanted. */
export const redactHere: RedactionRunner = { run: async (job) => redact(job), close: async () => {} };

type Pending = { job: RedactionJob; resolve: (r: RedactionResult) => void; reject: (err: Error) => void };

/** How many customers (user ids) or rows a job rewrites: what close() logs of a job it gave up on. */
const jobSize = (job: RedactionJob): number => ('userIds' in job ? job.userIds.length : job.rows.length);

/** Default of `closeWaitMs`: how long close() lets the worker finish the jobs it holds (ERASURE_CLOSE_WAIT_MS). */
export const REDACTION_CLOSE_WAIT_MS = 30_000;

/**
 * The error a job left unfinished by a close that stopped waiting is rejected with: a 503 SHUTTING_DOWN (with
 * Retry-After) to the DELETE whose erasure it fails, which is to be sent again, not a 500.
 */
export class RedactionAbandoned extends AppError {
  constructor(message: string) {
    super('SHUTTING_DOWN', message);
  }
}

export function createRedactionRunner(opts: {
  onWorkerFailed?: (err: Error) => void;
  /**
   * How long close() waits for the jobs the worker holds before it stops the worker and rejects them
   * (RedactionAbandoned): their erasure fails and writes none of their rewrites (each is written only once its
   * job answers), its Postgres transaction rolls back, and the erasure is asked for again. Default REDACTION_CLOSE_WAIT_MS.
   */
  closeWaitMs?: number;
  /** Told what close() gave up on: each abandoned job's kind and how many customers or rows it held. */
  onCloseGaveUp?: (jobs: { kind: string; size: number }[], waitedMs: number) => void;
  /** Starts the thread (default: redaction-worker.ts); a test stands a thread that cannot start with one that throws. */
  startWorker?: () => Worker;
} = {}): RedactionRunner {
  let worker: Worker | null = null;
  let failed = false;
  let nextId = 0;
  const pending = new Map<number, Pending>();
  /** Callers of close() waiting for the worker's jobs to end. */
  let drainWaiters: (() => void)[] = [];
  const drained = () => {
    if (pending.size > 0) return;
    for (const resolve of drainWaiters) resolve();
    drainWaiters = [];
  };
  const here = (job: RedactionJob) => Promise.resolve().then(() => redact(job));
  /** The jobs the worker held, done here: each pending entry keeps the caller's job, whose bytes were not transferred. */
  const settleHere = () => {
    for (const p of pending.values()) here(p.job).then(p.resolve, p.reject);
    pending.clear();
    drained();
  };

  const giveUp = (err: Error) => {
    if (failed) return;
    failed = true;
    worker = null;
    opts.onWorkerFailed?.(err);
    settleHere();
  };

  const start = (): Worker => {
    const w = (opts.startWorker ?? (() => startModuleWorker('redaction-worker', null)))();
    w.unref();
    w.on('message', (reply: RedactionReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      drained();
      if ('error' in reply) p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
      else p.resolve(reply.result);
    });
    w.on('error', (err) => giveUp(err));
    w.on('exit', (code) => giveUp(new Error(`the redaction worker thread exited (code ${code})`)));
    return w;
  };

  return {
    run(job) {
      if (failed) return here(job);
      try {
        worker ??= start();
      } catch (err) {
        // It could not start (no bundle, no loader, out of threads): this job and the later ones are done here.
        giveUp(err instanceof Error ? err : new Error(String(err)));
        return here(job);
      }
      const w = worker;
      const id = nextId++;
      // A copy of its own, whole, is sent: transferred, not cloned, so after postMessage its bytes are gone
      // from this thread (length 0). The caller's job, untouched, is what a fallback redacts.
      const bytes = job.bytes.slice();
      return new Promise<RedactionResult>((resolve, reject) => {
        pending.set(id, { job, resolve, reject });
        w.ref();
        try {
          w.postMessage({ id, job: { ...job, bytes } }, [bytes.buffer as ArrayBuffer]);
        } catch (err) {
          // Not handed over (the thread is gone, the job could not be sent): done here.
          pending.delete(id);
          if (pending.size === 0) w.unref();
          here(job).then(resolve, reject);
        }
      });
    },
    /**
     * The jobs the worker holds end there first: finished on the calling thread instead, as before, a
     * closing service's thread was held by them (seconds at 420,000 customers) with its requests still
     * being answered. Jobs asked from here on run on the calling thread.
     */
    async close() {
      const w = worker;
      const waitMs = opts.closeWaitMs ?? REDACTION_CLOSE_WAIT_MS;
      if (w && !failed && pending.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        const drainedInTime = await Promise.race([
          new Promise<boolean>((resolve) => drainWaiters.push(() => resolve(true))),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
        ]);
        clearTimeout(timer);
        if (!drainedInTime) {
          // Not redone here: the thread is closing, and a rewrite of 420,000 customers holds it for seconds. The
          // erasures fail whole instead (nothing of these rewrites is written) and are asked for again.
          const abandoned = [...pending.values()];
          pending.clear();
          drainWaiters = [];
          opts.onCloseGaveUp?.(abandoned.map(({ job }) => ({ kind: job.kind, size: jobSize(job) })), waitMs);
          for (const p of abandoned) {
            p.reject(new RedactionAbandoned(`the service closed before the erasure's ${p.job.kind} rewrite ended (waited ${waitMs} ms, ERASURE_CLOSE_WAIT_MS): nothing of it was written; erase again`));
          }
        }
      }
      worker = null;
      failed = true;
      await w?.terminate();
      // Jobs that came meanwhile, or that a dead worker left: done here (giveUp does nothing once `failed` is set).
      settleHere();
    },
  };
}
