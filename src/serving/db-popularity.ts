/**
 * Popularity computed by Postgres: the answer when no model is active yet, and for `GET /v1/popular`
 * with a time window (the model's lists are not windowed). Never on a known user's request path.
 *
 * Counting buyers reads item_buyers (one row per customer and item bought), so the ranked lists of
 * each question (attribute, window, category, price range) are kept for `ttlMs` and shared by all
 * requests: exclusions (the request's `exclude`, the user's purchases) are applied to the kept lists,
 * and only a request that excludes more than a kept list can spare goes to Postgres on its own. While
 * Postgres is down, the last lists kept answer (marked `fallback: true`).
 *
 * A kept list past its `ttlMs` still answers at once while it is counted again in the background (one count per
 * question at a time, shared), for up to `staleMs` more (STALE_MS: lists at most five minutes old); an answer
 * after that waits for the count as the first ask of a question does. A question's first ask at ten times Online
 * Retail waits 0.5-2.7 s for its count (bench/README "Windowed popularity at ten times our data"): without this,
 * one shopper per question and replica waited as long every minute. A count that fails leaves the kept lists as
 * they were (their answers then say `fallback: true`), and the next answer starts another.
 *
 * The catalog of the kept items (availability, title, price, categories) is read again when an answer finds
 * it older than `catalogRefreshMs` (2 s): one index lookup of their few hundred ids, shared by the requests
 * meanwhile. So a product taken off sale, re-titled, re-priced or re-categorised leaves (or changes in) the
 * answers within about 2 s whatever replica made the change, as the model's own lists do (catalog-overlay.ts);
 * a product put on sale or into a category joins them at the next count (begun by the first answer after the
 * time to live, and answering once it ends). While Postgres does not answer, the last state read stands.
 *
 * An attribute value with fewer than `minAttributeBuyers` distinct buyers in the counted window (the model's
 * `minSegmentBuyers`, DEFAULT_MIN_SEGMENT_BUYERS without one) has no list of its own, as the model's segments:
 * for a value one customer has (an e-mail, a loyalty number) the list would be that customer's purchases, read
 * with the public frontend key. It is answered as a value nobody has: everyone's popularity, `fallback: true`.
 *
 * One product per product group (items.item_group_id), as every served list (picker.ts): the kept lists hold
 * the best few products of each group (KEPT_PER_GROUP), so their rows reach as many groups as a catalogue without
 * groups has products, and an answer takes the first (best-counted) of each group from them, by the group its
 * catalog state says (an answer that refuses every product kept of a group not yet taken is counted anew); an
 * answer counted for one request has Postgres keep the best of each group (DISTINCT ON), leaving out the groups
 * asked to be left out (`excludeGroups`) and those of the lists answered before it.
 */
import { LRUCache } from 'lru-cache';
import type { Db } from '../data/db.js';
import { startShared, waitForShared } from '../data/query-timeout.js';
import { within } from '../within-time.js';
import { categoryMatcher } from './category-match.js';
import { DEFAULT_MIN_SEGMENT_BUYERS } from '../recommenders/popularity.js';
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
  /** Product groups to leave out whole (the group of the product whose page it is, the cart's groups). */
  excludeGroups?: readonly string[];
}

interface Row {
  id: string;
  title: string;
  buyers: number;
  /** The item's product group (null: its own). */
  grp: string | null;
}

/** What an answer shows or filters by of an item, as the catalog says now. */
interface ItemState {
  title: string;
  available: boolean;
  price: number | null;
  categories: string[];
  grp: string | null;
}

// Distinct buyers per available item, with every filter in SQL so LIMIT k counts only valid items. They are the
// item's rows of item_buyers (migration 031: one per customer who bought it, with their latest purchase of it,
// kept by triggers on purchase_events) whose latest purchase is in the window: the same count as the distinct
// (item, buyer) pairs among the window's purchase lines, which the statement found before by a hash aggregate
// over every line in the window (a year at ten times Online Retail, 3.8 million lines: 42 s; bench/README
// "Windowed popularity at ten times our data"). The statement is written for its question rather than with
// `$n IS NULL OR ...`: an attribute's customers are a join the planner can start from (an OR keeps EXISTS a
// filter on every row), and the window's start is a value it plans with (CUTOFF_SQL), not a subquery's result
// it must guess (a third of the rows: a week's window read the whole table).
/**
 * Item i not bought by the customer `param`, nor a product of its group (a shirt bought in M leaves out its L):
 * the condition of `excludeBoughtBy`, as the Picker leaves out a customer's purchases' groups. The bought groups
 * are one subquery of the customer's purchases, not correlated with i, so Postgres reads them once (a hashed
 * subplan); written as a lookup of i's group per purchase, it scanned the catalogue once per product counted
 * (40,000 products: 207 s against 4.5 s).
 */
function notBoughtBy(param: string): string {
  return `(${param}::text IS NULL OR (NOT EXISTS (SELECT 1 FROM purchase_events b WHERE b.user_id = ${param} AND b.item_id = i.id)
    AND (i.item_group_id IS NULL OR i.item_group_id NOT IN (
      SELECT bi.item_group_id FROM purchase_events b JOIN items bi ON bi.id = b.item_id WHERE b.user_id = ${param} AND bi.item_group_id IS NOT NULL))))`;
}
function topSql(attribute: boolean, windowed: boolean, grouped: boolean): string {
  const counted = `
FROM (SELECT b.item_id, count(*)::int AS buyers FROM item_buyers b
      ${attribute ? 'JOIN users u ON u.id = b.user_id AND u.attributes ->> $2::text = $3::text' : ''}
      WHERE ${attribute ? 'true' : '$2::text IS NULL AND $3::text IS NULL'}
        AND ${windowed ? 'b.last_ts >= $4::timestamptz' : '$4::timestamptz IS NULL'}
      GROUP BY b.item_id) c
JOIN items i ON i.id = c.item_id
WHERE i.available
  AND ($5::text[] IS NULL OR i.categories && $5::text[])
  AND ($6::float8 IS NULL OR i.price >= $6)
  AND ($7::float8 IS NULL OR i.price <= $7)
  AND NOT (i.id = ANY ($8::text[]))
  AND ${notBoughtBy('$9')}`;
  if (!grouped) return keptPerGroup('c.buyers', 'c.buyers DESC, i.id', counted, 'buyers DESC, id');
  // One product per group, its best-counted (an item without a group is its own: the second key tells them
  // apart), none of the groups already answered ($10).
  return `
SELECT id, title, buyers, grp FROM (
  SELECT DISTINCT ON (i.item_group_id, ${OWN_GROUP}) i.id, i.title, c.buyers, i.item_group_id AS grp ${counted}
    AND (i.item_group_id IS NULL OR NOT (i.item_group_id = ANY ($10::text[])))
  ORDER BY i.item_group_id, ${OWN_GROUP}, c.buyers DESC, i.id) d
ORDER BY buyers DESC, id
LIMIT $1`;
}
/** The second key of a product's group: its own id when it has none. */
const OWN_GROUP = 'CASE WHEN i.item_group_id IS NULL THEN i.id END';
/**
 * Products a kept list holds of one group: its best few. A kept list of every product would spend its DEPTH rows
 * on the variants of a few styles (variants of one style sell alike and rank together: 300 rows of a catalogue in
 * 10 sizes hold 30 styles), and every question for more styles would be counted anew. A few rather than one, so
 * that an answer excluding one (the customer bought that size, the request's `exclude`) still has a sibling.
 */
const KEPT_PER_GROUP = 3;
/** A kept list's statement: the `counted` rows, at most KEPT_PER_GROUP of a group (its first by `rank`), in `order`. */
function keptPerGroup(buyers: string, rank: string, counted: string, order: string): string {
  return `
SELECT id, title, buyers, grp FROM (
  SELECT i.id, i.title, ${buyers} AS buyers, i.item_group_id AS grp,
    row_number() OVER (PARTITION BY i.item_group_id, ${OWN_GROUP} ORDER BY ${rank}) AS r ${counted}) d
WHERE r <= ${KEPT_PER_GROUP}
ORDER BY ${order}
LIMIT $1`;
}
const TOP_SQL = {
  everyone: topSql(false, false, false),
  everyoneWindowed: topSql(false, true, false),
  attribute: topSql(true, false, false),
  attributeWindowed: topSql(true, true, false),
};
/** The same, one product per group: the answers counted for one request (uncached). */
const GROUPED_TOP_SQL = {
  everyone: topSql(false, false, true),
  everyoneWindowed: topSql(false, true, true),
  attribute: topSql(true, false, true),
  attributeWindowed: topSql(true, true, true),
};

// The window's start: N days before the latest purchase, as Postgres's text (microseconds kept), or null without
// purchases (then nothing is in the window).
const CUTOFF_SQL = "SELECT (max(ts) - $1::float8 * interval '1 day')::text AS cutoff FROM purchase_events";

// Distinct buyers (in the window) with the attribute value, counted up to $4 (the least a list of its own needs):
// a scan of the users, an index probe (purchase_events_user_ts) each, stopped once enough are found.
const BUYERS_SQL = `
SELECT count(*)::int AS buyers FROM (
  SELECT 1 FROM users u
  WHERE u.attributes ->> $1 = $2
    AND EXISTS (
      SELECT 1 FROM purchase_events e
      WHERE e.user_id = u.id AND ($3::float8 IS NULL OR e.ts >= (SELECT max(ts) FROM purchase_events) - $3 * interval '1 day'))
  LIMIT $4
) s`;

// Items nobody bought (in the window), so a valid request still gets k items when k exist.
function restSql(grouped: boolean): string {
  const rest = `FROM items i
WHERE i.available
  AND ($2::text[] IS NULL OR i.categories && $2::text[])
  AND ($3::float8 IS NULL OR i.price >= $3)
  AND ($4::float8 IS NULL OR i.price <= $4)
  AND NOT (i.id = ANY ($5::text[]))
  AND ${notBoughtBy('$6')}`;
  if (!grouped) return keptPerGroup('0', 'i.id', rest, 'id');
  return `
SELECT id, title, 0 AS buyers, grp FROM (
  SELECT DISTINCT ON (i.item_group_id, ${OWN_GROUP}) i.id, i.title, i.item_group_id AS grp ${rest}
    AND (i.item_group_id IS NULL OR NOT (i.item_group_id = ANY ($7::text[])))
  ORDER BY i.item_group_id, ${OWN_GROUP}, i.id) d
ORDER BY id
LIMIT $1`;
}
const REST_SQL = restSql(false);
const GROUPED_REST_SQL = restSql(true);

// The user's purchases with their product groups, to leave out of a kept list (an index scan on
// purchase_events_user_ts): a product bought in any variant is left out whole.
const BOUGHT_SQL = `SELECT DISTINCT b.item_id AS id, bi.item_group_id AS grp
FROM purchase_events b LEFT JOIN items bi ON bi.id = b.item_id WHERE b.user_id = $1`;

/** Items kept per ranked list: k (at most 100) plus room for what a request excludes. */
const DEPTH = 300;

/** One question's ranked lists, without any exclusion; each is complete when shorter than DEPTH. */
interface Lists {
  /** Empty when the attribute value has too few buyers for a list of its own (`heldBack`). */
  attribute: Row[];
  /** The question's attribute value has fewer buyers than the least asked: answered as a value nobody has. */
  heldBack: boolean;
  global: Row[];
  rest: Row[];
  /**
   * Their items' catalog state, read at `at` (performance.now()); `reading` while a re-read runs; `failedAt`
   * when the last one failed (the next waits `refreshMs` after it, and answers on this state are fallbacks).
   */
  state: { at: number; items: Map<string, ItemState>; reading?: Promise<void>; failedAt?: number };
  /** When their count began (performance.now()): how old they are, for the bound on answering them past their time. */
  countedAt: number;
  /** A count of the question begun after their time failed: answers on them are fallbacks until one succeeds. */
  recountFailed?: boolean;
}

// The kept items' catalog state: an index lookup of at most 3 x DEPTH ids.
const STATE_SQL = 'SELECT id, title, available, price, categories, item_group_id AS grp FROM items WHERE id = ANY($1::text[])';
const GONE: ItemState = { title: '', available: false, price: null, categories: [], grp: null };
/** How long an answer waits for its kept items' catalog state; past it, the last state read answers. */
const STATE_WAIT_MS = 250;
/**
 * How long past their time to live (a minute) kept lists still answer at once while they are counted again: four
 * minutes, so no answer is made on a count older than five. A storefront asked at least every few minutes never
 * waits for a count after the first; one asked less often waits as at its first ask, on lists no staler than that.
 */
export const STALE_MS = 240_000;
/**
 * How many list rows the kept questions hold together, least recently asked let go first. Questions come from query
 * strings, so anyone with a frontend key can ask many: 1,000 questions at full depth (three lists of DEPTH rows and
 * their items' catalog state) held 462 MB of heap (bench/README "Review of windowed popularity counted again in the
 * background"); at about 500 bytes a row with its item's state, this bound keeps them near 50 MB, room for about a
 * hundred questions at full depth and more of the usual shallower ones.
 */
export const MAX_KEPT_ROWS = 100_000;

export type DbPopularity = ReturnType<typeof createDbPopularity>;

/** How an answer is made: the model version it names, whether it is a fallback, and more (see recommend). */
export interface DbPopularityOptions {
  modelVersion?: string | null;
  fallback: boolean;
  /** A caller taking a pool to choose from makes do with this many items from the kept lists. */
  minItems?: number;
  /** Fewest distinct buyers an attribute value needs for a list of its own (default DEFAULT_MIN_SEGMENT_BUYERS). */
  minAttributeBuyers?: number;
}

/** Kept lists are counted for a question and a least number of buyers (the fetch's context). */
type ListsQuestion = DbPopularityQuery & { minAttributeBuyers: number };

export function createDbPopularity(
  db: Db,
  opts: { ttlMs?: number; staleMs?: number; maxQuestions?: number; maxRows?: number; catalogRefreshMs?: number; log?: (msg: string, err?: unknown) => void } = {},
) {
  const refreshMs = opts.catalogRefreshMs ?? 2000;
  const ttlMs = opts.ttlMs ?? 60_000;
  const staleMs = opts.staleMs ?? STALE_MS;
  /** The counts running now, the background ones included (settled()). */
  const counting = new Set<Promise<unknown>>();
  /**
   * The last count begun in the background: they run one after another. Begun together (the lists of every
   * question a page asks pass their minute together), they took the pool's connections, and the answers they were
   * begun for waited behind them for their items' catalog state (bench/README "Windowed popularity without waiting
   * for its count").
   */
  let background: Promise<unknown> = Promise.resolve();
  /**
   * Background counts not begun yet, by question: an answer that may not use the stale lists (past the bound) begins
   * its question's count at once rather than wait for the counts queued before it.
   */
  const queued = new Map<string, () => void>();
  /** Stopped (the process closes, its pool next): no background count begins any more. */
  let stopped = false;
  const lists = new LRUCache<string, Lists, ListsQuestion>({
    // Questions come from query strings: bounded, least recently used out.
    max: opts.maxQuestions ?? 1000,
    // And bounded by what they hold (MAX_KEPT_ROWS): a question's lists larger than it all are not kept.
    maxSize: opts.maxRows ?? MAX_KEPT_ROWS,
    sizeCalculation: (l) => 1 + l.attribute.length + l.global.length + l.rest.length,
    ttl: ttlMs,
    // Postgres down: the last lists answer rather than a 503.
    allowStaleOnFetchRejection: true,
    noDeleteOnFetchRejection: true,
    // One scan per question however many requests ask it at once.
    // Shared by every request asking meanwhile: not given up at the first one's statement limit (the scan
    // takes seconds at ten times our data); each request waits for it at most its own limit.
    fetchMethod: (key, stale, { context: q, options, signal }) => {
      const run = () => startShared(async () => {
        const countedAt = performance.now();
        const none: string[] = [];
        // The attribute's own list is counted only once its buyers are known to be enough (the count is cheap).
        const [attribute, global, rest] = await Promise.all([
          attributeOf(q, q.minAttributeBuyers).then((a) => (a ? top(q, a, none, DEPTH) : null)),
          top(q, undefined, none, DEPTH),
          restOf({ ...q, excludeBoughtBy: undefined }, none, DEPTH),
        ]);
        // Their catalog state is read by the first answer (at: never): until a read succeeds, an item stands as
        // the count found it.
        return { attribute: attribute ?? [], heldBack: q.attribute !== undefined && attribute === null, global, rest, state: { at: -Infinity, items: new Map() }, countedAt };
      });
      // Answered meanwhile from the stale lists: in the background, after the counts begun before it.
      const inBackground = stale !== undefined && options.allowStale === true;
      let count: Promise<Lists | undefined>;
      if (inBackground) {
        let begin!: () => void;
        const turn = new Promise<void>((resolve) => (begin = resolve));
        queued.set(key, begin);
        void background.catch(() => undefined).then(() => begin());
        count = turn.then(() => {
          if (queued.get(key) === begin) queued.delete(key);
          // The question left the kept ones while its count waited (aborted: the cache let it go, a least recently
          // used one of `maxQuestions`): not counted. Questions come from query strings, and without this every
          // question let go kept a count in the queue, ahead of those of the questions still asked.
          // Not counted either once stopped: begun after the pool's close, it would fail and log. Undefined: the
          // cache keeps the stale lists as they were.
          if (signal.aborted || stopped) return undefined;
          return run();
        });
        background = count;
      } else count = run();
      counting.add(count);
      return count
        .catch((err: unknown) => {
          // The kept lists (if any) stay, and say so: logged once until a count succeeds, not on every answer of an outage.
          if (stale && !stale.recountFailed) opts.log?.('popularity lists: counting them again failed; the kept lists answer as fallbacks', err);
          if (stale) stale.recountFailed = true;
          throw err;
        })
        .finally(() => counting.delete(count));
    },
  });

  // The catalogue's categories as stored, read again after the lists' time to live.
  let stored: { at: number; list: Promise<string[]> } | undefined;
  /** The stored categories a `category` filter matches (category-match.ts), or null without a filter. */
  async function categoriesOf(q: DbPopularityQuery): Promise<string[] | null> {
    if (q.category === undefined) return null;
    if (!stored || performance.now() - stored.at > ttlMs) {
      const list = startShared(() => db.query<{ c: string }>('SELECT DISTINCT unnest(categories) AS c FROM items')).then((r) => r.rows.map((row) => row.c));
      stored = { at: performance.now(), list };
      list.catch(() => stored?.list === list && (stored = undefined));
    }
    return (await waitForShared(stored.list)).filter(categoryMatcher(q.category));
  }

  /** The question's attribute when its value has at least `least` distinct buyers in the window, else undefined. */
  async function attributeOf(q: DbPopularityQuery, least: number): Promise<DbPopularityQuery['attribute']> {
    if (!q.attribute) return undefined;
    const { rows } = await db.query<{ buyers: number }>(BUYERS_SQL, [q.attribute.name, q.attribute.value, q.windowDays ?? null, least]);
    return rows[0].buyers >= least ? q.attribute : undefined;
  }

  /**
   * Items nobody bought, by id. `groups` (the answer's groups so far): one product per group, none of those;
   * without it, the first few of each group (a kept list, whose reader keeps one per group).
   */
  async function restOf(q: DbPopularityQuery, exclude: string[], k: number, groups?: string[]): Promise<Row[]> {
    const params = [k, await categoriesOf(q), q.minPrice ?? null, q.maxPrice ?? null, exclude, q.excludeBoughtBy ?? null];
    const { rows } = await db.query<Row>(groups ? GROUPED_REST_SQL : REST_SQL, groups ? [...params, groups] : params);
    return rows;
  }

  /** The most bought items; with `groups`, one product per group and none of those (see restOf). */
  async function top(q: DbPopularityQuery, attribute: DbPopularityQuery['attribute'], exclude: string[], k: number, groups?: string[]): Promise<Row[]> {
    const windowed = q.windowDays !== undefined;
    const cutoff = windowed ? (await db.query<{ cutoff: string | null }>(CUTOFF_SQL, [q.windowDays])).rows[0].cutoff : null;
    const sqls = groups ? GROUPED_TOP_SQL : TOP_SQL;
    const sql = attribute ? (windowed ? sqls.attributeWindowed : sqls.attribute) : windowed ? sqls.everyoneWindowed : sqls.everyone;
    const { rows } = await db.query<Row>(sql, [
      k,
      attribute?.name ?? null,
      attribute?.value ?? null,
      cutoff,
      await categoriesOf(q),
      q.minPrice ?? null,
      q.maxPrice ?? null,
      exclude,
      q.excludeBoughtBy ?? null,
      ...(groups ? [groups] : []),
    ]);
    return rows;
  }

  /**
   * Reads the kept items' catalog state again when it is older than `refreshMs`, one read shared by the
   * requests meanwhile, each waiting for it at most STATE_WAIT_MS (a Postgres that hangs or is down: the last
   * state stands, and a failed read is tried again after `refreshMs`). False when the answer is made on a
   * state that is not current.
   */
  async function refreshState(kept: Lists): Promise<boolean> {
    const state = kept.state;
    if (performance.now() - state.at <= refreshMs) return true;
    // A read failed within refreshMs: not tried again yet, and the state it left is not current.
    if (state.failedAt !== undefined && performance.now() - state.failedAt <= refreshMs) return false;
    state.reading ??= (async () => {
      const ids = [...new Set([...kept.attribute, ...kept.global, ...kept.rest].map((r) => r.id))];
      try {
        const at = performance.now();
        const { rows } = await startShared(() => db.query<ItemState & { id: string }>(STATE_SQL, [ids]));
        // An id the catalog no longer holds is gone from the answers.
        const items = new Map<string, ItemState>(ids.map((id) => [id, GONE]));
        for (const r of rows) items.set(r.id, { title: r.title, available: r.available, price: r.price, categories: r.categories ?? [], grp: r.grp });
        kept.state = { at, items };
      } catch (err) {
        state.failedAt = performance.now();
        opts.log?.('popularity lists: reading their items from the catalog failed; the last state read stands', err);
      } finally {
        state.reading = undefined;
      }
    })();
    const reading = state.reading;
    return within(
      reading.then(() => kept.state !== state),
      STATE_WAIT_MS,
      () => false,
    );
  }

  /** Whether a kept row may be answered now, and with what title: the question's filters on the current state. */
  function current(kept: Lists, q: DbPopularityQuery, matches: ((c: string) => boolean) | null): (row: Row) => { title: string; grp: string | null } | null {
    return (row) => {
      const now = kept.state.items.get(row.id);
      // Not read yet (the read failed since the count): as the count found it.
      if (!now) return { title: row.title, grp: row.grp };
      if (!now.available) return null;
      if ((q.minPrice !== undefined || q.maxPrice !== undefined) && (now.price === null || now.price < (q.minPrice ?? -Infinity) || now.price > (q.maxPrice ?? Infinity))) return null;
      if (matches && !now.categories.some(matches)) return null;
      return { title: now.title, grp: now.grp };
    };
  }

  /**
   * The same answer straight from Postgres, every exclusion in SQL (when the kept lists are too short for them).
   * `heldBack`: whether the question's attribute is held back, when the kept lists know; else counted here.
   */
  async function uncached(q: DbPopularityQuery, opts: DbPopularityOptions & { heldBack?: boolean }): Promise<Recommendation> {
    const least = opts.minAttributeBuyers ?? DEFAULT_MIN_SEGMENT_BUYERS;
    const attribute = opts.heldBack === undefined ? await attributeOf(q, least) : opts.heldBack ? undefined : q.attribute;
    // A value with too few buyers is answered as one nobody has: a fallback, as the model's answer for it.
    const fallback = opts.fallback || (q.attribute !== undefined && attribute === undefined);
    const items: RecommendedItem[] = [];
    const exclude = [...(q.exclude ?? [])];
    // One product per group: each list leaves out the groups asked to be and those of the lists before it.
    const groups: string[] = [...(q.excludeGroups ?? [])];
    const window = q.windowDays !== undefined ? ` in the last ${q.windowDays} days` : '';
    const add = (rows: Row[], explanation?: string) => {
      const score = popularityRun(items);
      for (const r of rows) {
        exclude.push(r.id);
        if (r.grp !== null) groups.push(r.grp);
        const item: RecommendedItem = { itemId: r.id, score: roundScore(score(r.buyers)), sources: ['popularity'] };
        if (explanation) item.explanation = explanation;
        if (r.title) item.title = r.title;
        items.push(item);
      }
    };
    if (attribute) add(await top(q, attribute, exclude, q.k, groups), popularPhrase(attribute) + window);
    if (items.length < q.k) add(await top(q, undefined, exclude, q.k - items.length, groups), popularPhrase(undefined) + window);
    if (items.length < q.k) add(await restOf(q, exclude, q.k - items.length, groups));
    return { recommendationId: randomUUID(), modelVersion: opts.modelVersion ?? null, strategy: 'popularity', fallback, items };
  }

  return {
    /**
     * Top k: the attribute's buyers first (when the value has at least `minAttributeBuyers` of them), then all
     * buyers, then never-bought items; each item explained by the list it came from ("popular in France",
     * "popular overall").
     */
    async recommend(q: DbPopularityQuery, opts: DbPopularityOptions): Promise<Recommendation> {
      const window = q.windowDays !== undefined ? ` in the last ${q.windowDays} days` : '';
      const least = opts.minAttributeBuyers ?? DEFAULT_MIN_SEGMENT_BUYERS;
      const key = JSON.stringify([q.attribute?.name, q.attribute?.value, q.windowDays, q.category, q.minPrice, q.maxPrice, q.attribute ? least : null]);
      const status: LRUCache.Status<string, Lists, ListsQuestion> = {};
      // Lists past their time but counted less than ttlMs + staleMs ago answer now; their count runs meanwhile.
      const before = lists.peek(key, { allowStale: true });
      const allowStale = before !== undefined && performance.now() - before.countedAt <= ttlMs + staleMs;
      // Too old to answer: its count, if queued, begins now.
      if (!allowStale) queued.get(key)?.();
      const context = { ...q, exclude: undefined, excludeBoughtBy: undefined, excludeGroups: undefined, minAttributeBuyers: least };
      const [kept, bought] = await Promise.all([
        waitForShared(lists.fetch(key, { context, status, allowStale })),
        q.excludeBoughtBy ? db.query<{ id: string; grp: string | null }>(BOUGHT_SQL, [q.excludeBoughtBy]).then((r) => r.rows) : [],
      ]);
      const excluded = new Set([...(q.exclude ?? []), ...bought.map((b) => b.id)]);
      // The kept lists hold a few products of each group: one per group is taken here, the first (best-counted)
      // of it, none of the groups left out (those asked to be, and those of the customer's purchases).
      const groups = new Set<string>([...(q.excludeGroups ?? []), ...bought.flatMap((b) => (b.grp === null ? [] : [b.grp]))]);
      const stateCurrent = kept === undefined || (await refreshState(kept));
      const now = kept && current(kept, q, q.category === undefined ? null : categoryMatcher(q.category));
      const items: RecommendedItem[] = [];
      const add = (row: Row, title: string, score: (buyers: number) => number, explanation?: string) => {
        excluded.add(row.id);
        const item: RecommendedItem = { itemId: row.id, score: roundScore(score(row.buyers)), sources: ['popularity'] };
        if (explanation) item.explanation = explanation;
        if (title) item.title = title;
        items.push(item);
      };
      /**
       * Takes from a kept list; false when the list ran out while it may hold more in Postgres, or when every
       * product it keeps of a group not taken yet was refused (excluded, or off sale now): a sibling it did not
       * keep may rank anywhere below them.
       */
      const takeFrom = (rows: Row[], explanation?: string) => {
        const score = popularityRun(items);
        const refused = new Map<string, number>();
        const refuse = (row: Row) => {
          if (row.grp === null || groups.has(row.grp)) return true;
          const n = (refused.get(row.grp) ?? 0) + 1;
          refused.set(row.grp, n);
          return n < KEPT_PER_GROUP;
        };
        for (const row of rows) {
          if (items.length === q.k) return true;
          if (excluded.has(row.id)) {
            if (!refuse(row)) return false;
            continue;
          }
          const shown = now!(row);
          if (!shown) {
            if (!refuse(row)) return false;
            continue;
          }
          if (shown.grp !== null && groups.has(shown.grp)) continue;
          if (shown.grp !== null) groups.add(shown.grp);
          add(row, shown.title, score, explanation);
        }
        return items.length === q.k || rows.length < DEPTH;
      };
      const complete =
        kept !== undefined &&
        (!q.attribute || kept.heldBack || takeFrom(kept.attribute, popularPhrase(q.attribute) + window)) &&
        takeFrom(kept.global, popularPhrase(undefined) + window) &&
        takeFrom(kept.rest);
      // A caller taking a pool to choose from (diversity) makes do with what the kept lists give, down to
      // `minItems`, rather than count anew for every request that excludes some of their items.
      if (!complete && !(kept !== undefined && items.length >= (opts.minItems ?? q.k))) return uncached(q, { ...opts, heldBack: kept?.heldBack });
      // Answered from lists kept from before Postgres went away, or on their items' catalog state from before; or
      // without the attribute's own list, its value having too few buyers (as the model answers such a value).
      const fallback = opts.fallback || status.fetchRejected === true || kept.recountFailed === true || !stateCurrent || kept.heldBack;
      return { recommendationId: randomUUID(), modelVersion: opts.modelVersion ?? null, strategy: 'popularity', fallback, items };
    },
    uncached,
    /**
     * The process closes: the background counts queued are not begun (nor any queued later), so none runs into the
     * pool's close. A count under way runs to its end (the pool's close waits for it, up to its statement limit).
     */
    stop(): void {
      stopped = true;
      for (const begin of queued.values()) begin();
    },
    /** Resolves once the counts running now have ended, those begun in the background included (for tests). */
    async settled(): Promise<void> {
      await Promise.allSettled([...counting]);
      // The cache takes a count's lists a few promise steps after it ends: once they have run.
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}
