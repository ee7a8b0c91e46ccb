/**
 * Reading a version's artifact from Redis: part by part when it is large, checked against its write
 * count (redis-model-store.ts). Used by the store on its own thread and by the artifact reader's worker
 * thread (artifact-read-worker.ts), which runs the same read on a connection of its own.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-connection.js';

/**
 * Artifacts larger than this are read in parts of it, one command each. One command that returns a large
 * value holds Redis for every other client while it copies the reply (ALS's 121 MB at ten times Online
 * Retail: 411-520 ms without an answer to anyone, storefront reads included, on a 2-vCPU VM;
 * bench/artifact-read.ts), and the Redis client then joins it in one synchronous copy too. Parts let both serve others between
 * them, and are joined into a buffer of the artifact's own (no view keeps the client's pool alive).
 */
export const ARTIFACT_PART_BYTES = 4 << 20;
/** Part-by-part reads of an artifact written meanwhile tried again before one whole read (one GET) is made instead. */
const ARTIFACT_READ_ATTEMPTS = 3;

/**
 * Runs a pipeline or a MULTI (all of its keys in one slot) and returns its replies, throwing the first
 * command's error. A MULTI whose commands Redis refused as they were queued (READONLY on a replica, say)
 * fails as a whole with EXECABORT: the refusal itself is thrown, so it is seen for what it is.
 */
export async function execReplies(pipe: ChainableCommander): Promise<unknown[]> {
  let replies: [Error | null, unknown][];
  try {
    replies = (await pipe.exec()) ?? [];
  } catch (err) {
    throw (err as { previousErrors?: Error[] }).previousErrors?.[0] ?? err;
  }
  for (const [err] of replies) if (err) throw err;
  return replies.map(([, value]) => value);
}

/**
 * An artifact's bytes in a buffer of their own (offset 0, so a loader's typed views are aligned), or null.
 * Up to `partBytes` in one round trip; larger, part by part. Every write of an artifact (putArtifact,
 * redactArtifact: an erasure rewrites published ones) is swapped in whole, with its `writes` count going up
 * in the same step (SWAP_ARTIFACT_SCRIPT), so a read whose count differs after its parts from before them
 * may hold parts of two writes, and is made again; after ARTIFACT_READ_ATTEMPTS, one GET. (An artifact
 * written by code from before the count has none, null before and after: only a rewrite by such code goes
 * unseen.)
 */
export async function readArtifact(client: RedisClient, key: string, writesKey: string, partBytes: number): Promise<Uint8Array | null> {
  for (let attempt = 0; attempt < ARTIFACT_READ_ATTEMPTS; attempt++) {
    const [exists, size, before, first] = (await execReplies(
      client.multi().exists(key).strlen(key).get(writesKey).getrangeBuffer(key, 0, partBytes - 1),
    )) as [number, number, string | null, Buffer];
    if (!exists) return null;
    // The first part, read in one step with the size and the count (all of a small artifact).
    const out = new Uint8Array(size);
    out.set(first.subarray(0, size));
    if (size <= partBytes) return out;
    let at = first.byteLength;
    while (at < size) {
      const part = await client.getrangeBuffer(key, at, Math.min(size, at + partBytes) - 1);
      // Shorter than asked: rewritten smaller (or deleted) since.
      if (part.byteLength === 0) break;
      out.set(part.subarray(0, size - at), at);
      at += part.byteLength;
    }
    if (at === size && (await client.get(writesKey)) === before) return out;
  }
  const bytes = await client.getBuffer(key);
  return bytes && new Uint8Array(bytes);
}

