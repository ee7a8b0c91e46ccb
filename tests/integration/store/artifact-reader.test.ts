/**
 * The artifact reader's worker thread (src/store/artifact-reader.ts): reads made there come back whole,
 * and a worker that cannot read leaves the reads to the calling thread instead of failing them.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dependencyFailure } from '../../../src/errors.js';
import { createArtifactReader } from '../../../src/store/artifact-reader.js';
import { readArtifact } from '../../../src/store/redis-artifact-read.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const useRedis = await serviceAvailable(REDIS_URL);
if (!useRedis && process.env.REQUIRE_SERVICES === 'true') throw new Error('these tests need Redis and REQUIRE_SERVICES=true');

describe.skipIf(!useRedis)('artifacts read on a worker thread', () => {
  let redis: Redis;
  const prefix = randomPrefix('reader');
  beforeAll(() => void (redis = new Redis(REDIS_URL)));
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('When the worker reads, Then each artifact comes back byte for byte in a buffer of its own, as the calling thread reads it', async () => {
    const here: string[] = [];
    const reader = createArtifactReader({
      target: { kind: 'single', url: REDIS_URL },
      commandTimeout: 5000,
      fallback: async (key) => (here.push(key), null),
    });
    try {
      const blobs = [3, 1000, 1001, 25_000].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + n) % 256)));
      for (const [k, blob] of blobs.entries()) await redis.set(`${prefix}:a${k}`, blob);
      const reads = await Promise.all(blobs.map((_, k) => reader.read(`${prefix}:a${k}`, `${prefix}:w${k}`, 1000)));
      for (const [k, read] of reads.entries()) {
        expect(Buffer.from(read!).equals(blobs[k])).toBe(true);
        expect([read!.byteOffset, read!.buffer.byteLength]).toEqual([0, blobs[k].byteLength]);
        const sameHere = await readArtifact(redis, `${prefix}:a${k}`, `${prefix}:w${k}`, 1000);
        expect(Buffer.from(sameHere!).equals(Buffer.from(read!))).toBe(true);
      }
      expect(await reader.read(`${prefix}:missing`, `${prefix}:wm`, 1000)).toBeNull();
      expect(here).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it('When the reader is closed during a read, Then that read finishes, and a read after it fails as a closed connection does (an outage), opening nothing', async () => {
    const here: string[] = [];
    const reader = createArtifactReader({ target: { kind: 'single', url: REDIS_URL }, commandTimeout: 5000, fallback: async (key) => (here.push(key), null) });
    const blob = Buffer.alloc(3 << 20, 7);
    await redis.set(`${prefix}:closing`, blob);
    const reading = reader.read(`${prefix}:closing`, `${prefix}:wc`, 1 << 20);
    const closing = reader.close();
    expect(Buffer.from((await reading)!).equals(blob)).toBe(true);
    await closing;
    const after = await reader.read(`${prefix}:closing`, `${prefix}:wc`, 1 << 20).catch((err: unknown) => err);
    expect(dependencyFailure(after)).not.toBeNull();
    expect(here).toEqual([]);
  });

  it('When the worker cannot read (it fails as it starts), Then the reads are made on the calling thread and the failure is told once', async () => {
    const here: string[] = [];
    const failures: Error[] = [];
    const reader = createArtifactReader({
      // A URL the worker's client cannot be made from: the thread fails at its start.
      target: { kind: 'single', url: 'not a url' },
      commandTimeout: 5000,
      fallback: async (key) => (here.push(key), new Uint8Array([key.length])),
      onWorkerFailed: (err) => failures.push(err),
    });
    try {
      const first = await Promise.all([reader.read('k-one', 'w', 1000), reader.read('k-two', 'w', 1000)]);
      expect(first.map((b) => Array.from(b!))).toEqual([[5], [5]]);
      expect(Array.from((await reader.read('k-three!', 'w', 1000))!)).toEqual([8]);
      expect(here.sort()).toEqual(['k-one', 'k-three!', 'k-two']);
      expect(failures).toHaveLength(1);
    } finally {
      await reader.close();
    }
  });
});
