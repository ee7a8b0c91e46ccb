/**
 * Worker-thread entry of the artifact reader (artifact-reader.ts): reads artifacts from the Redis named
 * in workerData on a connection of its own, part by part and checked against their write counts
 * (redis-artifact-read.ts), and hands each over whole, its buffer transferred rather than copied. The
 * client's parsing and joining of a large artifact's replies (hundreds of MB when a version is readied
 * at ten times Online Retail) thus never runs on the thread that answers requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { clientOptions, isCommandTimeout, openRedis, reopener, type RedisTarget } from './redis-connection.js';
import { readArtifact } from './redis-artifact-read.js';

export interface ArtifactReadRequest {
  id: number;
  key: string;
  writesKey: string;
  partBytes: number;
}

export type ArtifactReadReply =
  | { id: number; bytes: Uint8Array | null }
  | { id: number; error: { name: string; message: string; code?: unknown } };

const { target, commandTimeout } = workerData as { target: RedisTarget; commandTimeout: number };
// As the store's own connections (FAIL_FAST_REDIS_OPTIONS): a command fails rather than waits while
// Redis is away, and reconnects go on with a backoff capped at 1 s.
const client = openRedis(target, { maxRetriesPerRequest: 0, commandTimeout, connectTimeout: 2000, retryStrategy: (attempt) => Math.min(50 * attempt, 1000) });
client.on('error', () => {});
client.once('ready', () => (clientOptions(client).enableOfflineQueue = false));
// A read that timed out may have met a socket a partition left dead (redis-connection.ts, reopener): the
// next read goes over a new connection rather than waiting out the kernel's retransmissions. This
// connection only reads, so nothing in flight is lost that a retry would not redo.
const reopen = reopener(client);

parentPort!.on('message', (req: ArtifactReadRequest) => {
  readArtifact(client, req.key, req.writesKey, req.partBytes).then(
    (bytes) => parentPort!.postMessage({ id: req.id, bytes } satisfies ArtifactReadReply, bytes ? [bytes.buffer as ArrayBuffer] : []),
    (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      if (isCommandTimeout(e)) void reopen();
      parentPort!.postMessage({ id: req.id, error: { name: e.name, message: e.message, code: (e as { code?: unknown }).code } } satisfies ArtifactReadReply);
    },
  );
});
