import { cpus, loadavg } from 'node:os';
import { loadServingModel, type ServingModel } from '../../src/serving/serving-model.js';
import { DEFAULT_REDIS_PREFIX } from '../../src/store/create-model-store.js';
import type { ModelMeta, ModelStore } from '../../src/store/model-store.js';
import { createRedisModelStore } from '../../src/store/redis-model-store.js';

/**
 * The active version of a shop imported and trained into DATABASE_URL and REDIS_URL (default key prefix),
 * loaded as a server loads it; prints the bench's header line (name, time, cores, load).
 */
export async function openTrainedShop(bench: string): Promise<{ pg: string; redis: string; store: ModelStore; meta: ModelMeta; model: ServingModel }> {
  const pg = process.env.DATABASE_URL;
  const redis = process.env.REDIS_URL;
  if (!pg || !redis) throw new Error('set DATABASE_URL and REDIS_URL to a shop imported and trained there (see the header)');
  const store = createRedisModelStore({ url: redis, prefix: DEFAULT_REDIS_PREFIX });
  const meta = await store.getActive();
  if (!meta) throw new Error('no active version: train the shop first');
  const model = await loadServingModel(store, meta);
  if (!model) throw new Error(`version ${meta.version} has no serving artifacts`);
  console.log(`# ${bench}: ${new Date().toISOString()}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  return { pg, redis, store, meta, model };
}
