/**
 * Draft leases of the Redis model store (ModelStore.leaseDraft, releaseDraft, sweepDrafts, publish's draftHolder):
 * who writes a draft and until when, so that a draft whose writer is gone is deleted and one whose writer is at work
 * (or that has no lease: a training's) is not. Against the real Redis; two stores on one prefix are two processes.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelMeta } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { DraftLeaseLost } from '../../../src/store/version-rules.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';

const available = await serviceAvailable(REDIS_URL);
if (!available && process.env.REQUIRE_SERVICES === 'true') throw new Error(`${REDIS_URL} does not answer and REQUIRE_SERVICES=true`);

describe.skipIf(!available)('draft leases in the Redis model store', () => {
  const runPrefix = `${randomPrefix('draft-leases')}:`;
  let redis: Redis;
  let n = 0;
  const meta = (version: string): ModelMeta => ({ version, recipe: 'r', trainedAt: new Date(0).toISOString(), info: {} });
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Two processes on one store. */
  const two = () => {
    const prefix = `${runPrefix}${n++}:`;
    return [createRedisModelStore({ redis, prefix }), createRedisModelStore({ redis, prefix })] as const;
  };
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await unlinkPrefixed(redis, runPrefix);
    await redis.quit();
  });

  it('When a writer\'s lease runs out, Then another holder is refused until then, a sweep by another process deletes the draft, and the writer can neither renew nor publish it', async () => {
    const [writer, other] = two();
    expect(await writer.leaseDraft!('v1', 'writer', 60_000)).toBe(true);
    await writer.putArtifact('v1', 'model', new Uint8Array([1, 2, 3]));
    await writer.putEntries('v1', 'users', [['u1', new Uint8Array([9])]]);
    expect(await other.leaseDraft!('v1', 'another', 60_000)).toBe(false);
    expect(await other.sweepDrafts!()).toEqual([]);
    expect(await other.getArtifact('v1', 'model')).not.toBeNull();
    // The writer's last renewal, and then nothing: its lease runs out.
    expect(await writer.leaseDraft!('v1', 'writer', 1, { renew: true })).toBe(true);
    await pause(50);
    expect(await other.sweepDrafts!()).toEqual(['v1']);
    expect(await other.getArtifact('v1', 'model')).toBeNull();
    expect(await other.getEntries('v1', 'users', ['u1'])).toEqual([null]);
    expect(await writer.leaseDraft!('v1', 'writer', 60_000, { renew: true })).toBe(false);
    await expect(writer.publish(meta('v1'), { draftHolder: 'writer' })).rejects.toBeInstanceOf(DraftLeaseLost);
    expect(await other.listVersions()).toEqual([]);
    // Swept and let go: a new writer takes it.
    expect(await other.leaseDraft!('v1', 'another', 60_000)).toBe(true);
  });

  it('When a writer renews its lease after it ran out and nobody swept meanwhile, Then it still holds it and publishes; a publish drops the lease and a sweep after finds nothing', async () => {
    const [writer, other] = two();
    expect(await writer.leaseDraft!('v1', 'writer', 100)).toBe(true);
    await writer.putArtifact('v1', 'model', new Uint8Array([1]));
    await pause(300);
    expect(await writer.leaseDraft!('v1', 'writer', 100, { renew: true })).toBe(true);
    expect(await writer.publish(meta('v1'), { draftHolder: 'writer' })).toBe(true);
    await pause(300);
    expect(await other.sweepDrafts!()).toEqual([]);
    expect(await other.getArtifact('v1', 'model')).not.toBeNull();
    // A published version takes no lease.
    expect(await other.leaseDraft!('v1', 'another', 100)).toBe(false);
  });

  it('When a draft was written without a lease (a training\'s), Then no sweep deletes it, and a writer that deleted its own draft lets its lease go', async () => {
    const [writer, other] = two();
    await writer.putArtifact('training-draft', 'model', new Uint8Array([1]));
    expect(await writer.leaseDraft!('v2', 'writer', 60_000)).toBe(true);
    await writer.deleteVersion('v2');
    await writer.releaseDraft!('v2', 'writer');
    expect(await other.leaseDraft!('v2', 'another', 100)).toBe(true);
    await pause(300);
    expect(await other.sweepDrafts!()).toEqual(['v2']);
    expect(await other.getArtifact('training-draft', 'model')).not.toBeNull();
  });
});
