import { z } from 'zod';
import type { Db } from './db.js';
import { returnedUnits } from './event-repository.js';
import { badCursor, cursorId, cursorMicros, cursorTag, decodeCursor, encodeCursor, listTag, microsOf, timestampOfMicros } from './list-cursor.js';

/** How much data the service holds: what the dashboard's overview shows first. */
export interface DataCounts {
  /** Catalogue items (bought or upserted). */
  items: number;
  /** Customers (users with purchases, feedback or attributes). */
  customers: number;
  purchases: number;
  /** Distinct order ids; purchases sent without an order id are in no order. */
  orders: number;
  feedback: number;
  /** Time of the first and the latest purchase; null without purchases. */
  firstPurchase: string | null;
  lastPurchase: string | null;
}

/** What one customer adds to DataCounts: their rows and the distinct order ids of their purchases. */
export interface CountsPart {
  customers: number;
  purchases: number;
  /** The distinct order ids of their purchases (an order is one customer's in every source we import). */
  orders: number;
  feedback: number;
}

/** What some customers add to DataCounts, each, and the first and latest purchase of the customers not named. */
export interface CountsOf {
  byCustomer: Map<string, CountsPart>;
  /** Null when no one else has a purchase. */
  othersFirstPurchase: string | null;
  othersLastPurchase: string | null;
}

/** One customer as a search lists them: enough to pick the right one. */
export interface CustomerSummary {
  id: string;
  purchases: number;
  orders: number;
  /** Sum of quantity x unit price over purchases with a price. */
  spend: number;
  lastPurchase: string | null;
}

export type CustomerSort = 'id' | 'spend' | 'recent';

const iso = (d: unknown) => (d === null || d === undefined ? null : d instanceof Date ? d.toISOString() : String(d));

/** `%` and `_` in a search are literal characters, not patterns. */
export const likePrefix = (q: string) => `${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const ORDER_BY: Record<CustomerSort, string> = {
  id: 'u.id',
  spend: 's.spend DESC NULLS LAST, u.id',
  recent: 's.last DESC NULLS LAST, u.id',
};

/** A page of the customer list, and the `cursor` of the page after it (null on the last page). */
export interface CustomerPage {
  customers: CustomerSummary[];
  nextCursor: string | null;
}

/**
 * What a cursor of the customer list holds: the sort, the search's tag (`q`), the last customer's key and id, and
 * (spend, recent) the time of the first page.
 */
const SEARCH_CURSOR = z.discriminatedUnion('s', [
  z.strictObject({ s: z.literal('id'), q: cursorTag, id: cursorId }),
  z.strictObject({ s: z.literal('spend'), q: cursorTag, k: z.number().nullable(), id: cursorId, at: cursorMicros }),
  z.strictObject({ s: z.literal('recent'), q: cursorTag, k: cursorMicros.nullable(), id: cursorId, at: cursorMicros }),
]);

/** The key the spend and recency orders sort on (null, no purchase: last). */
const SORT_KEY = { spend: 's.spend', recent: 's.last' } as const;

/**
 * Rows after the entry of key `k` (null: none) and id `id` in the order `key DESC NULLS LAST, u.id`: a
 * lower key, the same key and a later id, or no key at all (customers without purchases come last).
 */
function keyAfter(key: string, k: string | null, id: string): string {
  return k === null ? `(${key} IS NULL AND u.id > ${id})` : `(${key} < ${k} OR (${key} = ${k} AND u.id > ${id}) OR ${key} IS NULL)`;
}

/** The first `limit` rows of `limit + 1` read, as summaries, and the cursor of the last when more follow. */
function pageOfCustomers(rows: Record<string, unknown>[], limit: number, cursorOf: (last: Record<string, unknown>) => object): CustomerPage {
  const page = rows.slice(0, limit);
  return {
    customers: page.map((r) => ({
      id: r.id as string,
      purchases: (r.purchases as number | null) ?? 0,
      orders: (r.orders as number | null) ?? 0,
      spend: (r.spend as number | null) ?? 0,
      lastPurchase: iso(r.last),
    })),
    nextCursor: rows.length > limit ? encodeCursor(cursorOf(page[limit - 1])) : null,
  };
}

export type CustomerRepository = ReturnType<typeof createCustomerRepository>;

/**
 * A customer's spend: quantity x the unit price paid, or the catalogue's price when the purchase carries
 * none (prices are optional), to the cent; as the profiles' monetary counts it (profile.ts).
 */
const SPEND = 'round(coalesce(sum(p.quantity * coalesce(p.price, i.price)), 0)::numeric, 2)::float8';

/**
 * A customer's orders as their profile counts them (dataset.ts): distinct order ids, and each purchase time
 * of purchases sent without one (the lines of one basket share it).
 */
const ORDERS = 'count(DISTINCT (p.order_id, CASE WHEN p.order_id IS NULL THEN p.ts END))::int';

/**
 * Every customer's totals (purchases, orders, spend, last purchase) as ORDERS and SPEND count them, over the
 * purchases `where` keeps: first per order, then per customer. Both steps are hash aggregates over one scan of
 * the purchases; ORDERS' count(DISTINCT ...) per customer needs its input sorted by customer instead, which the
 * planner got by walking the (user_id, ts) index over every purchase, a random read each: 10.4-14.4 s at ten
 * times Online Retail, over PG_QUERY_TIMEOUT_MS, against 3.1 s so (bench/README "The customer list by spend at
 * ten times our data"). Same rows, spend to the cent included, on that data.
 */
const TOTALS_BY_ORDER = (where: string, purchases = 'purchase_events') => `
  SELECT o.user_id, sum(o.n)::int AS purchases, count(*)::int AS orders,
         round(coalesce(sum(o.spend), 0)::numeric, 2)::float8 AS spend, max(o.last) AS last
  FROM (SELECT p.user_id, count(*) AS n, sum(p.quantity * coalesce(p.price, i.price)) AS spend, max(p.ts) AS last
        FROM ${purchases} p LEFT JOIN items i ON i.id = p.item_id ${where}
        GROUP BY p.user_id, p.order_id, CASE WHEN p.order_id IS NULL THEN p.ts END) o
  GROUP BY o.user_id`;

/**
 * The purchases as profiles count them, net of returns (data/return-allocation.ts): `returned` holds the units the
 * returns take off each purchase (event-repository returnedUnits), `param` adds a query parameter. A purchase
 * returned whole is left out, one returned in part keeps its units kept. No returns: the table itself.
 */
function netPurchases(returned: { ids: string[]; units: number[] } | undefined, param: (v: unknown) => string): string {
  if (!returned || returned.ids.length === 0) return 'purchase_events';
  return `(SELECT p.event_id, p.user_id, p.item_id, p.order_id, p.ts, p.price, p.created_at, p.quantity - coalesce(r.n, 0) AS quantity
           FROM purchase_events p LEFT JOIN unnest(${param(returned.ids)}::text[], ${param(returned.units)}::int[]) AS r(id, n) ON r.id = p.event_id
           WHERE r.n IS NULL OR p.quantity > r.n)`;
}

/** Read-only views over customers and their purchases for the data team (the dashboard). */
export function createCustomerRepository(db: Db) {
  return {
    /**
     * Counts over the whole store, as three queries that a Postgres server runs side by side on its
     * pool's connections. Orders are counted as DISTINCT in a subquery: a hash aggregate, about three
     * times faster than count(DISTINCT) (a sort) on the 400k purchases of Online Retail.
     */
    async counts(): Promise<DataCounts> {
      const [small, purchases, orders] = await Promise.all([
        db.query<{ items: number; customers: number; feedback: number }>(
          `SELECT (SELECT count(*)::int FROM items) AS items, (SELECT count(*)::int FROM users) AS customers,
                  (SELECT count(*)::int FROM feedback_events) AS feedback`,
        ),
        db.query<{ n: number; first: unknown; last: unknown }>('SELECT count(*)::int AS n, min(ts) AS first, max(ts) AS last FROM purchase_events'),
        db.query<{ n: number }>('SELECT count(*)::int AS n FROM (SELECT DISTINCT order_id FROM purchase_events WHERE order_id IS NOT NULL) o'),
      ]);
      const r = small.rows[0];
      const p = purchases.rows[0];
      return {
        items: r.items,
        customers: r.customers,
        purchases: p.n,
        orders: orders.rows[0].n,
        feedback: r.feedback,
        firstPurchase: iso(p.first),
        lastPurchase: iso(p.last),
      };
    },

    /**
     * What each of the customers `userIds` adds to `counts` (see CountsOf), for an overview that leaves them out: their
     * rows read by the indexes on the customer (purchases by (user_id, ts), feedback by user_id, users by id), and the
     * first and latest purchase of the customers not in `without` (default `userIds`) by the index on ts (walked past
     * theirs). A few ms for a few customers, not a scan of the tables.
     */
    async countsOf(userIds: readonly string[], without: readonly string[] = userIds): Promise<CountsOf> {
      const [mine, others] = await Promise.all([
        db.query<{ id: string } & CountsPart>(
          `SELECT u.id,
                  (SELECT count(*)::int FROM users WHERE id = u.id) AS customers,
                  (SELECT count(*)::int FROM purchase_events WHERE user_id = u.id) AS purchases,
                  (SELECT count(DISTINCT order_id)::int FROM purchase_events WHERE user_id = u.id AND order_id IS NOT NULL) AS orders,
                  (SELECT count(*)::int FROM feedback_events WHERE user_id = u.id) AS feedback
           FROM unnest($1::text[]) AS u(id)`,
          [[...userIds]],
        ),
        db.query<{ first: unknown; last: unknown }>('SELECT min(ts) AS first, max(ts) AS last FROM purchase_events WHERE user_id <> ALL($1::text[])', [[...without]]),
      ]);
      const byCustomer = new Map(mine.rows.map((r) => [r.id, { customers: r.customers, purchases: r.purchases, orders: r.orders, feedback: r.feedback }]));
      return { byCustomer, othersFirstPurchase: iso(others.rows[0].first), othersLastPurchase: iso(others.rows[0].last) };
    },

    /**
     * Every customer's distinct purchase days (UTC day numbers, ascending) by customer id: the input of
     * lifecycle history (the ids let an erasure drop its customer). One row per customer with purchases;
     * a few MB for a shop's full history.
     */
    async purchaseDays(): Promise<Map<string, number[]>> {
      const { rows } = await db.query<{ user_id: string; days: number[] }>(
        // The distinct (customer, day) pairs first, a hash aggregate over one scan; array_agg(DISTINCT ...) per
        // customer needs its input sorted by customer, which the planner got by walking the (user_id, ts) index:
        // 7.9 s against 1.4 s at ten times Online Retail (bench/README "The customer list by spend at ten times our data").
        `SELECT user_id, array_agg(day ORDER BY day) AS days
         FROM (SELECT DISTINCT user_id, floor(extract(epoch FROM ts) / 86400)::int AS day FROM purchase_events) d GROUP BY user_id`,
      );
      return new Map(rows.map((r) => [r.user_id, r.days]));
    },

    /**
     * Customers whose id starts with `q` (case-insensitive; every customer when absent), with their
     * purchase totals (net of returns, as profiles count them: netPurchases), `limit` at a time, and the
     * `nextCursor` of the page after (null on the last). Sorted by spend or recency, every stored return is
     * allocated for each page (one read of the returns and of their pairs' purchases).
     * Sorting by spend or recency aggregates every matching customer's purchases, so `limit` bounds the
     * answer, not the work: fine for the thousands of customers of a shop's export. `offset` skips that many
     * in the same order (ids break ties); `cursor` (a page's `nextCursor`) starts strictly after that page's
     * last customer instead, so a list read while purchases arrive neither repeats nor skips anyone.
     *
     * Spend and recency change as customers buy: a customer of a later page whose purchase lifts them
     * above the cursor would be skipped even by the key. So the pages after the first count only the
     * purchases and customers stored (`created_at`) by the time the first page was read, which its cursor
     * carries on: the pages together are one list as of then. Not held still: purchases of a write still
     * open while the first page was read (an import's batch), or stored in the same clock tick just after
     * it (a microsecond; a millisecond on the embedded database), counted from the next page on, and a
     * purchase without a price whose item's catalogue price changes meanwhile. `without`: ids never listed; nor are
     * those whose erasure erasure_requests holds as owed when the page is read.
     */
    async search(opts: { q?: string; sort: CustomerSort; limit: number; offset?: number; cursor?: string; without?: readonly string[] }): Promise<CustomerPage> {
      const after = opts.cursor === undefined ? null : decodeCursor(opts.cursor, SEARCH_CURSOR);
      if (after && after.s !== opts.sort) throw badCursor(`a cursor of the list by ${after.s}, asked with sort=${opts.sort}`);
      const q = listTag(opts.q ?? '');
      if (after && after.q !== q) throw badCursor('a cursor of another search (q), asked with this one');
      const params: unknown[] = [opts.limit + 1, opts.offset ?? 0];
      const param = (v: unknown) => `$${params.push(v)}`;
      const filters = opts.q ? [`u.id ILIKE ${param(likePrefix(opts.q))}`] : [];
      // Left out before the page is cut (customers whose erasure is owed): pages stay whole, cursors unchanged.
      if (opts.without && opts.without.length > 0) filters.push(`u.id <> ALL (${param(opts.without)}::text[])`);
      // And those erasure_requests holds now, in the same statement: an erasure asked of another process that this one
      // has not read yet (its list learns of it within ERASURE_REFRESH_MS) is left out too.
      filters.push('NOT EXISTS (SELECT 1 FROM erasure_requests r WHERE r.user_id = u.id)');
      if (opts.sort === 'id') {
        if (after) filters.push(`u.id > ${param(after.id)}`);
        const where = filters.length ? `WHERE ${filters.join(' AND ')}` : '';
        // Ids first, totals only for the page: the lateral join reads each listed customer's rows by index, net
        // of the page's customers' returns.
        const { rows: page } = await db.query<{ id: string }>(`SELECT id FROM users u ${where} ORDER BY id LIMIT $1 OFFSET $2`, params);
        const ids = page.map((r) => r.id);
        const totals: unknown[] = [ids];
        const purchases = netPurchases(await returnedUnits(db, { userIds: ids }), (v) => `$${totals.push(v)}`);
        const { rows } = await db.query<Record<string, unknown>>(
          `SELECT u.id, s.* FROM unnest($1::text[]) AS u(id)
           LEFT JOIN LATERAL (SELECT count(*)::int AS purchases, ${ORDERS} AS orders,
                                     ${SPEND} AS spend, max(p.ts) AS last
                              FROM ${purchases} p LEFT JOIN items i ON i.id = p.item_id WHERE p.user_id = u.id) s ON true
           ORDER BY u.id`,
          totals,
        );
        return pageOfCustomers(rows, opts.limit, (last) => ({ s: 'id', q, id: last.id as string }));
      }
      const sort = opts.sort;
      // The cursor's sort is this one (checked above), so it holds a key and a time.
      const keyed = after as Extract<typeof after, { s: typeof sort }> | null;
      // The first page reads what is stored now (its statement's time, which the cursor keeps); the next ones, what was then.
      const asOf = keyed ? timestampOfMicros(param(keyed.at)) : 'now()';
      const stored = keyed ? `WHERE p.created_at <= ${asOf}` : '';
      if (keyed) {
        filters.push(`u.created_at <= ${asOf}`);
        filters.push(keyAfter(SORT_KEY[sort], keyed.k === null ? null : sort === 'spend' ? param(keyed.k) : timestampOfMicros(param(keyed.k)), param(keyed.id)));
      }
      const where = filters.length ? `WHERE ${filters.join(' AND ')}` : '';
      // Sorted by net spend or recency: every customer's returns are allocated first (returns read whole).
      const purchases = netPurchases(await returnedUnits(db, {}), param);
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT u.id, coalesce(s.purchases, 0) AS purchases, coalesce(s.orders, 0) AS orders, coalesce(s.spend, 0) AS spend, s.last,
                s.spend AS spend_key, ${microsOf('s.last')} AS last_key, ${microsOf(asOf)} AS as_of
         FROM users u LEFT JOIN (${TOTALS_BY_ORDER(stored, purchases)}) s ON s.user_id = u.id
         ${where} ORDER BY ${ORDER_BY[sort]} LIMIT $1 OFFSET $2`,
        params,
      );
      return pageOfCustomers(rows, opts.limit, (last) => ({
        s: sort,
        q,
        k: (sort === 'spend' ? last.spend_key : last.last_key) as number | null,
        id: last.id as string,
        at: last.as_of as number,
      }));
    },
  };
}
