/**
 * The model store on a real 3-master Redis Cluster the test starts on free loopback ports: the same
 * contract as on one server, plus what only a cluster checks (no command or transaction spanning
 * slots, which a single server never refuses).
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createModelStore } from '../../../src/store/create-model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { redisTarget } from '../../../src/store/redis-connection.js';
import { privateServerSupport, startPrivateRedisCluster, type PrivateRedisCluster } from '../../helpers/private-servers.js';
import { randomPrefix } from '../../helpers/services.js';
import { modelStoreContract } from './model-store.contract.js';

const support = await privateServerSupport();
if (!support.redisCluster) {
  const why = `the Redis Cluster tests need ${support.missing.join(', ')}`;
  if (process.env.REQUIRE_SERVICES === 'true') throw new Error(`${why} and REQUIRE_SERVICES=true`);
  console.warn(`skipping the Redis Cluster tests: ${why}`);
}

/** Reads until `done` holds (messages travel asynchronously), at most ~3 s. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let i = 0; i < 60 && !done(value); i++) {
    await new Promise((r) => setTimeout(r, 50));
    value = await read();
  }
  return value;
}

describe.skipIf(!support.redisCluster)('redis model store on a 3-master Redis Cluster', () => {
  let cluster: PrivateRedisCluster;
  let client: Cluster;
  let n = 0;
  const prefix = () => `${randomPrefix('cl')}:${n++}:`;
  beforeAll(async () => {
    cluster = await startPrivateRedisCluster(3);
    const target = redisTarget({ REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodes });
    if (target?.kind !== 'cluster') throw new Error('expected a cluster target');
    client = new Cluster(target.nodes);
    await new Promise((resolve) => client.once('ready', resolve));
  }, 60_000);
  afterAll(async () => {
    await client?.quit();
    await cluster?.dispose();
  });

  modelStoreContract(async (opts) => createRedisModelStore({ redis: client, prefix: prefix(), ...opts }));
  describe('without the in-process live events', () => {
    modelStoreContract(async (opts) => createRedisModelStore({ redis: client, prefix: prefix(), liveEventsCached: 0, ...opts }));
  });
  // As a service opens it (REDIS_CLUSTER_NODES): its own cluster client, and artifacts read on a worker thread with one of its own.
  describe('on connections of its own', () => {
    // The reads would still pass on the calling thread if the worker failed: that must not go unseen.
    const readerFailures: Error[] = [];
    afterAll(() => expect(readerFailures).toEqual([]));
    modelStoreContract(async (opts) => createRedisModelStore({ target: redisTarget({ REDIS_URL: undefined, REDIS_CLUSTER_NODES: cluster.nodes })!, prefix: prefix(), ...opts, onArtifactReaderFailed: (err) => void readerFailures.push(err) }));
  });

  it('When the store writes a version, Then its keys share one slot and the control keys another, and the data spreads over the masters', async () => {
    const p = prefix();
    const store = createRedisModelStore({ redis: client, prefix: p });
    try {
      const slotOf = async (key: string) => Number(await client.cluster('KEYSLOT', key));
      await store.putArtifact('v1', 'model', new Uint8Array([1]));
      await store.putEntries('v1', 'users', [['u', new Uint8Array([2])]]);
      await store.publish({ version: 'v1', recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: {} });
      const versionSlots = new Set(await Promise.all([`${p}{v:v1}:artifact:model`, `${p}{v:v1}:table:users`, `${p}{v:v1}:keys`].map(slotOf)));
      const controlSlots = new Set(await Promise.all([`${p}{ctl}:versions`, `${p}{ctl}:versions:by-time`, `${p}{ctl}:active`].map(slotOf)));
      expect(versionSlots.size).toBe(1);
      expect(controlSlots.size).toBe(1);
      // The keys are where the layout says (read straight from the cluster, not through the store).
      expect(await client.exists(`${p}{ctl}:active`, `${p}{ctl}:versions`)).toBe(2);
      expect(await client.exists(`${p}{v:v1}:artifact:model`)).toBe(1);

      // Versions land on different masters: 30 version tags over 3 masters cannot all share one.
      const masters = new Set<string>();
      const slots = await client.cluster('SLOTS');
      for (let i = 0; i < 30; i++) {
        const slot = await slotOf(`${p}{v:x${i}}:keys`);
        const owner = slots.find(([from, to]) => slot >= from && slot <= to)!;
        masters.add(String(owner[2][1]));
      }
      expect(masters.size).toBeGreaterThan(1);
    } finally {
      await store.close();
    }
  });

  it('When several processes share the cluster, Then live events, erasures and activations reach the others', async () => {
    const p = prefix();
    const target = redisTarget({ REDIS_URL: cluster.url });
    const [a, b] = [createRedisModelStore({ target: target!, prefix: p }), createRedisModelStore({ target: target!, prefix: p, liveEventsCached: 0 })];
    try {
      let activations = 0;
      a.onActiveChanged?.(() => activations++);
      const erased: string[] = [];
      a.onUserErased?.((id) => erased.push(id));
      expect(await a.getUserEvents('u')).toEqual([]);
      await b.appendUserEvents('u', [{ itemId: 'i1', ts: 1 }]);
      expect(await eventually(() => a.getUserEvents('u'), (e) => e.length === 1)).toEqual([{ itemId: 'i1', ts: 1 }]);

      await b.putArtifact('v1', 'model', new Uint8Array([1]));
      const before = activations;
      await b.publish({ version: 'v1', recipe: 'r', trainedAt: '2026-01-01T00:00:00.000Z', info: {} });
      expect(await eventually(async () => activations, (x) => x > before)).toBeGreaterThan(before);
      expect((await a.getActive())?.version).toBe('v1');

      await b.deleteUser('u');
      expect(await eventually(async () => erased, (e) => e.length > 0)).toEqual(['u']);
      expect(await a.getUserEvents('u')).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('When REDIS_CLUSTER_NODES is configured, Then createModelStore talks to the cluster and closes its own connection', async () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes.join(','), LOG_LEVEL: 'silent' });
    expect(config.REDIS_URL).toBe(`redis+cluster://${cluster.nodes[0]}`);
    const store = await createModelStore(config, { prefix: prefix() });
    expect(await store.ping()).toBe(true);
    expect(await store.getActive()).toBeNull();
    await store.close();
    expect(await store.ping()).toBe(false);
  });
});
