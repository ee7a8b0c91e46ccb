import { Redis } from 'ioredis';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import type { ModelStore } from '../../../src/store/model-store.js';
import { createRedisModelStore } from '../../../src/store/redis-model-store.js';
import { randomPrefix, REDIS_URL, serviceAvailable } from '../../helpers/services.js';
import { unlinkPrefixed } from '../../helpers/redis-keys.js';

export interface TestStore {
  store: ModelStore;
  /** Redis key prefix, when the store is on Redis. */
  prefix?: string;
  dispose(): Promise<void>;
}

/** Both model stores (keeping 20 versions, so suites never see a prune): in-process, and Redis under a random prefix deleted on dispose. */
export const STORE_BACKENDS = [
  {
    name: 'memory store',
    available: async () => true,
    create: async (): Promise<TestStore> => {
      const store = await createMemoryModelStore({ versionsKept: 20 });
      return { store, dispose: () => store.close() };
    },
  },
  {
    name: 'redis store',
    available: () => serviceAvailable(REDIS_URL),
    create: async (): Promise<TestStore> => {
      const prefix = `${randomPrefix('train')}:`;
      const store = createRedisModelStore({ url: REDIS_URL, prefix, versionsKept: 20 });
      return {
        store,
        prefix,
        async dispose() {
          await store.close();
          await deleteRedisPrefix(prefix);
        },
      };
    },
  },
] as const;

export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  await unlinkPrefixed(redis, prefix);
  await redis.quit();
}

/** What a training wrote, by version: artifact name or `table/key` -> bytes. */
export type WrittenByVersion = Map<string, Map<string, Uint8Array>>;

/**
 * The real store with every write recorded and slowed down by `delayMs`, so a concurrent reader has
 * time to look while a version is half written. Reads go straight to the real store.
 */
export function recordingStore(store: ModelStore, written: WrittenByVersion, delayMs = 0): ModelStore {
  const pause = () => new Promise((r) => setTimeout(r, delayMs));
  const record = (version: string, key: string, bytes: Uint8Array) => {
    if (!written.has(version)) written.set(version, new Map());
    written.get(version)!.set(key, bytes);
  };
  return {
    ...store,
    async putArtifact(version, name, data) {
      await pause();
      record(version, name, data);
      await store.putArtifact(version, name, data);
    },
    async putEntries(version, table, entries) {
      await pause();
      function* tee() {
        for (const [key, bytes] of entries) {
          record(version, `${table}/${key}`, bytes);
          yield [key, bytes] as [string, Uint8Array];
        }
      }
      await store.putEntries(version, table, tee());
    },
  };
}
