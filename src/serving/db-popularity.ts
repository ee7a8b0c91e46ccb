/**
 * Popularity computed by Postgres: the answer when no model is active yet, and for `GET /v1/popular`
 * with a time window (the model's lists are not windowed). Never on a known user's request path.
 */
import type { Db } from '../data/db.js';
import { popularPhrase, roundScore, type Recommendation, type RecommendedItem } from './recommendation.js';
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
  AND ($5::text IS NULL OR $5 = ANY (i.categories))
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
  AND ($2::text IS NULL OR $2 = ANY (i.categories))
  AND ($3::float8 IS NULL OR i.price >= $3)
  AND ($4::float8 IS NULL OR i.price <= $4)
  AND NOT (i.id = ANY ($5::text[]))
  AND ($6::text IS NULL OR NOT EXISTS (SELECT 1 FROM purchase_events b WHERE b.user_id = $6 AND b.item_id = i.id))
ORDER BY i.id
LIMIT $1`;

export type DbPopularity = ReturnType<typeof createDbPopularity>;

export function createDbPopularity(db: Db) {
  async function top(q: DbPopularityQuery, attribute: DbPopularityQuery['attribute'], exclude: string[], k: number): Promise<Row[]> {
    const { rows } = await db.query<Row>(TOP_SQL, [
      k,
      attribute?.name ?? null,
      attribute?.value ?? null,
      q.windowDays ?? null,
      q.category ?? null,
      q.minPrice ?? null,
      q.maxPrice ?? null,
      exclude,
      q.excludeBoughtBy ?? null,
    ]);
    return rows;
  }

  return {
    /**
     * Top k: the attribute's buyers first, then all buyers, then never-bought items; each item explained
     * by the list it came from ("popular in France", "popular overall").
     */
    async recommend(q: DbPopularityQuery, opts: { modelVersion?: string | null; fallback: boolean }): Promise<Recommendation> {
      const items: RecommendedItem[] = [];
      const exclude = [...(q.exclude ?? [])];
      const window = q.windowDays !== undefined ? ` in the last ${q.windowDays} days` : '';
      const add = (rows: Row[], explanation?: string) => {
        for (const r of rows) {
          exclude.push(r.id);
          const item: RecommendedItem = { itemId: r.id, score: roundScore(r.buyers), sources: ['popularity'] };
          if (explanation) item.explanation = explanation;
          if (r.title) item.title = r.title;
          items.push(item);
        }
      };
      if (q.attribute) add(await top(q, q.attribute, exclude, q.k), popularPhrase(q.attribute) + window);
      if (items.length < q.k) add(await top(q, undefined, exclude, q.k - items.length), popularPhrase(undefined) + window);
      if (items.length < q.k) {
        const { rows } = await db.query<Row>(REST_SQL, [
          q.k - items.length,
          q.category ?? null,
          q.minPrice ?? null,
          q.maxPrice ?? null,
          exclude,
          q.excludeBoughtBy ?? null,
        ]);
        add(rows);
      }
      return { recommendationId: randomUUID(), modelVersion: opts.modelVersion ?? null, strategy: 'popularity', fallback: opts.fallback, items };
    },
  };
}
