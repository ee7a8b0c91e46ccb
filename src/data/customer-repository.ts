import type { Db } from './db.js';

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

export type CustomerRepository = ReturnType<typeof createCustomerRepository>;

/**
 * A customer's spend: quantity x the unit price paid, or the catalogue's price when the purchase carries
 * none (prices are optional), to the cent; as the profiles' monetary counts it (profile.ts).
 */
const SPEND = 'round(coalesce(sum(p.quantity * coalesce(p.price, i.price)), 0)::numeric, 2)::float8';

/** Read-only views over customers and their purchases for the data team (the dashboard). */
/**
 * A customer's orders as their profile counts them (dataset.ts): distinct order ids, and each purchase time
 * of purchases sent without one (the lines of one basket share it).
 */
const ORDERS = 'count(DISTINCT (p.order_id, CASE WHEN p.order_id IS NULL THEN p.ts END))::int';

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
     * Every customer's distinct purchase days (UTC day numbers, ascending) by customer id: the input of
     * lifecycle history (the ids let an erasure drop its customer). One row per customer with purchases;
     * a few MB for a shop's full history.
     */
    async purchaseDays(): Promise<Map<string, number[]>> {
      const { rows } = await db.query<{ user_id: string; days: number[] }>(
        `SELECT user_id, array_agg(DISTINCT floor(extract(epoch FROM ts) / 86400)::int ORDER BY floor(extract(epoch FROM ts) / 86400)::int) AS days FROM purchase_events GROUP BY user_id`,
      );
      return new Map(rows.map((r) => [r.user_id, r.days]));
    },

    /**
     * Customers whose id starts with `q` (case-insensitive; every customer when absent), with their
     * purchase totals. Sorting by spend or recency aggregates every matching customer's purchases, so
     * `limit` bounds the answer, not the work: fine for the thousands of customers of a shop's export. `offset`
     * skips that many in the same order (ids break ties, so pages neither overlap nor skip).
     */
    async search(opts: { q?: string; sort: CustomerSort; limit: number; offset?: number }): Promise<CustomerSummary[]> {
      const params: unknown[] = [opts.limit, opts.offset ?? 0];
      const where = opts.q ? `WHERE u.id ILIKE $${params.push(likePrefix(opts.q))}` : '';
      const { rows } = await db.query<Record<string, unknown>>(
        opts.sort === 'id'
          ? // Ids first, totals only for the page: the lateral join reads each listed customer's rows by index.
            `SELECT u.id, s.* FROM (SELECT id FROM users u ${where} ORDER BY id LIMIT $1 OFFSET $2) u
             LEFT JOIN LATERAL (SELECT count(*)::int AS purchases, ${ORDERS} AS orders,
                                       ${SPEND} AS spend, max(p.ts) AS last
                                FROM purchase_events p LEFT JOIN items i ON i.id = p.item_id WHERE p.user_id = u.id) s ON true
             ORDER BY u.id`
          : `SELECT u.id, coalesce(s.purchases, 0) AS purchases, coalesce(s.orders, 0) AS orders, coalesce(s.spend, 0) AS spend, s.last
             FROM users u LEFT JOIN (SELECT p.user_id, count(*)::int AS purchases, ${ORDERS} AS orders,
                                            ${SPEND} AS spend, max(p.ts) AS last
                                     FROM purchase_events p LEFT JOIN items i ON i.id = p.item_id GROUP BY p.user_id) s ON s.user_id = u.id
             ${where} ORDER BY ${ORDER_BY[opts.sort]} LIMIT $1 OFFSET $2`,
        params,
      );
      return rows.map((r) => ({
        id: r.id as string,
        purchases: r.purchases as number,
        orders: r.orders as number,
        spend: r.spend as number,
        lastPurchase: iso(r.last),
      }));
    },
  };
}
