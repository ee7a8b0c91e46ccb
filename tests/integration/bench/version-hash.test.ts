import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { versionHash } from '../../../bench/lib/version-hash.js';
import type { ModelMeta, ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';

const available = await serviceAvailable(REDIS_URL);

/** One training's metadata as train-model.ts writes it (the fields the hash must tell apart, and its clock and run fields). */
const metaOf = (version: string, over: { weights?: Record<string, number>; trainedAt?: string; durations?: Record<string, number>; jobId?: string; catalogSnapshot?: unknown } = {}): ModelMeta => ({
  version,
  recipe: 'default',
  recipeFile: 'default',
  trainedAt: over.trainedAt ?? '2026-12-08T01:00:00.000Z',
  info: {
    recipe: { name: 'default', blend: { weights: over.weights ?? { als: 0.6, popularity: 0.4 } } },
    window: { from: null, to: null },
    data: { events: 10, users: 3, items: 4, orders: 5, catalogItems: 4 },
    durations: over.durations ?? { total: 1200, 'fit:als': 300 },
    contents: { artifacts: { items: 3 }, optionalArtifacts: {}, tables: { lists: 2 } },
    serving: { strategies: ['hybrid'] },
    erasureMark: 0,
    catalogSnapshot: over.catalogSnapshot ?? { snapshot: '100:100:', server: 'run-a' },
    tuning: { kind: 'rolling-origin', chosen: 'blend' },
    jobId: over.jobId ?? 'job-1',
  },
});

describe.skipIf(!available)('bench/lib/version-hash.ts', () => {
  const prefix = `${randomPrefix('vhash')}:`;
  let redis: Redis;
  let store: ModelStore;
  let n = 0;
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
    store = createRedisModelStore({ redis, prefix, versionsKept: 50 });
  });
  afterAll(async () => {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  /** Publishes a version with the same artifact and table every time, and `meta` of its name; its hash. */
  async function published(meta: (version: string) => ModelMeta) {
    const version = `v${++n}`;
    await store.putArtifact(version, 'items', new Uint8Array([1, 2, 3]));
    await store.putEntries(version, 'lists', [['u1', new Uint8Array([4])], ['u2', new Uint8Array([5])]]);
    await store.publish(meta(version));
    return versionHash(REDIS_URL, prefix, version);
  }

  it('When two versions publish the same lists but different tuned weights in their metadata, Then they hash differently, and only the metadata differs', async () => {
    const a = await published((v) => metaOf(v));
    const b = await published((v) => metaOf(v, { weights: { als: 0.7, popularity: 0.3 } }));
    expect(a.total).not.toBe(b.total);
    const differing = a.keys.filter(([name, h]) => b.keys.find(([other]) => other === name)?.[1] !== h).map(([name]) => name);
    expect(differing).toEqual(['meta']);
  });

  it('When two versions differ only in the clock and run fields of their metadata (name, trainedAt, durations, job, catalogue snapshot), Then they hash the same', async () => {
    const a = await published((v) => metaOf(v));
    const b = await published((v) =>
      metaOf(v, { trainedAt: '2026-12-09T13:14:15.000Z', durations: { total: 999, 'fit:als': 1 }, jobId: 'job-2', catalogSnapshot: { snapshot: '200:210:205', server: 'run-b' } }),
    );
    expect(b.total).toBe(a.total);
  });
});
