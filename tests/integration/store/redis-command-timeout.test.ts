/**
 * REDIS_COMMAND_TIMEOUT_MS is how long the model store's commands wait for a Redis that stopped answering
 * (frozen with SIGSTOP: the socket stays open, nothing replies). Three stores on one private redis-server,
 * each made from a configuration as a process makes it (createModelStore), with the setting at 300 ms, unset
 * (2000) and 600000: frozen, their calls fail in that order, each as a timeout, while the longer ones still
 * wait; the one that waits longest is answered once Redis thaws. No duration is measured: the order of the
 * outcomes is what each setting decides. Artifacts wait 30 s even under a shorter setting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { privateServerSupport, startPrivateRedis, type PrivateRedis } from '../../helpers/private-servers.js';
import { randomPrefix } from '../../helpers/services.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error('this test needs redis-server and REQUIRE_SERVICES=true');

/** A call's outcome so far: `waiting` until it settles. */
function watch<T>(call: Promise<T>): { readonly state: 'waiting' | 'answered' | string; settled: Promise<void> } {
  const w = { state: 'waiting', settled: Promise.resolve() };
  w.settled = call.then(
    () => void (w.state = 'answered'),
    (err: unknown) => void (w.state = err instanceof Error ? err.message : String(err)),
  );
  return w;
}

describe.skipIf(!support.redis)("the model store's command timeout (REDIS_COMMAND_TIMEOUT_MS)", () => {
  let redis: PrivateRedis;
  const stores: ModelStore[] = [];
  beforeAll(async () => void (redis = await startPrivateRedis()));
  afterAll(async () => {
    redis?.thaw();
    await Promise.all(stores.map((s) => s.close()));
    await redis?.dispose();
  });

  const open = async (timeout?: string) => {
    const config = loadConfig({ REDIS_URL: redis.url, ...(timeout ? { REDIS_COMMAND_TIMEOUT_MS: timeout } : {}) });
    const store = await createModelStore(config, { prefix: `${randomPrefix('command-timeout')}:` });
    stores.push(store);
    expect(await store.ping()).toBe(true);
    return store;
  };

  it('When Redis stops answering, Then each store\'s reads fail as timeouts in the order of their settings (300 ms, unset, 600000 ms), and the longest is answered once Redis answers again', async () => {
    const [short, unset, long] = [await open('300'), await open(), await open('600000')];
    const bytes = new TextEncoder().encode('artifact bytes');
    await short.putArtifact('v1', 'model', bytes);
    // Read once before: the artifacts' connection (a worker thread's) is up.
    expect(await short.getArtifact('v1', 'model')).toEqual(bytes);

    redis.freeze();
    try {
      // Sent longest setting first: had they all the same timeout, the first sent would fail first.
      const [longRead, unsetRead, shortRead, shortArtifact] = [watch(long.getActive()), watch(unset.getActive()), watch(short.getActive()), watch(short.getArtifact('v1', 'model'))];
      await shortRead.settled;
      expect([shortRead.state, unsetRead.state, longRead.state, shortArtifact.state]).toEqual([expect.stringContaining('Command timed out'), 'waiting', 'waiting', 'waiting']);
      await unsetRead.settled;
      // The artifact read of the 300 ms store waits 30 s (the artifacts' timeout, the longer), not 300 ms.
      expect([unsetRead.state, longRead.state, shortArtifact.state]).toEqual([expect.stringContaining('Command timed out'), 'waiting', 'waiting']);
      redis.thaw();
      await Promise.all([longRead.settled, shortArtifact.settled]);
      expect([longRead.state, shortArtifact.state]).toEqual(['answered', 'answered']);
    } finally {
      redis.thaw();
    }
  }, 60_000);
});
