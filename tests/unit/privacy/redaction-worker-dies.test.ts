import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProfiles, encodeProfiles } from '../../../src/profiles/profile-codec.js';
import { computeProfiles } from '../../../src/profiles/profile.js';
import { segmentProfiles } from '../../../src/profiles/segments.js';
import { createRedactionRunner } from '../../../src/privacy/redaction-runner.js';
import { dataset, events, items, NOW } from '../profiles/profile-fixtures.js';

/**
 * redaction-runner.ts says: should the worker fail (it cannot start, it crashed), its jobs and every later
 * one run on the calling thread instead. A worker that dies while it holds a job (the likely failure at
 * 420,000 customers: out of memory in the middle of a rewrite) must not fail the erasure.
 */
describe('an erasure whose redaction worker thread dies with a job in hand', () => {
  const post = Worker.prototype.postMessage;
  afterEach(() => {
    Worker.prototype.postMessage = post;
  });

  it('When the worker exits after the job was handed to it, Then the job is done on the calling thread, rightly', async () => {
    const profiles = segmentProfiles(computeProfiles(dataset(events, items, NOW)));
    const ids = profiles.map((p) => p.userId);
    expect(ids.length).toBeGreaterThan(2);
    const bytes = encodeProfiles(profiles, { now: Date.parse(NOW) });
    // The thread dies right after it was handed the job (as a thread killed mid-rewrite does).
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      post.apply(this, args);
      // Only the redaction job's thread (tsx's loader thread is a Worker too, and is left alone).
      if ((args[0] as { job?: unknown } | undefined)?.job) void this.terminate();
    };
    const failures: Error[] = [];
    const runner = createRedactionRunner({ onWorkerFailed: (err) => failures.push(err) });
    try {
      const result = await runner.run({ kind: 'profiles', bytes, userIds: [ids[1]] });
      expect(failures.length).toBe(1);
      expect(decodeProfiles(result.bytes!).profiles.map((p) => p.userId)).toEqual(ids.filter((id) => id !== ids[1]));
    } finally {
      await runner.close();
    }
  }, 30_000);
});
