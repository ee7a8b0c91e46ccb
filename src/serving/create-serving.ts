import type { Db } from '../data/db.js';
import type { Metrics } from '../metrics.js';
import type { ModelStore } from '../store/model-store.js';
import { createCatalogOverlay } from './catalog-overlay.js';
import { createDbPopularity } from './db-popularity.js';
import { boughtTogether, similarItems, type SimilarQuery } from './item-lists.js';
import { popularItems, type PopularQuery } from './popular-items.js';
import { recommendForContext, type ContextQuery } from './recommend-for-context.js';
import { recommendForUser } from './recommend-for-user.js';
import type { ListQuery, Recommendation, RecommendedItem, UserQuery } from './recommendation.js';
import type { ServingDeps } from './serving-deps.js';
import { createServingModelCache } from './serving-model-cache.js';

export interface ServingOptions {
  store: ModelStore;
  db: Db;
  catalog: ServingDeps['catalog'];
  /** How often the active version is re-resolved (ms, default 1000). */
  recheckMs?: number;
  /** How often catalog changes are folded into the served item table (ms, default 2000). */
  catalogRefreshMs?: number;
  /** Counts responses by kind and strategy, and fallbacks by reason. */
  metrics?: Pick<Metrics, 'recommendationsServed' | 'fallbacks'>;
  log?: (msg: string, err?: unknown) => void;
}

type Kind = 'user' | 'context' | 'similar' | 'bought-together' | 'popular';
const FALLBACK_REASON: Record<Kind, string> = {
  user: 'unknown-user',
  context: 'no-known-context',
  similar: 'unknown-item',
  'bought-together': 'unknown-item',
  popular: 'no-segment',
};

/**
 * The serving use cases over one in-process model cache. Called from HTTP routes, usable from anything
 * else (no Fastify here).
 */
export function createServing(opts: ServingOptions) {
  const models = createServingModelCache({ store: opts.store, recheckMs: opts.recheckMs, log: opts.log });
  const overlay = createCatalogOverlay({ db: opts.db, intervalMs: opts.catalogRefreshMs, log: opts.log });
  const deps: ServingDeps = {
    async model() {
      const m = await models.current();
      if (m) overlay.poke(m);
      return m;
    },
    store: opts.store,
    catalog: opts.catalog,
    dbPopular: createDbPopularity(opts.db),
  };
  const { metrics } = opts;
  const counted = <I extends RecommendedItem>(kind: Kind) => (r: Recommendation<I>) => {
    metrics?.recommendationsServed.inc({ kind, strategy: r.strategy });
    if (r.fallback) metrics?.fallbacks.inc({ kind, reason: r.modelVersion === null ? 'no-model' : FALLBACK_REASON[kind] });
    return r;
  };
  return {
    recommendForUser: (userId: string, q: UserQuery) => recommendForUser(deps, userId, q).then(counted('user')),
    recommendForContext: (q: ContextQuery) => recommendForContext(deps, q).then(counted('context')),
    similarItems: (itemId: string, q: SimilarQuery) => similarItems(deps, itemId, q).then(counted('similar')),
    boughtTogether: (itemId: string, q: ListQuery) => boughtTogether(deps, itemId, q).then(counted('bought-together')),
    popular: (q: PopularQuery) => popularItems(deps, q).then(counted('popular')),
    /** Re-resolve the active version on the next request (call after activate / publish). */
    invalidate: () => models.invalidate(),
    /** Re-resolves the active model now and folds in every catalog change (tests, after activation). */
    async refresh(): Promise<void> {
      models.invalidate();
      const m = await models.current();
      if (m) await overlay.refresh(m);
    },
  };
}

export type Serving = ReturnType<typeof createServing>;
