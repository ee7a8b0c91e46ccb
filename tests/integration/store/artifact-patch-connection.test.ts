/**
 * An erasure patches the customers' rows of a stored artifact in place (patchArtifact, after a layout read with
 * readArtifactRange). On the requests' connection those calls gave up at its command timeout (2 s), which a
 * Redis busy with a big artifact (a write of hundreds of MB, a slow moment under load) can exceed: the erasure's
 * patch failed and it rewrote the whole artifact instead. Artifacts' reads and writes have a connection of their
 * own with a longer timeout (ARTIFACT_READ_TIMEOUT_MS); these calls belong there. A proxy in front of Redis
 * (tests/helpers/redis-proxy.ts) holds every byte past the requests' timeout, then lets them through.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ARTIFACT_READ_TIMEOUT_MS, createRedisModelStore, FAIL_FAST_REDIS_OPTIONS } from '../../../src/store/redis-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { startRedisProxy, type RedisProxy } from '../../helpers/redis-proxy.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const redisAvailable = await serviceAvailable(REDIS_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const text = (s: string) => new TextEncoder().encode(s);
const bytesOf = (b: Uint8Array | null) => (b ? Array.from(b) : null);
/** Held past the requests' command timeout, well inside the artifacts'. */
const HELD_MS = FAIL_FAST_REDIS_OPTIONS.commandTimeout! + 1000;

describe.skipIf(!redisAvailable)("an artifact's range read and patch while Redis is slow to answer", () => {
  let proxy: RedisProxy | undefined;
  let store: ModelStore | undefined;
  afterEach(async () => {
    proxy?.thaw();
    await store?.close().catch(() => {});
    await proxy?.close();
  });

  it('Given Redis held past the requests\' command timeout (but not the artifacts\'), When an artifact is range-read and patched, Then both answer once it answers', async () => {
    expect(HELD_MS).toBeLessThan(ARTIFACT_READ_TIMEOUT_MS);
    proxy = await startRedisProxy(REDIS_URL);
    const s = createRedisModelStore({ url: proxy.url, prefix: `${randomPrefix('patch-conn')}:`, liveEventsCached: 0 });
    store = s;
    await s.putArtifact('v1', 'model', text('0123456789'));
    // Both connections are up before the hold (the artifacts' was opened by the write, a draft's: patched as a published one).
    expect(bytesOf(await s.readArtifactRange!('v1', 'model', 0, 2))).toEqual(Array.from(text('01')));

    proxy.freeze();
    const range = s.readArtifactRange!('v1', 'model', 1, 5).then(bytesOf, (err: unknown) => String(err));
    const patch = s.patchArtifact!('v1', 'model', [{ offset: 2, bytes: text('xy') }]).then(String, (err: unknown) => String(err));
    await sleep(HELD_MS);
    proxy.thaw();
    expect(await range).toEqual(Array.from(text('1234')));
    expect(await patch).toBe('true');
    expect(bytesOf(await s.getArtifact('v1', 'model'))).toEqual(Array.from(text('01xy456789')));
  }, 60_000);
});
