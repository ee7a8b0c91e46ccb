/**
 * A partition that drops packets leaves the model store's socket open and dead: after the network heals,
 * the old socket carries bytes again only when the kernel retransmits (34-38 s in a helper's partition
 * test), while a new connection answers at once. A proxy in front of Redis plays the network
 * (tests/helpers/redis-proxy.ts). The hang breaker that starts skipping the store has it reconnect, and
 * ends the skip as soon as the new connection answers. Its clock stands still here, so its periodic
 * probe never runs: only the reconnect can end the skip.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HANG_TRIP, withHangBreaker } from '../../../src/store/hang-breaker.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { startRedisProxy, type RedisProxy } from '../../helpers/redis-proxy.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const redisAvailable = await serviceAvailable(REDIS_URL);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!redisAvailable)('a model store whose connection stops answering', () => {
  let proxy: RedisProxy | undefined;
  let store: ModelStore | undefined;
  afterEach(async () => {
    await store?.close().catch(() => {});
    await proxy?.close();
  });

  const open = async () => {
    proxy = await startRedisProxy(REDIS_URL);
    const s = withHangBreaker(createRedisModelStore({ url: proxy.url, prefix: `${randomPrefix('dead')}:` }), { now: () => 0 });
    store = s;
    expect(await s.getActive()).toBeNull();
    return { proxy, store: s };
  };
  /** Asks getActive until it answers (never ping: a readiness ping that answers would end the skip by itself). */
  const answersWithin = async (s: ModelStore, attempts: number) => {
    for (let i = 0; i < attempts; i++) {
      if (await s.getActive().then(() => true, () => false)) return true;
      await sleep(250);
    }
    return false;
  };
  const trip = async (s: ModelStore) => {
    // HANG_TRIP calls that give up at the command timeout (2 s) start the skip.
    const calls = await Promise.allSettled(Array.from({ length: HANG_TRIP }, () => s.getActive()));
    expect(calls.map((c) => (c.status === 'rejected' ? String(c.reason) : 'answered'))).toEqual(Array(HANG_TRIP).fill('Error: Command timed out'));
  };

  it('When a partition leaves its socket dead and the network heals, Then it answers again over a new connection', async () => {
    const { proxy, store } = await open();
    proxy.partition();
    await trip(store);
    // Still partitioned: the new connections are as dead as the old one.
    expect(await answersWithin(store, 4)).toBe(false);
    proxy.heal();
    // The old socket stays dead for good here; only a new connection can answer.
    expect(await answersWithin(store, 40)).toBe(true);
  }, 60_000);

  it('When Redis is frozen and thawed, Then the store answers again without waiting for a probe', async () => {
    const { proxy, store } = await open();
    proxy.freeze();
    await trip(store);
    expect(await answersWithin(store, 4)).toBe(false);
    proxy.thaw();
    expect(await answersWithin(store, 40)).toBe(true);
  }, 60_000);
});
