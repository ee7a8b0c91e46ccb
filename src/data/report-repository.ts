import type { EvaluationReport } from '../evaluation/evaluation-report.js';
import { unknownCursor } from '../errors.js';
import type { Db } from './db.js';
import { pageOf } from './paging.js';

/** NDCG per strategy at one mode and k: what a listing shows of a report. */
export interface ReportHeadline {
  mode: string;
  k: number;
  /** Strategy -> NDCG@k, in the report's strategy order. */
  ndcg: Record<string, number | null>;
}

/** A stored evaluation report without its body. */
export interface ReportSummary {
  /** The id of the evaluation job that produced it. */
  id: string;
  createdAt: string;
  recipes: string[];
  /** The evaluation request as run (recipes, strategies, split, modes, ks), defaults filled in. */
  request: Record<string, unknown>;
  headline: ReportHeadline;
  /** Wall time of the run (load, fit, score) in milliseconds. */
  durationMs: number | null;
}

export interface StoredReport extends ReportSummary {
  report: EvaluationReport;
  /**
   * The names the evaluated recipes give themselves (their rows' strategy names), in the order of `recipes`
   * (file names); null for reports stored before these were recorded.
   */
  recipeNames: string[] | null;
}

export type NewReport = Omit<StoredReport, 'createdAt' | 'recipeNames'> & { recipeNames?: string[] };

/**
 * Whether a stored report evaluated the recipe a model records (the name the recipe gives itself): by the
 * names recorded with it, else (older reports) by the file names it was asked by. latestForRecipe agrees.
 */
export const reportEvaluated = (stored: Pick<StoredReport, 'recipes' | 'recipeNames'>, recipe: string): boolean => (stored.recipeNames ?? stored.recipes).includes(recipe);

/** One stored report's value of one metric for one strategy at one mode and k. */
export interface MetricPoint {
  id: string;
  createdAt: string;
  /** Start of the report's test period (null for splits without one). */
  cutoff: string | null;
  users: number;
  value: number | null;
}

export type ReportRepository = ReturnType<typeof createReportRepository>;

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : String(d));

const toSummary = (r: Record<string, unknown>): ReportSummary => ({
  id: r.id as string,
  createdAt: iso(r.created_at),
  recipes: r.recipes as string[],
  request: r.request as Record<string, unknown>,
  headline: r.headline as ReportHeadline,
  durationMs: (r.duration_ms as number | null) ?? null,
});

const toStored = (r: Record<string, unknown>): StoredReport => ({ ...toSummary(r), report: r.report as EvaluationReport, recipeNames: (r.recipe_names as string[] | null) ?? null });

const SUMMARY_COLUMNS = 'id, created_at, recipes, request, headline, duration_ms';

/** Evaluation reports in Postgres (table evaluation_reports), newest first wherever there is an order. */
export function createReportRepository(db: Db) {
  return {
    /**
     * Stores a report; storing the same id again replaces it (a retried job writes once) but keeps its first
     * created_at: lists order by it and page `after` a report's id, so a report moving to the top would send a
     * client paging after it back to the reports it has read.
     */
    async insert(r: NewReport): Promise<StoredReport> {
      const { rows } = await db.query(
        `INSERT INTO evaluation_reports (id, recipes, request, headline, report, duration_ms, recipe_names)
         VALUES ($1, $2::text[], $3, $4, $5, $6, $7::text[])
         ON CONFLICT (id) DO UPDATE SET recipes = EXCLUDED.recipes, request = EXCLUDED.request, headline = EXCLUDED.headline,
           report = EXCLUDED.report, duration_ms = EXCLUDED.duration_ms, recipe_names = EXCLUDED.recipe_names
         RETURNING *`,
        [r.id, r.recipes, JSON.stringify(r.request), JSON.stringify(r.headline), JSON.stringify(r.report), r.durationMs, r.recipeNames ?? null],
      );
      return toStored(rows[0]);
    },

    async get(id: string): Promise<StoredReport | null> {
      const { rows } = await db.query('SELECT * FROM evaluation_reports WHERE id = $1', [id]);
      return rows[0] ? toStored(rows[0]) : null;
    },

    /**
     * A page of summaries, newest first (ties by id), and how many reports there are in all. `after` (a
     * report's id) starts after that report, then `offset` skips that many; a 400 when no report has that id,
     * naming `afterParam` (the query parameter that gave it: `after`, or `cursor`). `next`: the next page's
     * `after`, null on the last page.
     */
    async list(page: { limit: number; offset: number; after?: string; afterParam?: 'after' | 'cursor' }): Promise<{ total: number; reports: ReportSummary[]; next: string | null }> {
      const [{ rows }, count] = await Promise.all([
        db.query(
          `WITH cursor AS (SELECT created_at, id FROM evaluation_reports WHERE id = $3)
           SELECT ${SUMMARY_COLUMNS} FROM evaluation_reports
           WHERE $3::text IS NULL
              OR created_at < (SELECT created_at FROM cursor)
              OR (created_at = (SELECT created_at FROM cursor) AND id > (SELECT id FROM cursor))
           ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`,
          [page.limit + 1, page.offset, page.after ?? null],
        ),
        db.query<{ n: number }>('SELECT count(*)::int AS n FROM evaluation_reports'),
      ]);
      if (page.after !== undefined && rows.length === 0) {
        const { rows: found } = await db.query('SELECT 1 FROM evaluation_reports WHERE id = $1', [page.after]);
        if (found.length === 0) throw unknownCursor(page.after, page.afterParam);
      }
      const { page: reports, next } = pageOf(rows.map(toSummary), page.limit);
      return { total: count.rows[0].n, reports, next };
    },

    /**
     * `metric` of `strategy` at (mode, k) in the newest `limit` reports that have such a row, oldest
     * first: a recipe's accuracy over time. Rows are picked inside the stored json (no body leaves the
     * database). `metric` must be a key the caller has checked (it is passed as a parameter anyway).
     */
    async metricHistory(q: { strategy: string; metric: string; mode: string; k: number; limit: number }): Promise<MetricPoint[]> {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT * FROM (
           SELECT r.id, r.created_at, r.report->'split'->>'cutoff' AS cutoff, (x.row->>'users')::int AS users,
                  (x.row->'metrics'->>$2)::float8 AS value
           FROM evaluation_reports r CROSS JOIN LATERAL json_array_elements(r.report->'rows') AS x(row)
           WHERE x.row->>'strategy' = $1 AND x.row->>'mode' = $3 AND (x.row->>'k')::int = $4
           ORDER BY r.created_at DESC, r.id LIMIT $5) h
         ORDER BY created_at, id`,
        [q.strategy, q.metric, q.mode, q.k, q.limit],
      );
      return rows.map((r) => ({
        id: r.id as string,
        createdAt: iso(r.created_at),
        cutoff: (r.cutoff as string | null) ?? null,
        users: r.users as number,
        value: (r.value as number | null) ?? null,
      }));
    },

    /**
     * The newest report that evaluated `recipe` (among others, possibly): the name a recipe gives itself, as a
     * model records it (see reportEvaluated: older reports by their file names).
     */
    async latestForRecipe(recipe: string): Promise<StoredReport | null> {
      const { rows } = await db.query('SELECT * FROM evaluation_reports WHERE $1 = ANY (COALESCE(recipe_names, recipes)) ORDER BY created_at DESC, id LIMIT 1', [recipe]);
      return rows[0] ? toStored(rows[0]) : null;
    },
  };
}
