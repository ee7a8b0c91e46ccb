/**
 * Artifact reads off the thread that answers requests. Readying a model version reads its artifacts
 * (hundreds of MB at ten times Online Retail): the Redis client's parsing of each part's reply and the
 * join of the parts into the artifact's buffer held the serving thread about 1.2 s per version there, in
 * many short turns that storefront requests waited behind (bench/README "Content's feature index"). A
 * worker thread (artifact-read-worker.ts) makes the same read on its own connection and transfers the
 * finished buffer, so the serving thread only decodes it.
 *
 * The worker starts on the first read and is ended by close(), after the reads in flight. Should it fail
 * or exit (it cannot start, it crashed), the reads it had and every later one are made on the calling
 * thread instead (`fallback`), as before this reader, and the failure is told once; while closing, the
 * reads it had fail as on a closed connection.
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../training/worker-thread.js';
import type { ArtifactReadReply, ArtifactReadRequest } from './artifact-read-worker.js';
import type { RedisTarget } from './redis-connection.js';

export interface ArtifactReader {
  read(key: string, writesKey: string, partBytes: number): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

/** As ioredis answers a command on a connection quit: a dependency failure (src/errors.ts), no new connection. */
const closedError = () => new Error('Connection is closed: the model store was closed');

type Pending = { req: ArtifactReadRequest; resolve: (bytes: Uint8Array | null) => void; reject: (err: Error) => void };

export function createArtifactReader(opts: {
  target: RedisTarget;
  commandTimeout: number;
  /** The same read on the calling thread, for when the worker cannot make it. */
  fallback: (key: string, writesKey: string, partBytes: number) => Promise<Uint8Array | null>;
  onWorkerFailed?: (err: Error) => void;
}): ArtifactReader {
  let worker: Worker | null = null;
  let failed = false;
  let closed = false;
  let nextId = 0;
  const pending = new Map<number, Pending>();

  /**
   * The worker gave up: what it had is read here, and so is everything after. While closing (close() waits
   * for those reads), they fail instead; the exit of the worker close() ended finds none.
   */
  const giveUp = (err: Error) => {
    if (failed) return;
    failed = true;
    worker = null;
    if (!closed) opts.onWorkerFailed?.(err);
    for (const p of pending.values()) {
      if (closed) p.reject(closedError());
      else opts.fallback(p.req.key, p.req.writesKey, p.req.partBytes).then(p.resolve, p.reject);
    }
    pending.clear();
  };

  const start = (): Worker => {
    const w = startModuleWorker('artifact-read-worker', { target: opts.target, commandTimeout: opts.commandTimeout });
    // Only reads in flight keep the process alive (ref() below): a CLI's last read does, an idle store does not.
    w.unref();
    w.on('message', (reply: ArtifactReadReply) => {
      const p = pending.get(reply.id);
      if (!p) return;
      pending.delete(reply.id);
      if (pending.size === 0) w.unref();
      if ('error' in reply) p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code }));
      else p.resolve(reply.bytes);
    });
    w.on('error', (err) => giveUp(err));
    w.on('exit', (code) => giveUp(new Error(`the artifact reader's worker thread exited (code ${code})`)));
    return w;
  };

  /** Reads made and not settled yet (worker or fallback), which close() lets finish. */
  const inFlight = new Set<Promise<unknown>>();
  const tracked = <T>(read: Promise<T>): Promise<T> => {
    inFlight.add(read);
    const done = () => void inFlight.delete(read);
    read.then(done, done);
    return read;
  };

  return {
    read(key, writesKey, partBytes) {
      if (closed) return Promise.reject(closedError());
      if (failed) return tracked(opts.fallback(key, writesKey, partBytes));
      worker ??= start();
      const req = { id: nextId++, key, writesKey, partBytes };
      return tracked(
        new Promise<Uint8Array | null>((resolve, reject) => {
          pending.set(req.id, { req, resolve, reject });
          worker!.ref();
          worker!.postMessage(req);
        }),
      );
    },
    /** Refuses new reads, lets those in flight finish (as quitting a connection does), then ends the worker. */
    async close() {
      closed = true;
      await Promise.allSettled([...inFlight]);
      const w = worker;
      worker = null;
      await w?.terminate();
    },
  };
}
