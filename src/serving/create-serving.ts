import type { Db } from '../data/db.js';
import type { Metrics } from '../metrics.js';
import type { ModelStore } from '../store/model-store.js';
import { createCatalogOverlay } from './catalog-overlay.js';
import { within } from '../within-time.js';
import { createDbPopularity } from './db-popularity.js';
import { boughtTogether, similarItems, type SimilarQuery } from './item-lists.js';
import { popularItems, type PopularQuery } from './popular-items.js';
import { isUserListHandOff, recommendForContext, type ContextQuery } from './recommend-for-context.js';
import { checkStrategy, recommendForUser, forgetUserEntries, onRequestScorerOf, reusedAnswer, type AlreadyRead } from './recommend-for-user.js';
import { DEGRADED, UNLISTED, type ListQuery, type Recommendation, type RecommendedItem, type UserQuery } from './recommendation.js';
import type { ServingDeps } from './serving-deps.js';
import { createServingModelCache } from './serving-model-cache.js';
import { listsOwnItemsOnly } from './own-item-sources.js';
import { assignArm, type ExperimentCache, type ExperimentTag } from './experiments.js';
import type { ExperimentRecord } from '../data/experiment-repository.js';
import type { ServingModel } from './serving-model.js';
import { createServedStrategies } from './served-strategies.js';
import type { RecommendationIds } from './recommendation-ids.js';

export interface ServingOptions {
  store: ModelStore;
  db: Db;
  catalog: ServingDeps['catalog'];
  /** A customer's purchases, for customers the model did not precompute. */
  purchases?: ServingDeps['purchases'];
  /** Items a customer bought since a time, when their live list of purchases is full. */
  boughtSince?: ServingDeps['boughtSince'];
  /**
   * Load each version's on-request scorer before it answers (a storefront-facing process): the first
   * customer scored on request then does not wait for it, and a new version replaces the old one only once
   * it is loaded. Off in processes that serve nobody on request (workers: audiences, campaign exports load it on need).
   */
  readyOnRequest?: boolean;
  /** A visitor's recent views, for context recommendations naming a userId. */
  recentViews?: ServingDeps['recentViews'];
  /** How often the active version is re-resolved (ms, default 1000). */
  recheckMs?: number;
  /** Bound of the in-process cache of per-user entries (bytes, default 64 MiB; 0 disables it). */
  entryCacheBytes?: number;
  /** Bound of the in-process cache of finished user answers (bytes, default 32 MiB; 0 disables it). */
  answerCacheBytes?: number;
  /** How often catalog changes are folded into the served item table (ms, default 2000). */
  catalogRefreshMs?: number;
  /**
   * Counts responses by kind and strategy, list slots by the source that filled them (so operations can
   * see one source take over the lists), fallbacks by reason, and answer-cache hits and misses.
   */
  metrics?: Pick<Metrics, 'recommendationsServed' | 'listSlots' | 'fallbacks' | 'answerCacheHits' | 'answerCacheMisses' | 'catalogOverlayPasses' | 'catalogOverlayRows'>;
  /** The active A/B experiment: it picks the strategy of user recommendations asked for without one. */
  experiments?: ExperimentCache;
  /**
   * Signs each answer's recommendationId (recommendation-ids.ts) as it leaves, after its experiment tag is
   * set: a browser's feedback keeps its strategy and arm from it. Without: the use cases' random UUIDs.
   */
  ids?: RecommendationIds;
  log?: (msg: string, err?: unknown) => void;
  /** Whether a customer's erasure is owed (privacy/owed-erasures.ts): answered as an erased customer. */
  owed?: (userId: string) => boolean;
}

/** How long a storefront request waits for a scorer or describer still loading (a request's store reads give up after REDIS_COMMAND_TIMEOUT_MS, 2 s by default, too). */
const LOAD_WAIT_MS = 2000;

/** How long an erasure is remembered for versions that were loading when it came (a load takes seconds). */
const FORGOTTEN_KEPT_MS = 60_000;

/** What a list was made for; `export`: a campaign export's list per customer, not storefront traffic. */
type Kind = 'user' | 'context' | 'similar' | 'bought-together' | 'popular' | 'export';
const FALLBACK_REASON: Record<Kind, string> = {
  user: 'unknown-user',
  export: 'unknown-user',
  context: 'no-known-context',
  similar: 'unknown-item',
  'bought-together': 'unknown-item',
  popular: 'no-segment',
};
/**
 * The reason of a customer's cold start made while every customer is held (holdCustomers: a start with Postgres down,
 * until the erasures owed were read once): not `unknown-user`, so operations tell a hold from customers nobody knows.
 */
const HELD_REASON = 'customers-held';

/**
 * The query as the user's experiment arm has it: without an explicit strategy, while an experiment is
 * active and the served model offers the arm's strategy, the arm's strategy and a tag naming the arm.
 * (An arm whose strategy the model no longer offers serves the default, untagged, so its feedback is
 * not counted for the arm.)
 */
function inExperiment(
  model: ServingModel | null,
  experiment: ExperimentRecord | null | undefined,
  userId: string,
  q: UserQuery,
): { query: UserQuery; tag?: ExperimentTag } {
  if (q.strategy !== undefined || !experiment || !model) return { query: q };
  const arm = assignArm(experiment.id, userId, experiment.arms);
  if (!model.info.strategies.includes(arm.strategy)) return { query: q };
  return { query: { ...q, strategy: arm.strategy }, tag: { id: experiment.id, arm: arm.name } };
}

/** One increment per distinct dominant source of a list (a list has a handful), not per item. */
function countSlots(counter: Metrics['listSlots'], kind: Kind, items: readonly RecommendedItem[]): void {
  if (items.length === 0) return;
  const first = items[0].sources[0] ?? 'none';
  let same = true;
  for (const it of items) if ((it.sources[0] ?? 'none') !== first) same = false;
  if (same) return counter.inc({ kind, source: first }, items.length);
  const bySource = new Map<string, number>();
  for (const it of items) bySource.set(it.sources[0] ?? 'none', (bySource.get(it.sources[0] ?? 'none') ?? 0) + 1);
  for (const [source, n] of bySource) counter.inc({ kind, source }, n);
}

/** How long a version being readied waits for the catalog's changes since its training before it answers. */
const CATALOG_WAIT_MS = 2000;

/**
 * The serving use cases over one in-process model cache. Called from HTTP routes, usable from anything
 * else (no Fastify here).
 */
export function createServing(opts: ServingOptions) {
  const servedStrategies = createServedStrategies({ listVersions: () => opts.store.listVersions(), log: opts.log });
  const models = createServingModelCache({
    store: opts.store,
    recheckMs: opts.recheckMs,
    entryCacheBytes: opts.entryCacheBytes,
    answerCacheBytes: opts.answerCacheBytes,
    // deps is made below; prepare is first called on a later turn, when a version loads.
    async prepare(m, loadStartedAt) {
      servedStrategies.learn(m.info.strategies);
      for (const e of forgotten) if (e.at >= loadStartedAt) forgetUserEntries(m, e.userId);
      // Catalog changes since its training (items taken off sale before a rollback to a weeks-old version)
      // are applied before it answers; a slow database leaves the rest to the background passes.
      await Promise.all([readyScorer(m), within(overlay.refresh(m), CATALOG_WAIT_MS, () => undefined)]);
    },
    log: opts.log,
  });
  /** With readyOnRequest: the version's on-request scorer, loaded (once) before it is needed. */
  const readyScorer = async (m: ServingModel): Promise<void> => {
    if (opts.purchases && opts.readyOnRequest) await onRequestScorerOf(deps, m);
  };
  // Erasures told to this process lately: a version whose load began before one is told of it when loaded.
  const forgotten: { userId: string; at: number }[] = [];
  const overlay = createCatalogOverlay({
    db: opts.db,
    intervalMs: opts.catalogRefreshMs,
    log: opts.log,
    onRowsRead: opts.metrics && ((rows) => (opts.metrics!.catalogOverlayPasses.inc(), opts.metrics!.catalogOverlayRows.inc(rows))),
  });
  // A version published or activated by another process (a worker's training, a rollback through
  // another replica) is served here as soon as the store announces it, not only at the next recheck.
  opts.store.onActiveChanged?.(() => models.activeChanged());
  // Set while the model store's per-customer data is held back (holdCustomerData): answers are made as without a model.
  let held: Promise<unknown> | null = null;
  // The holds of customers under way (holdCustomers): while any is, every customer is answered as an erased one.
  let customersHeld = 0;
  const owed = (userId: string): boolean => customersHeld > 0 || (opts.owed?.(userId) ?? false);
  const deps: ServingDeps = {
    async model() {
      if (held) return null;
      const m = await models.current();
      if (m) overlay.poke(m);
      return m;
    },
    noneActive: () => models.noneActive(),
    store: opts.store,
    catalog: opts.catalog,
    dbPopular: createDbPopularity(opts.db, { catalogRefreshMs: opts.catalogRefreshMs, log: opts.log }),
    purchases: opts.purchases,
    boughtSince: opts.boughtSince,
    recentViews: opts.recentViews,
    answerLookup: opts.metrics && ((hit) => (hit ? opts.metrics!.answerCacheHits.inc() : opts.metrics!.answerCacheMisses.inc())),
    loadWaitMs: opts.readyOnRequest ? LOAD_WAIT_MS : undefined,
    log: opts.log,
    owed,
  };
  const { metrics } = opts;
  // Every (kind, reason) a fallback can have starts at zero, so an alert on its rate sees it at once.
  for (const [kind, reason] of Object.entries(FALLBACK_REASON)) {
    metrics?.fallbacks.inc({ kind, reason }, 0);
    metrics?.fallbacks.inc({ kind, reason: 'no-model' }, 0);
  }
  metrics?.fallbacks.inc({ kind: 'user', reason: 'store-unavailable' }, 0);
  metrics?.fallbacks.inc({ kind: 'user', reason: 'list-unavailable' }, 0);
  for (const kind of ['user', 'export'] as const) metrics?.fallbacks.inc({ kind, reason: HELD_REASON }, 0);
  /** `held`: the customer's list was asked while every customer was held (their cold start is the hold's, not theirs). */
  const count = (kind: Kind, r: Recommendation<RecommendedItem>, held = false) => {
    metrics?.recommendationsServed.inc({ kind, strategy: r.strategy });
    if (metrics) countSlots(metrics.listSlots, kind, r.items);
    if (r.fallback) {
      const reason = r.modelVersion === null ? 'no-model' : r[DEGRADED] ? 'store-unavailable' : r[UNLISTED] ? 'list-unavailable' : held ? HELD_REASON : FALLBACK_REASON[kind];
      metrics?.fallbacks.inc({ kind, reason });
    }
  };
  /** Popularity standing in for a list that could not be scored (UNLISTED) is labelled popularity: its feedback is not the asked strategy's. */
  const asServed = <R extends Recommendation<RecommendedItem>>(r: R): R => (r[UNLISTED] ? { ...r, strategy: 'popularity' } : r);
  /** The answer under its own signed recommendationId (each answer gets a new one, a reused answer too). */
  const signed = <R extends Recommendation<RecommendedItem>>(r: R, userId?: string): R => {
    if (opts.ids) r.recommendationId = opts.ids.issue(r, { userId });
    return r;
  };
  /**
   * The use case's answer, counted once it is there, tagged with its experiment arm, signed (with the customer
   * of a personal list). Popularity standing in for a list that could not be scored (UNLISTED) is labelled
   * popularity and is no arm's: its feedback would count for the arm's strategy and the arm.
   */
  const counted = async <R extends Recommendation<RecommendedItem>>(kind: Kind, answer: Promise<R>, tag?: ExperimentTag, userId?: string, held = false): Promise<R> => {
    // The key is read once per process (the first answer waits for it, along with its own reads).
    const [served] = await Promise.all([answer, opts.ids?.ready()]);
    const r = asServed(served);
    count(kind, r, held);
    return signed(tag && !r[UNLISTED] ? { ...r, experiment: tag } : r, userId);
  };
  /** GET /v1/users/:id/recommendations (and POST /v1/recommendations for a customer with no context). */
  const userList = async (userId: string, q: UserQuery, read?: AlreadyRead): Promise<Recommendation> => {
    // The first request of a process waits for the first read of the experiment; later ones never wait.
    const experiment = q.strategy === undefined && opts.experiments ? await opts.experiments.ready() : null;
    const { query, tag } = inExperiment(experiment ? await models.current() : null, experiment, userId, q);
    // Held as the answer is begun: the use case asks `owed` once, before its reads.
    const held = customersHeld > 0;
    return counted('user', recommendForUser(deps, userId, query, read), tag, userId, held);
  };
  return {
    /**
     * The answer right now, without waiting, when the served version and the user's live events are in
     * process and a finished answer is kept for this query (a returning shopper's repeated page view);
     * else undefined: call recommendForUser.
     */
    recommendForUserNow(userId: string, q: UserQuery): Recommendation | undefined {
      // An owed erasure's customer: recommendForUser answers them as erased (a kept answer is theirs).
      const m = held || owed(userId) ? null : models.peek();
      const live = m ? opts.store.peekUserEvents?.(userId) : undefined;
      if (!m || !live) return undefined;
      // The key not read yet: recommendForUser reads it.
      if (opts.ids && !opts.ids.signing()) return undefined;
      const experiment = q.strategy === undefined ? opts.experiments?.current() : null;
      // Not read yet: recommendForUser waits for the first read.
      if (experiment === undefined && opts.experiments) return undefined;
      overlay.poke(m);
      const { query, tag } = inExperiment(m, experiment, userId, q);
      const r = reusedAnswer(m, userId, query, live);
      // Only hits count here: a miss goes on to recommendForUser, which looks again and counts that.
      if (r) {
        if (tag) r.experiment = tag;
        metrics?.answerCacheHits.inc();
        count('user', r);
      }
      return r && signed(r, userId);
    },
    recommendForUser: (userId: string, q: UserQuery) => userList(userId, q),
    /**
     * What GET /v1/users/:id/recommendations answers a reader who may not learn anything of the customer
     * (a browser's public key without their signed token): the list a visitor nobody knows gets, from
     * the query alone, so no answer differs with the customer's purchases, views or attributes. Counted
     * as `user` traffic; never part of an experiment (an arm's rates would measure popularity).
     */
    async recommendForStranger(q: UserQuery): Promise<Recommendation> {
      const { strategy, excludePurchased: _, ...list } = q;
      if (strategy !== undefined) checkStrategy((await models.current())?.info, strategy);
      return counted('user', recommendForContext(deps, { ...list, items: [] }));
    },
    /**
     * A customer's list for a campaign export: as recommendForUser (no experiment), counted as `export`, not
     * as storefront traffic. With `model`, from that version even once another is active: one export file
     * holds one version's lists, as its result says.
     */
    recommendForExport: async (userId: string, q: UserQuery, model?: ServingModel): Promise<Recommendation> => {
      const pinned: ServingDeps = model ? { ...deps, model: async () => (overlay.poke(model), model) } : deps;
      const held = customersHeld > 0;
      const [served] = await Promise.all([recommendForUser(pinned, userId, q), opts.ids?.ready()]);
      const r = asServed(served);
      // One made while a store was unreachable is not written (the export asks again or fails): not counted.
      if (!r[DEGRADED]) count('export', r, held);
      return signed(r, userId);
    },
    /** The served model version (audiences and exports read its tables); null without an active model. */
    activeModel: () => deps.model(),
    /**
     * The version active now, re-read for this caller alone (an export right after a training): it waits
     * for the read and a new version's load; storefront requests meanwhile keep the model in hand.
     */
    latestModel: async () => {
      if (held) return null;
      const m = await models.latest();
      if (m) overlay.poke(m);
      return m;
    },
    noneActive: () => models.noneActive(),
    /**
     * Loads the active version and readies it (its on-request scorer, with readyOnRequest) as a request
     * would: the server does this before it reports ready, so the first requests do not pay for it.
     * Never throws: a store that is down leaves it to the first request.
     */
    async ready(): Promise<void> {
      // The kept versions' strategies are read meanwhile, for the first feedback (served-strategies.ts).
      servedStrategies.now();
      const m = await deps.model().catch(() => null);
      // A first version (a process started after a rollback) takes the catalog's changes since its training
      // too, as prepare does for one replacing another.
      if (m) await Promise.all([readyScorer(m), within(overlay.refresh(m), CATALOG_WAIT_MS, () => undefined)]);
    },
    /**
     * Nothing of the model store's versions is served until `until` settles (answers are made as without a
     * model: popularity from Postgres, or its defaults): the server holds them back while the scrub of the
     * erasures the store lost (user-erasure.ts catchUp) has not run, so no erased customer is served from a store
     * brought back from before their erasure.
     */
    holdCustomerData(until: Promise<unknown>): void {
      const hold: Promise<unknown> = until.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        if (held === hold) held = null;
      });
      held = hold;
    },
    /** Whether holdCustomerData holds the model store's versions back now. */
    holdingCustomerData: (): boolean => held !== null,
    /**
     * Until `until` settles, every customer is answered as an erased one (what a never-seen customer gets: the
     * model's cold start, nothing of theirs read) while item lists are still served from the model: the server
     * holds customers while it cannot tell which were erased (Postgres not read since the start: the erasures owed
     * unknown, the store not checked against erased_users), which is the case only while a Postgres down at start.
     */
    holdCustomers(until: Promise<unknown>): void {
      customersHeld++;
      void until.then(
        () => void customersHeld--,
        () => void customersHeld--,
      );
    },
    /** Whether holdCustomers holds every customer now. */
    holdingCustomers: (): boolean => customersHeld > 0,
    /** The model this process answers with, without waiting for a re-check of the active version (probes). */
    modelInHand: () => (held ? null : models.inHand()),
    /** Whether `strategy` lists only the customer's own purchases (buy-again, repurchase) in the served model. */
    async listsOwnItems(strategy: string): Promise<boolean> {
      return listsOwnItemsOnly((await models.current())?.info, strategy);
    },
    /** Strategies a list of this service may carry (served-strategies.ts), without waiting on the store. */
    servedStrategies: () => servedStrategies.now(),
    /** Strategies the served model offers (hybrid first); null without an active model. */
    async offeredStrategies(): Promise<readonly string[] | null> {
      return (await models.current())?.info.strategies ?? null;
    },
    /**
     * POST /v1/recommendations. A visitor named by `userId` (one the reader may know: the route drops it
     * otherwise) who brings no cart, views or attributes gets their own list, as GET /v1/users/:id/recommendations
     * answers it (experiment arm, signing and count as `user` included): the context alone could only
     * answer popularity (fallback: true) for a customer the model knows.
     */
    async recommendForContext(q: ContextQuery): Promise<Recommendation> {
      const answer = await recommendForContext(deps, q, { userList: true });
      if (!isUserListHandOff(answer)) return counted('context', Promise.resolve(answer));
      const { userId, items: _items, viewed: _viewed, excludeViewed: _excludeViewed, attributes: _attributes, ...list } = q;
      // What the context step read of them is not read again (nor a Postgres that just failed waited for again).
      return userList(userId!, list, { user: answer.user, databaseFailed: answer.databaseFailed });
    },
    similarItems: (itemId: string, q: SimilarQuery) => counted('similar', similarItems(deps, itemId, q)),
    boughtTogether: (itemId: string, q: ListQuery) => counted('bought-together', boughtTogether(deps, itemId, q)),
    popular: (q: PopularQuery) => counted('popular', popularItems(deps, q)),
    /**
     * After an erasure: this process's cache forgets the user's entries of the served version, of a
     * version being readied to replace it (its scorer may have read the user's rows before the scrub),
     * and of one still loading (when loaded: prepare).
     */
    async forgetUser(userId: string): Promise<void> {
      const at = performance.now();
      while (forgotten.length > 0 && forgotten[0].at < at - FORGOTTEN_KEPT_MS) forgotten.shift();
      forgotten.push({ userId, at });
      await models.current();
      for (const m of new Set([models.inHand(), models.readying()])) if (m) forgetUserEntries(m, userId);
    },
    /** Re-resolve the active version on the next request (call after activate / publish). */
    invalidate: () => models.invalidate(),
    /**
     * What a request would start in the background, without one: the catalog overlay's and the active
     * experiment's re-reads, when they are due. Called on a timer, so a replica that sat idle answers its next request with changes made elsewhere
     * meanwhile (a stopped experiment, an item made unavailable) rather than with what it read before;
     * never waits, never throws.
     */
    keepFresh(): void {
      const m = models.inHand();
      // Now, not when due: a request's poke just before a tick would put the next pass two ticks after a change.
      if (m) overlay.poke(m, true);
      opts.experiments?.current();
    },
    /** The process closes: popularity's background counts queued are not begun (db-popularity.ts stop()). */
    stopCounting(): void {
      deps.dbPopular.stop();
    },
    /** Re-resolves the active model now and folds in every catalog change (tests, after activation). */
    async refresh(): Promise<void> {
      models.invalidate();
      const m = await models.current();
      if (m) await overlay.refresh(m);
    },
  };
}

export type Serving = ReturnType<typeof createServing>;
