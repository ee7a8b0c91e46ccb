import type { Gauge } from 'prom-client';
import { reportEvaluated, type ReportRepository, type StoredReport } from '../data/report-repository.js';
import type { ModelStore } from '../store/model-store.js';
import { METRIC_NAMES, type EvaluationReport } from './evaluation-report.js';

export interface EvaluationGaugeDeps {
  reports: Pick<ReportRepository, 'latestForRecipe'>;
  store: Pick<ModelStore, 'getActive'>;
  /** recsvc_evaluation_metric_ratio{strategy, metric, k, mode}. */
  gauge: Gauge<'strategy' | 'metric' | 'k' | 'mode'>;
  /**
   * How long a refresh from Postgres is reused (default 30 s): scrapes must not hammer the database. Only
   * while the active recipe stays the one it was loaded for: that is read from the model store at each refresh.
   */
  cacheMs?: number;
  log?: (msg: string, err?: unknown) => void;
}

export type EvaluationGauges = ReturnType<typeof createEvaluationGauges>;

/** Sets one gauge per row and metric of a report; metrics without a value (null) are left out. */
export function setReportGauges(gauge: EvaluationGaugeDeps['gauge'], report: EvaluationReport): void {
  gauge.reset();
  for (const row of report.rows) {
    for (const metric of METRIC_NAMES) {
      const value = row.metrics[metric];
      if (value !== null && Number.isFinite(value)) gauge.set({ strategy: row.strategy, metric, k: String(row.k), mode: row.mode }, value);
    }
  }
}

/**
 * The gauges show the latest stored report of the active model's recipe. They are refreshed from
 * Postgres before a scrape (at most every `cacheMs`), so a restart, a worker process running the
 * evaluation, or a rollback to a model of another recipe all show up without any extra wiring; an
 * evaluation finishing in this process sets them at once.
 */
export function createEvaluationGauges(deps: EvaluationGaugeDeps) {
  const cacheMs = deps.cacheMs ?? 30_000;
  let loadedAt = Number.NEGATIVE_INFINITY;
  /** The active recipe when the gauges were last loaded (null: no model). */
  let loadedFor: string | null = null;
  let shown: string | null = null;
  /** A refresh failed and was logged: the next failures are not, until one succeeds (a scrape every 15 s). */
  let failing = false;

  function show(stored: StoredReport | null): void {
    if (stored === null) {
      deps.gauge.reset();
      shown = null;
      return;
    }
    if (stored.id === shown) return;
    setReportGauges(deps.gauge, stored.report);
    shown = stored.id;
  }

  return {
    /** Loads the latest report of the active recipe into the gauges unless it was done for that recipe < cacheMs ago. Never rejects. */
    async refresh(force = false): Promise<void> {
      try {
        // A rollback to a version of another recipe is shown at the next scrape, beside the model gauges
        // that already name that recipe, not up to cacheMs later.
        const recipe = (await deps.store.getActive())?.recipe ?? null;
        if (!force && recipe === loadedFor && Date.now() - loadedAt < cacheMs) return;
        loadedAt = Date.now();
        loadedFor = recipe;
        show(recipe === null ? null : await deps.reports.latestForRecipe(recipe));
        if (failing) deps.log?.('the evaluation gauges are refreshed again');
        failing = false;
      } catch (err) {
        if (!failing) deps.log?.('could not refresh the evaluation gauges (said once until a refresh succeeds)', err);
        failing = true;
      }
    },

    /** A report was just stored: shown at once when it evaluated the active recipe. Never rejects. */
    async reportStored(stored: StoredReport): Promise<void> {
      try {
        const active = await deps.store.getActive();
        if (active && reportEvaluated(stored, active.recipe)) {
          show(stored);
          loadedAt = Date.now();
          loadedFor = active.recipe;
        }
      } catch (err) {
        deps.log?.('could not update the evaluation gauges', err);
      }
    },
  };
}
