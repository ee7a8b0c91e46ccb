/**
 * Popularity computed by Postgres: the answer when no model is active yet, and for `GET /v1/popular`
 * with a time window (the model's lists are not windowed). Never on a known user's request path.
 *
 * Counting buyers scans the purchases (~1.5 s on the full Online Retail data), so the ranked lists of
 * each question (attribute, window, category, price range) are kept for `ttlMs` and shared by all
 * requests: exclusions (the request's `exclude`, the user's purchases) are applied to the kept lists,
 * and only a request that excludes more than a kept list can spare goes to Postgres on its own. While
 * Postgres is down, the last lists kept answer (marked `fallback: true`).
 *
 * Lists kept from before a catalog change (an item taken off sale, re-titled, re-categorised; through any
 * replica) are counted again at the next question once the catalog's fingerprint (catalog-fingerprint.ts,
 * re-read about every 2 s while lists are kept) shows it, as the model's own lists follow the catalog
 * (catalog-overlay.ts). Requests then wait for the new count as after the time to live, and while
 * Postgres is down the old lists answer.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../data/db.js';
import { startShared, waitForShared } from '../data/query-timeout.js';
import { createCatalogFingerprint } from './catalog-fingerprint.js';
import { categoryMatcher } from './category-match.js';
import { popularityRun, popularPhrase, roundScore, type Recommendation, type RecommendedItem } from './recommendation.js';
import { randomUUID } from 'node:crypto';

export interface DbPopularityQuery {
  k: number;
  /** Only buyers with this attribute value (e.g. country = France). */
  attribute?: { name: string; value: string };
  /** Only purchases in the last N days before the latest purchase (historic data has no "now"). */
  windowDays?: number;
  category?: string;
  minPrice?: number;
  maxPrice?: number;
  exclude?: readonly string[];
  /** Leave out what this user has bought. */
  excludeBoughtBy?: string;
}

interface Row {
  id: string;
  title: string;
  buyers: number;
}

// Distinct buyers per available item, with every filter in SQL so LIMIT k counts only valid items.
const TOP_SQL = `
SELECT i.id, i.title, count(DISTINCT e.user_id)::int AS buyers
FROM purchase_events e JOIN items i ON i.id = e.item_id
WHERE i.available
  AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM users u WHERE u.id = e.user_id AND u.attributes ->> $2 = $3))
  AND ($4::float8 IS NULL OR e.ts >= (SELECT max(ts) FROM purchase_events) - $4 * interval '1 day')
  AND ($5::text[] IS NULL OR i.categories && $5::text[])
  AND ($6::float8 IS NULL OR i.price >= $6)
  AND ($7::float8 IS NULL OR i.price <= $7)
  AND NOT (i.id = ANY ($8::text[]))
  AND ($9::text IS NULL OR NOT EXISTS (SELECT 1 FROM purchase_events b WHERE b.user_id = $9 AND b.item_id = i.id))
GROUP BY i.id, i.title
ORDER BY buyers DESC, i.id
LIMIT $1`;

// Items nobody bought (in the window), so a valid request still gets k items when k exist.
const REST_SQL = `
SELECT i.id, i.title, 0 AS buyers FROM items i
WHERE i.available
  AND ($2::text[] IS NULL OR i.categories && $2::text[])
  AND ($3::float8 IS NULL OR i.price >= $3)
  AND ($4::float8 IS NULL OR i.price <= $4)
  AND NOT (i.id = ANY ($5::text[]))
  AND ($6::text IS NULL OR NOT EXISTS (SELECT 1 FROM purchase_events b WHERE b.user_id = $6 AND b.item_id = i.id))
ORDER BY i.id
LIMIT $1`;

// The user's purchases, to leave out of a kept list (an index scan on purchase_events_user_ts).
const BOUGHT_SQL = 'SELECT DISTINCT item_id AS id FROM purchase_events WHERE user_id = $1';

/** Items kept per ranked list: k (at most 100) plus room for what a request excludes. */
export const DB_POPULAR_DEPTH = 300;
const DEPTH = DB_POPULAR_DEPTH;

/** One question's ranked lists, without any exclusion; each is complete when shorter than DEPTH. */
interface Lists {
  attribute: Row[];
  global: Row[];
  rest: Row[];
  /** The catalog's generation (catalog-fingerprint.ts) when they were counted. */
  generation: number;
}

export type DbPopularity = ReturnType<typeof createDbPopularity>;

export function createDbPopularity(db: Db, opts: { ttlMs?: number; maxQuestions?: number; catalogRefreshMs?: number; log?: (msg: string, err?: unknown) => void } = {}) {
  const catalog = createCatalogFingerprint(db, { intervalMs: opts.catalogRefreshMs, log: opts.log });
  const lists = new LRUCache<string, Lists, DbPopularityQuery>({
    // Questions come from query strings: bounded, least recently used out.
    max: opts.maxQuestions ?? 1000,
    ttl: opts.ttlMs ?? 60_000,
    // Postgres down: the last lists answer rather than a 503.
    allowStaleOnFetchRejection: true,
    noDeleteOnFetchRejection: true,
    // One scan per question however many requests ask it at once.
    // Shared by every request asking meanwhile: not given up at the first one's statement limit (the scan
    // takes seconds at ten times our data); each request waits for it at most its own limit.
    fetchMethod: (_key, _stale, { context: q }) =>
      startShared(async () => {
        // Read before counting: a change after this read shows in a later one.
        const generation = await catalog.settled();
        const none: string[] = [];
        const [attribute, global, rest] = await Promise.all([
          q.attribute ? top(q, q.attribute, none, DEPTH) : Promise.resolve([]),
          top(q, undefined, none, DEPTH),
          restOf({ ...q, excludeBoughtBy: undefined }, none, DEPTH),
        ]);
        return { attribute, global, rest, generation };
      }),
  });

  // The catalogue's categories as stored, read again after the lists' time to live or a catalog change.
  let stored: { at: number; generation: number; list: Promise<string[]> } | undefined;
  /** The stored categories a `category` filter matches (category-match.ts), or null without a filter. */
  async function categoriesOf(q: DbPopularityQuery): Promise<string[] | null> {
    if (q.category === undefined) return null;
    if (!stored || performance.now() - stored.at > (opts.ttlMs ?? 60_000) || stored.generation !== catalog.generation()) {
      const list = startShared(() => db.query<{ c: string }>('SELECT DISTINCT unnest(categories) AS c FROM items')).then((r) => r.rows.map((row) => row.c));
      stored = { at: performance.now(), generation: catalog.generation(), list };
      list.catch(() => stored?.list === list && (stored = undefined));
    }
    return (await waitForShared(stored.list)).filter(categoryMatcher(q.category));
  }

  async function restOf(q: DbPopularityQuery, exclude: string[], k: number): Promise<Row[]> {
    const { rows } = await db.query<Row>(REST_SQL, [k, await categoriesOf(q), q.minPrice ?? null, q.maxPrice ?? null, exclude, q.excludeBoughtBy ?? null]);
    return rows;
  }

  async function top(q: DbPopularityQuery, attribute: DbPopularityQuery['attribute'], exclude: string[], k: number): Promise<Row[]> {
    const { rows } = await db.query<Row>(TOP_SQL, [
      k,
      attribute?.name ?? null,
      attribute?.value ?? null,
      q.windowDays ?? null,
      await categoriesOf(q),
      q.minPrice ?? null,
      q.maxPrice ?? null,
      exclude,
      q.excludeBoughtBy ?? null,
    ]);
    return rows;
  }

  /** The same answer straight from Postgres, every exclusion in SQL (when the kept lists are too short for them). */
  async function uncached(q: DbPopularityQuery, opts: { modelVersion?: string | null; fallback: boolean }): Promise<Recommendation> {
    const items: RecommendedItem[] = [];
    const exclude = [...(q.exclude ?? [])];
    const window = q.windowDays !== undefined ? ` in the last ${q.windowDays} days` : '';
    const add = (rows: Row[], explanation?: string) => {
      const score = popularityRun(items);
      for (const r of rows) {
        exclude.push(r.id);
        const item: RecommendedItem = { itemId: r.id, score: roundScore(score(r.buyers)), sources: ['popularity'] };
        if (explanation) item.explanation = explanation;
        if (r.title) item.title = r.title;
        items.push(item);
      }
    };
    if (q.attribute) add(await top(q, q.attribute, exclude, q.k), popularPhrase(q.attribute) + window);
    if (items.length < q.k) add(await top(q, undefined, exclude, q.k - items.length), popularPhrase(undefined) + window);
    if (items.length < q.k) add(await restOf(q, exclude, q.k - items.length));
    return { recommendationId: randomUUID(), modelVersion: opts.modelVersion ?? null, strategy: 'popularity', fallback: opts.fallback, items };
  }

  return {
    /**
     * Top k: the attribute's buyers first, then all buyers, then never-bought items; each item explained
     * by the list it came from ("popular in France", "popular overall").
     */
    async recommend(q: DbPopularityQuery, opts: { modelVersion?: string | null; fallback: boolean }): Promise<Recommendation> {
      const window = q.windowDays !== undefined ? ` in the last ${q.windowDays} days` : '';
      const key = JSON.stringify([q.attribute?.name, q.attribute?.value, q.windowDays, q.category, q.minPrice, q.maxPrice]);
      const status: LRUCache.Status<string, Lists, DbPopularityQuery> = {};
      catalog.poke();
      const keptLists = async () => {
        const fetch = (forceRefresh: boolean) =>
          waitForShared(lists.fetch(key, { context: { ...q, exclude: undefined, excludeBoughtBy: undefined }, status, forceRefresh }));
        const kept = await fetch(false);
        // Counted before the catalog last changed: counted again (shared by the requests meanwhile); the old
        // lists answer only when Postgres does not.
        return kept !== undefined && kept.generation !== catalog.generation() && !status.fetchRejected ? fetch(true) : kept;
      };
      const [kept, bought] = await Promise.all([
        keptLists(),
        q.excludeBoughtBy ? db.query<{ id: string }>(BOUGHT_SQL, [q.excludeBoughtBy]).then((r) => r.rows.map((row) => row.id)) : [],
      ]);
      const excluded = new Set([...(q.exclude ?? []), ...bought]);
      const items: RecommendedItem[] = [];
      const add = (row: Row, score: (buyers: number) => number, explanation?: string) => {
        excluded.add(row.id);
        const item: RecommendedItem = { itemId: row.id, score: roundScore(score(row.buyers)), sources: ['popularity'] };
        if (explanation) item.explanation = explanation;
        if (row.title) item.title = row.title;
        items.push(item);
      };
      /** Takes from a kept list; false when the list ran out while it may hold more in Postgres. */
      const takeFrom = (rows: Row[], explanation?: string) => {
        const score = popularityRun(items);
        for (const row of rows) {
          if (items.length === q.k) return true;
          if (!excluded.has(row.id)) add(row, score, explanation);
        }
        return items.length === q.k || rows.length < DEPTH;
      };
      const complete =
        kept !== undefined &&
        (!q.attribute || takeFrom(kept.attribute, popularPhrase(q.attribute) + window)) &&
        takeFrom(kept.global, popularPhrase(undefined) + window) &&
        takeFrom(kept.rest);
      if (!complete) return uncached(q, opts);
      // Answered from lists kept from before Postgres went away.
      const fallback = opts.fallback || status.fetchRejected === true;
      return { recommendationId: randomUUID(), modelVersion: opts.modelVersion ?? null, strategy: 'popularity', fallback, items };
    },
    uncached,
    /**
     * Starts the catalog's re-read now while lists are kept: the server's timer (every 2 s), so a change shows
     * within one tick, also on a replica no request reaches. Also once before any is kept, so the first
     * question need not wait for a first read. Never waits, never throws.
     */
    keepFresh(): void {
      if (lists.size > 0 || stored || catalog.generation() === 0) catalog.poke(true);
    },
  };
}
