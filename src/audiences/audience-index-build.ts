/**
 * Builds an audience index's postings (audience-index.ts buildPostings) in a worker thread of its own, one
 * per build (a build comes once per model version served): inverting every customer's candidates on the
 * event loop held it for 109 s at 420,000 customers on a loaded machine, the storefront shed meanwhile.
 * The chunks' buffers (each array owning its own, as packEntries makes them) are transferred, so they are
 * unusable here afterwards. A thread that cannot start leaves the postings to be built on the calling
 * thread, as before; one that dies after it took the buffers fails the build (the next request builds again).
 * Either failure is told.
 */
import { startModuleWorker } from '../training/worker-thread.js';
import { buildPostings, type AudiencePostings, type PackedEntries } from './audience-index.js';
import type { PostingsReply } from './audience-index-worker.js';

export type PostingsBuilder = (chunks: PackedEntries[], itemCount: number) => Promise<AudiencePostings>;

/** On the calling thread (tests of the index's logic; wherever no thread is wanted). */
export const buildPostingsHere: PostingsBuilder = async (chunks, itemCount) => buildPostings(chunks, itemCount);

export function postingsInWorker(opts: { onWorkerFailed?: (err: Error) => void } = {}): PostingsBuilder {
  return (chunks, itemCount) =>
    new Promise<AudiencePostings>((resolve, reject) => {
      const buffers = [...new Set(chunks.flatMap((c) => Object.values(c).map((a: PackedEntries[keyof PackedEntries]) => a.buffer as ArrayBuffer)))];
      let worker: ReturnType<typeof startModuleWorker>;
      try {
        worker = startModuleWorker('audience-index-worker', { chunks, itemCount }, buffers);
      } catch (err) {
        opts.onWorkerFailed?.(err instanceof Error ? err : new Error(String(err)));
        resolve(buildPostings(chunks, itemCount));
        return;
      }
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        opts.onWorkerFailed?.(err);
        reject(err);
      };
      worker.on('message', (reply: PostingsReply) => {
        if (settled) return;
        settled = true;
        void worker.terminate();
        if ('error' in reply) reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
        else resolve(reply.postings);
      });
      worker.on('error', (err) => fail(err));
      worker.on('exit', (code) => fail(new Error(`the audience index thread exited (code ${code}) before it answered`)));
    });
}
