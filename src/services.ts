import type { Config } from './config.js';
import type { Db } from './data/db.js';
import { createCatalogRepository } from './data/catalog-repository.js';
import { createEventRepository } from './data/event-repository.js';
import type { ModelStore } from './store/model-store.js';
import { createPurchaseRecorder } from './serving/record-purchases.js';
import { createMetrics } from './metrics.js';

/**
 * The composition root: every domain object built from explicit dependencies. The server, the CLIs,
 * the worker and the tests all build the same objects; none of them needs Fastify.
 */
export function createServices(deps: { config: Config; db: Db; store: ModelStore; log?: (msg: string, err?: unknown) => void }) {
  const { config, db, store } = deps;
  const metrics = createMetrics();
  const catalog = createCatalogRepository(db);
  const events = createEventRepository(db);
  const recordPurchases = createPurchaseRecorder({ events, store, log: (err) => deps.log?.('live update failed', err) });

  async function eraseUser(id: string): Promise<boolean> {
    const existed = await events.deleteUser(id);
    await store.deleteUser(id);
    return existed;
  }

  return { config, db, store, metrics, catalog, events, recordPurchases, eraseUser };
}

export type Services = ReturnType<typeof createServices>;
