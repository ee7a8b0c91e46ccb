import { join } from 'node:path';
import { ConfigError, type Config } from '../config.js';
import { createMemoryModelStore } from './memory-model-store.js';
import type { ModelStore } from './model-store.js';
import { createRedisModelStore } from './redis-model-store.js';
import { redisTarget } from './redis-connection.js';
import { probeRedis, type RedisProbe } from './redis-probe.js';
import { lockDataDir } from '../data/data-dir-lock.js';

/** Key prefix of the service's Redis keys, so one Redis can hold other data beside them. */
export const DEFAULT_REDIS_PREFIX = 'recsvc:';

/**
 * The model store the configuration asks for: Redis when REDIS_URL is set, in cluster mode when it is a
 * `redis+cluster://` URL or REDIS_CLUSTER_NODES is set (the store owns that connection: close() quits
 * it), else the in-process store snapshotted under `${DATA_DIR}/model-store`,
 * which holds DATA_DIR's lock (data-dir-lock.ts) until it is closed. A Redis that answers and refuses the
 * URL's credentials or database number is a ConfigError (redis-probe.ts); one that does not answer is waited for
 * (`connectWaitMs`). Its commands wait REDIS_COMMAND_TIMEOUT_MS for a reply (2 s when the caller's config has none).
 */
export async function createModelStore(
  config: Pick<Config, 'REDIS_URL' | 'DATA_DIR' | 'MODEL_VERSIONS_KEPT'> & Partial<Pick<Config, 'REDIS_CLUSTER_NODES' | 'REDIS_CONNECT_WAIT_MS' | 'REDIS_COMMAND_TIMEOUT_MS'>>,
  opts: {
    prefix?: string;
    connectWaitMs?: number;
    log?: (msg: string, err: unknown) => void;
    /** The look at Redis the caller started already (probeRedis, so that it overlaps the caller's other work); default: one made here. */
    probe?: Promise<RedisProbe>;
  } = {},
): Promise<ModelStore> {
  const versionsKept = config.MODEL_VERSIONS_KEPT;
  const target = redisTarget(config);
  if (target) {
    // A Redis that answers and refuses what REDIS_URL says is a configuration error, as a Postgres that
    // refuses its role is: stop now rather than start on the wrong database or never become ready.
    const { refusal, silent } = await (opts.probe ?? probeRedis(target));
    if (refusal) throw new ConfigError(`invalid configuration:\n  REDIS_URL: ${refusal}`);
    const store = createRedisModelStore({
      target,
      prefix: opts.prefix ?? DEFAULT_REDIS_PREFIX,
      versionsKept,
      commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
      onCredentialsRefused: (err) => opts.log?.('the model store refused the credentials in REDIS_URL (a password changed?): serving as if Redis were down', err),
      onArtifactReaderFailed: (err) => opts.log?.("the model store's artifact reader thread failed: artifacts are read on the main thread from now on", err),
    });
    // Commands fail at once while disconnected (no offline queue), so the first ones wait for the
    // connection here. A Redis that is down at start does not stop the process: it starts unready
    // and the connection keeps retrying in the background (REDIS_CONNECT_WAIT_MS, unless the caller says).
    // Not even one ping (its own timeout is 1 s) for a Redis the probe found silent when no wait is asked for.
    const waitMs = opts.connectWaitMs ?? config.REDIS_CONNECT_WAIT_MS ?? 5000;
    if (silent && waitMs === 0) return store;
    const deadline = performance.now() + waitMs;
    while (!(await store.ping()) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return store;
  }
  return openSnapshotted(config.DATA_DIR, versionsKept);
}

/** The snapshots are this process's alone while it runs (DATA_DIR's lock, shared with an embedded database). */
async function openSnapshotted(dataDir: string, versionsKept: number): Promise<ModelStore> {
  const release = lockDataDir(dataDir);
  try {
    const store = await createMemoryModelStore({ snapshotDir: join(dataDir, 'model-store'), versionsKept });
    return {
      ...store,
      async close() {
        try {
          await store.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
