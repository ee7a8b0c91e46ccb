import type { Gauge } from 'prom-client';
import type { Db } from '../data/db.js';

/** Feedback counts of one strategy over a window: every event counts (not distinct users or items). */
export interface FeedbackCounts {
  /** The strategy the client reported with the feedback; null for feedback sent without one. */
  strategy: string | null;
  impressions: number;
  clicks: number;
  addToCart: number;
  purchases: number;
}

export interface StrategyRates extends FeedbackCounts {
  /** clicks / impressions; null without impressions. */
  ctr: number | null;
  /** purchases / impressions (purchase feedback events, not purchase_events); null without impressions. */
  conversion: number | null;
}

export interface OnlineMetricsReport {
  days: number;
  /** Start of the window (ISO): feedback with ts >= since and <= the time of the query is counted. */
  since: string;
  strategies: StrategyRates[];
}

/** Rates from counts. Event ratios, so a client sending clicks without impressions can push them above 1. */
export function strategyRates(c: FeedbackCounts): StrategyRates {
  const per = (n: number) => (c.impressions > 0 ? n / c.impressions : null);
  return { ...c, ctr: per(c.clicks), conversion: per(c.purchases) };
}

/** Window of the Prometheus gauges. */
export const GAUGE_WINDOW_DAYS = 30;
/** Strategies are client-supplied text: only the busiest become gauge labels, so the series stay bounded. */
export const GAUGE_MAX_STRATEGIES = 20;
/** Label of feedback sent without a strategy. */
export const NO_STRATEGY_LABEL = 'none';

const COUNTS_SQL = `
SELECT strategy,
       count(*) FILTER (WHERE type = 'impression')::int AS impressions,
       count(*) FILTER (WHERE type = 'click')::int AS clicks,
       count(*) FILTER (WHERE type = 'add_to_cart')::int AS add_to_cart,
       count(*) FILTER (WHERE type = 'purchase')::int AS purchases
FROM feedback_events
WHERE ts >= $1
GROUP BY strategy
ORDER BY impressions DESC, strategy NULLS LAST`;

export type OnlineMetrics = ReturnType<typeof createOnlineMetrics>;

/**
 * Online metrics from feedback events: per strategy counts and click-through and conversion rates over
 * the last N days, for GET /v1/metrics/online and the recsvc_feedback_rate_ratio gauges (refreshed
 * before a scrape, reusing one query for `cacheMs`).
 */
export function createOnlineMetrics(deps: {
  db: Db;
  /** recsvc_feedback_rate_ratio{strategy, rate}. */
  gauge?: Gauge<'strategy' | 'rate'>;
  cacheMs?: number;
  now?: () => Date;
  log?: (msg: string, err?: unknown) => void;
}) {
  const cacheMs = deps.cacheMs ?? 30_000;
  const now = deps.now ?? (() => new Date());
  let refreshedAt = Number.NEGATIVE_INFINITY;

  async function report(days: number): Promise<OnlineMetricsReport> {
    const since = new Date(now().getTime() - days * 86_400_000);
    const { rows } = await deps.db.query<{ strategy: string | null; impressions: number; clicks: number; add_to_cart: number; purchases: number }>(
      COUNTS_SQL,
      [since.toISOString()],
    );
    const strategies = rows.map((r) =>
      strategyRates({ strategy: r.strategy, impressions: r.impressions, clicks: r.clicks, addToCart: r.add_to_cart, purchases: r.purchases }),
    );
    return { days, since: since.toISOString(), strategies };
  }

  return {
    report,

    /** Sets the gauges from the last GAUGE_WINDOW_DAYS unless done < cacheMs ago. Never rejects. */
    async refreshGauges(): Promise<void> {
      const gauge = deps.gauge;
      if (!gauge || Date.now() - refreshedAt < cacheMs) return;
      refreshedAt = Date.now();
      try {
        const { strategies } = await report(GAUGE_WINDOW_DAYS);
        gauge.reset();
        for (const s of strategies.slice(0, GAUGE_MAX_STRATEGIES)) {
          const strategy = s.strategy ?? NO_STRATEGY_LABEL;
          if (s.ctr !== null) gauge.set({ strategy, rate: 'ctr' }, s.ctr);
          if (s.conversion !== null) gauge.set({ strategy, rate: 'conversion' }, s.conversion);
        }
      } catch (err) {
        deps.log?.('could not refresh the feedback rate gauges', err);
      }
    },
  };
}
