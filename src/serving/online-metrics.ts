import type { Gauge } from 'prom-client';
import type { Db } from '../data/db.js';
import { countDays, countedCte, countedSpan, uncountedDays } from '../data/feedback-rollup.js';
import { retentionCutoff } from '../data/feedback-retention.js';
import type { ArmDefinition, ExperimentRepository } from '../data/experiment-repository.js';
import { customerRatioTest, type CustomerSums, overLooks, type SampleRatioTest, type SequentialTest, sampleRatioTest } from '../evaluation/significance.js';
import { type LookMetric, type LooksSoFar, readLooks, recordLooks } from '../data/experiment-looks.js';

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

export interface ArmResults extends ArmDefinition, Omit<StrategyRates, 'strategy'> {
  /** Distinct customers with feedback on this arm in the window: the samples of the tests. */
  customers: number;
  /** This arm against the first (control) arm, customers as the unit (customerRatioTest); null for the control. */
  vsControl: { ctr: SequentialTest | null; conversion: SequentialTest | null } | null;
}

export interface ExperimentResults {
  id: string;
  active: boolean;
  /** When it started and stopped (ISO): a window from before `createdAt` holds all of its feedback. */
  createdAt: string;
  stoppedAt: string | null;
  /**
   * The tests read all of its feedback: the window starts at or before both its start and its earliest
   * feedback (feedback may be dated before the experiment: a client's clock, a backend's own times), and no
   * feedback of it has been deleted (FEEDBACK_RETENTION_DAYS). `anytimeP` and its interval assume it, and
   * only then is a report a look at it (experiment-looks.ts); without it, read `p`.
   */
  fromStart: boolean;
  /** Its earliest feedback (ISO; null without any): a window from before it and `createdAt` holds all of it. */
  firstFeedbackAt: string | null;
  /** The retention sweep has deleted some of its feedback (FEEDBACK_RETENTION_DAYS): no report holds it from its start. */
  feedbackTrimmed: boolean;
  /**
   * Treatments compared with the control (arms - 1): each arm's tests (p, any-time p, intervals) are adjusted
   * for them (Bonferroni), so the chance that any arm shows a difference that is not there stays at most 5%.
   * CTR and conversion are not adjusted for each other: decide on one, chosen before the experiment.
   */
  comparisons: number;
  /** In the experiment's order, the control first. */
  arms: ArmResults[];
  /** Do the arms hold customers in their shares (sampleRatioTest)? Null with no customers. */
  sampleRatio: SampleRatioTest | null;
}

export interface OnlineMetricsReport {
  days: number;
  /** Start of the window (ISO): feedback with ts >= since and <= the time of the query is counted. */
  since: string;
  /**
   * Feedback dated before this (ISO, a UTC day's start) is deleted (FEEDBACK_RETENTION_DAYS, each hour): null
   * when the window starts after it.
   */
  keptSince: string | null;
  strategies: StrategyRates[];
  /** Every experiment, newest first, with the feedback of the window that names it and one of its arms. */
  experiments: ExperimentResults[];
  /** Per campaign (feedback sent with a campaignId, e.g. from an export), busiest first. */
  campaigns: CampaignRates[];
  /**
   * Per model version of the lists the feedback is about (read from the signed recommendationId it names),
   * busiest first: a version against the one before it, for a rollback decided on numbers. `modelVersion`
   * null: feedback naming no id the service signed (none, an older UUID, a made-up one), or a list answered
   * before a first training.
   */
  modelVersions: ModelVersionRates[];
}

export interface ModelVersionRates extends Omit<StrategyRates, 'strategy'> {
  modelVersion: string | null;
}

export interface CampaignRates extends Omit<StrategyRates, 'strategy'> {
  campaignId: string;
}

type Counts = Omit<FeedbackCounts, 'strategy'>;

/**
 * One arm's feedback in a window, summed over its customers: the event counts, and for the tests, per customer
 * c_i impressions n_i, clicks k_i and purchase events b_i each at most n_i (ARM_CUSTOMERS_SQL), their
 * sums and the sums of n_i^2, k_i^2, b_i^2, n_i k_i and n_i b_i.
 */
export interface ArmCustomerSums extends Counts {
  customers: number;
  /** Clicks and purchase events counted by the tests: each customer's at most their impressions. */
  testedClicks: number;
  testedPurchases: number;
  impressionsSquared: number;
  clicksSquared: number;
  purchasesSquared: number;
  impressionsClicks: number;
  impressionsPurchases: number;
}

const NO_SUMS: ArmCustomerSums = {
  customers: 0,
  impressions: 0,
  clicks: 0,
  addToCart: 0,
  purchases: 0,
  testedClicks: 0,
  testedPurchases: 0,
  impressionsSquared: 0,
  clicksSquared: 0,
  purchasesSquared: 0,
  impressionsClicks: 0,
  impressionsPurchases: 0,
};

const clickSums = (s: ArmCustomerSums): CustomerSums => ({
  customers: s.customers,
  trials: s.impressions,
  successes: s.testedClicks,
  trialsSquared: s.impressionsSquared,
  successesSquared: s.clicksSquared,
  crossProducts: s.impressionsClicks,
});

const purchaseSums = (s: ArmCustomerSums): CustomerSums => ({
  customers: s.customers,
  trials: s.impressions,
  successes: s.testedPurchases,
  trialsSquared: s.impressionsSquared,
  successesSquared: s.purchasesSquared,
  crossProducts: s.impressionsPurchases,
});

/**
 * Rates per arm and, for every arm after the first, tests of its CTR and conversion against the first
 * arm's with the customer as the unit (customerRatioTest): a customer's events are not independent, so an
 * event-level test would call chance differences significant, and one customer sending many clicks would
 * move it as much as many customers each sending one. With several treatments, each test is adjusted for
 * their number (`comparisons`).
 */
export function experimentResults(
  e: { id: string; active: boolean; arms: ArmDefinition[]; createdAt: string; stoppedAt: string | null },
  sumsOf: (arm: string) => ArmCustomerSums | undefined,
  /** The feedback read holds all of the experiment's (ExperimentResults.fromStart). */
  fromStart: boolean,
  firstFeedbackAt: string | null = null,
  feedbackTrimmed = false,
): ExperimentResults {
  const sums = e.arms.map((a) => sumsOf(a.name) ?? NO_SUMS);
  const control = sums[0];
  // Every treatment is compared with the control: the tests are adjusted for how many there are.
  const comparisons = Math.max(1, e.arms.length - 1);
  return {
    id: e.id,
    active: e.active,
    createdAt: e.createdAt,
    stoppedAt: e.stoppedAt,
    fromStart,
    firstFeedbackAt,
    feedbackTrimmed,
    comparisons,
    arms: e.arms.map((a, i) => {
      const s = sums[i];
      const { strategy: _, ...rates } = strategyRates({ strategy: a.strategy, impressions: s.impressions, clicks: s.clicks, addToCart: s.addToCart, purchases: s.purchases });
      const vsControl =
        i === 0 ? null : { ctr: customerRatioTest(clickSums(control), clickSums(s), { comparisons }), conversion: customerRatioTest(purchaseSums(control), purchaseSums(s), { comparisons }) };
      return { ...a, ...rates, customers: s.customers, vsControl };
    }),
    sampleRatio: sampleRatioTest(
      sums.map((s) => s.customers),
      e.arms.map((a) => a.share),
    ),
  };
}

/** Rates from counts. Event ratios, so a client sending clicks without impressions can push them above 1. */
export function strategyRates(c: FeedbackCounts): StrategyRates {
  const per = (n: number) => (c.impressions > 0 ? n / c.impressions : null);
  return { ...c, ctr: per(c.clicks), conversion: per(c.purchases) };
}

/** Window of the Prometheus gauges. */
export const GAUGE_WINDOW_DAYS = 30;
/** The longest window a report may ask for (days). */
export const LONGEST_WINDOW_DAYS = 365;
/** Strategies are client-supplied text: only the busiest become gauge labels, so the series stay bounded. */
export const GAUGE_MAX_STRATEGIES = 20;
/**
 * Gauge label of feedback sent without a strategy: empty, which Prometheus reads as no strategy label at all
 * (select it with `strategy=""`). A client may send any strategy name of up to 64 characters (a write key's
 * is stored as sent), so any other value could be a real strategy's and the two would overwrite each
 * other's series; an empty strategy name says no more than none and shares the series.
 */
export const NO_STRATEGY_LABEL = '';

/** Strategy rates by gauge label, in the order first met: feedback without a strategy and with an empty one are one. */
function byGaugeLabel(rates: readonly StrategyRates[]): Map<string, StrategyRates> {
  const labelled = new Map<string, StrategyRates>();
  for (const r of rates) {
    const label = r.strategy || NO_STRATEGY_LABEL;
    const had = labelled.get(label);
    const sum = (k: 'impressions' | 'clicks' | 'addToCart' | 'purchases') => (had?.[k] ?? 0) + r[k];
    labelled.set(label, had ? strategyRates({ strategy: label, impressions: sum('impressions'), clicks: sum('clicks'), addToCart: sum('addToCart'), purchases: sum('purchases') }) : r);
  }
  return labelled;
}

/** The four counts every breakdown reports, summed over `counted` (feedback-rollup.ts), as SQL select columns. */
const TYPE_COUNTS = ['impressions', 'clicks', 'add_to_cart', 'purchases'].map((name) => `sum(${name})::float8 AS ${name}`).join(',\n       ');

/**
 * The report's breakdowns per strategy, per campaign and per model version in one pass over the window (GROUPING SETS): the
 * open days' events are read once, not once per breakdown. `set` names the breakdown of a row; each is
 * ordered busiest first.
 */
const breakdownsSql = (cte: string) => `
WITH ${cte}
SELECT CASE WHEN GROUPING(strategy) = 0 THEN 'strategy' WHEN GROUPING(campaign_id) = 0 THEN 'campaign' ELSE 'model' END AS set,
       strategy, campaign_id, model_version,
       ${TYPE_COUNTS}
FROM counted
GROUP BY GROUPING SETS ((strategy), (campaign_id), (model_version))
ORDER BY 1, impressions DESC, strategy NULLS LAST, campaign_id, model_version NULLS LAST`;

/**
 * Each experiment's earliest feedback (null without any), one index probe each (migration 020's
 * feedback_events_experiment_first): a report is a look at an experiment only if its window holds it.
 */
const FIRST_FEEDBACK_SQL = `
SELECT e.id, EXISTS (SELECT 1 FROM experiment_feedback_trimmed t WHERE t.experiment_id = e.id) AS trimmed,
       (SELECT min(f.ts) FROM feedback_events f WHERE f.experiment_id = e.id) AS first
FROM experiments e`;

/** Postgres's work_mem for the report's statements: room for the arms' per-customer groups (about 100 bytes each). */
const ARMS_WORK_MEM = '32MB';

/**
 * Per experiment arm, its feedback since $1 summed over its customers (ArmCustomerSums). The tests need
 * each customer's counts over the whole window, which the daily counts cannot give (a customer's days do
 * not add up to squares of their sums): this reads the window's experiment events themselves.
 */
export const ARM_CUSTOMERS_SQL = `
SELECT experiment_id, arm, count(*)::float8 AS customers,
       sum(n) AS impressions, sum(k) AS clicks, sum(a) AS add_to_cart, sum(b) AS purchases,
       sum(least(k, n)) AS tested_clicks, sum(least(b, n)) AS tested_purchases,
       sum(n * n) AS nn, sum(least(k, n) ^ 2) AS kk, sum(least(b, n) ^ 2) AS bb, sum(n * least(k, n)) AS nk, sum(n * least(b, n)) AS nb
FROM (
  SELECT experiment_id, arm, user_id,
         count(*) FILTER (WHERE type = 'impression')::float8 AS n, count(*) FILTER (WHERE type = 'click')::float8 AS k,
         count(*) FILTER (WHERE type = 'add_to_cart')::float8 AS a, count(*) FILTER (WHERE type = 'purchase')::float8 AS b
  FROM feedback_events
  WHERE experiment_id IS NOT NULL AND ts >= $1::timestamptz
  GROUP BY experiment_id, arm, user_id
) per_customer
GROUP BY experiment_id, arm`;

/**
 * Counts per UTC day, strategy and experiment arm over the window, each row saying whether its strategy is
 * one of the GAUGE_MAX_STRATEGIES with the most impressions in the window (`top`): strategies are
 * client-supplied text, and only those get rows of their own; every experiment arm does.
 */
const dailySql = (cte: string) => `
WITH ${cte},
top AS (
  SELECT strategy FROM counted
  GROUP BY strategy ORDER BY sum(impressions) DESC, strategy NULLS LAST LIMIT ${GAUGE_MAX_STRATEGIES}
)
SELECT to_char(c.day, 'YYYY-MM-DD') AS day, c.strategy, c.experiment_id, c.arm,
       (c.strategy IN (SELECT strategy FROM top) OR (c.strategy IS NULL AND EXISTS (SELECT 1 FROM top WHERE strategy IS NULL))) AS top,
       ${TYPE_COUNTS.replaceAll('sum(', 'sum(c.')}
FROM counted c
WHERE c.experiment_id IS NOT NULL OR c.strategy IN (SELECT strategy FROM top) OR (c.strategy IS NULL AND EXISTS (SELECT 1 FROM top WHERE strategy IS NULL))
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1, 2 NULLS LAST, 3 NULLS FIRST, 4`;

/** Rates of one UTC day: per strategy (experimentId and arm null) or per experiment arm. */
export interface DailyRates extends StrategyRates {
  day: string;
  experimentId: string | null;
  arm: string | null;
}

export interface DailyOnlineMetrics {
  days: number;
  since: string;
  /** Per day: one row per strategy (all its feedback), then one per experiment arm (feedback that named it). */
  rows: DailyRates[];
}

export type OnlineMetrics = ReturnType<typeof createOnlineMetrics>;

/**
 * Online metrics from feedback events: per strategy counts and click-through and conversion rates over
 * the last N days, for GET /v1/metrics/online and the recsvc_feedback_rate_ratio gauges (refreshed
 * before a scrape, reusing one query for `cacheMs`).
 */
export function createOnlineMetrics(deps: {
  db: Db;
  /** The experiments whose arms are reported (none without). */
  experiments?: Pick<ExperimentRepository, 'list'>;
  /** FEEDBACK_RETENTION_DAYS: feedback older than this is deleted (0 or none: kept for ever). */
  retentionDays?: number;
  /** recsvc_feedback_rate_ratio{strategy, rate}. */
  gauge?: Gauge<'strategy' | 'rate'>;
  cacheMs?: number;
  now?: () => Date;
  log?: (msg: string, err?: unknown) => void;
}) {
  const cacheMs = deps.cacheMs ?? 30_000;
  const now = deps.now ?? (() => new Date());
  let refreshedAt = Number.NEGATIVE_INFINITY;

  /** The window's start and its closed days' span, once those days are counted. */
  async function window(days: number): Promise<{ since: Date; span: { from: Date; to: Date } }> {
    const at = now();
    const since = new Date(at.getTime() - days * 86_400_000);
    const span = countedSpan(since, at);
    await countDays(deps.db, span.from, span.to);
    return { since, span };
  }

  /**
   * Runs `fn` in one read-only snapshot (REPEATABLE READ) with the window's `counted` CTE as that snapshot
   * sees the counts: what it reads of the counts and of the events agrees, whatever is written meanwhile.
   */
  function inSnapshot<T>(w: { since: Date; span: { from: Date; to: Date } }, fn: (tx: Db, cte: { sql: string; params: string[] }) => Promise<T>, workMem = false): Promise<T> {
    return deps.db.transaction(async (tx) => {
      await tx.exec('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      // The arms' sums per customer group in memory: with the default 4 MB they were sorted on disk (a 90-day
      // window at ten times Online Retail 980 ms, 220 ms with this; bench/README "A/B tests over customers").
      if (workMem && deps.db.kind === 'postgres') await tx.exec(`SET LOCAL work_mem = '${ARMS_WORK_MEM}'`);
      return fn(tx, countedCte(w.since, w.span, await uncountedDays(tx, w.span.from, w.span.to)));
    });
  }

  type Breakdown = { set: 'strategy' | 'campaign' | 'model'; strategy: string | null; campaign_id: string | null; model_version: string | null; impressions: number; clicks: number; add_to_cart: number; purchases: number };
  const counts = (r: Breakdown): Counts => ({ impressions: r.impressions, clicks: r.clicks, addToCart: r.add_to_cart, purchases: r.purchases });

  /** The window's strategies, busiest first. */
  async function strategies(days: number): Promise<StrategyRates[]> {
    const rows = await inSnapshot(await window(days), async (tx, cte) => (await tx.query<Breakdown>(breakdownsSql(cte.sql), cte.params)).rows);
    return rows.filter((r) => r.set === 'strategy').map((r) => strategyRates({ strategy: r.strategy, ...counts(r) }));
  }

  async function report(days: number): Promise<OnlineMetricsReport> {
    const w = await window(days);
    const since = w.since;
    type ArmRow = { experiment_id: string; arm: string | null; customers: number; impressions: number; clicks: number; add_to_cart: number; purchases: number; tested_clicks: number; tested_purchases: number; nn: number; kk: number; bb: number; nk: number; nb: number };
    // The strategies (from the daily counts), the arms (from the events), each experiment's earliest feedback
    // and the looks at it so far, of one snapshot: feedback stored between two statements would be in one and
    // not the other.
    const counted = inSnapshot(
      w,
      async (tx, cte) => {
        const breakdowns = await tx.query<Breakdown>(breakdownsSql(cte.sql), cte.params);
        const arms = await tx.query<ArmRow>(ARM_CUSTOMERS_SQL, [since.toISOString()]);
        const first = await tx.query<{ id: string; trimmed: boolean; first: Date | null }>(FIRST_FEEDBACK_SQL);
        const looks = await readLooks(tx, first.rows.map((r) => r.id));
        return [breakdowns.rows, arms.rows, new Map(first.rows.map((r) => [r.id, { trimmed: r.trimmed, first: r.first === null ? null : new Date(r.first) }])), looks] as const;
      },
      true,
    );
    const [[rows, armRows, firstFeedback, looksSoFar], experiments] = await Promise.all([counted, deps.experiments?.list() ?? []]);
    // The sweep deletes whole UTC days (feedback-retention.ts retentionCutoff).
    const kept = deps.retentionDays ? retentionCutoff(now(), deps.retentionDays) : null;
    const keptSince = kept !== null && kept > since ? kept : null;
    const fromStart = (e: { createdAt: string }, { first, trimmed }: { first: Date | null; trimmed: boolean }) => {
      const start = Math.min(Date.parse(e.createdAt), first?.getTime() ?? Number.POSITIVE_INFINITY);
      return !trimmed && start >= since.getTime() && (keptSince === null || start >= keptSince.getTime());
    };
    // A row without an arm (none can be written since migration 017, and the API never wrote one) is no arm's.
    const byArm = new Map<string, ArmCustomerSums>(
      armRows.filter((r) => r.arm !== null).map((r) => [
        `${r.experiment_id}\u0000${r.arm}`,
        {
          customers: r.customers,
          impressions: r.impressions,
          clicks: r.clicks,
          addToCart: r.add_to_cart,
          purchases: r.purchases,
          testedClicks: r.tested_clicks,
          testedPurchases: r.tested_purchases,
          impressionsSquared: r.nn,
          clicksSquared: r.kk,
          purchasesSquared: r.bb,
          impressionsClicks: r.nk,
          impressionsPurchases: r.nb,
        },
      ]),
    );
    return {
      days,
      since: since.toISOString(),
      keptSince: keptSince?.toISOString() ?? null,
      strategies: rows.filter((r) => r.set === 'strategy').map((r) => strategyRates({ strategy: r.strategy, ...counts(r) })),
      experiments: await withLooks(
        experiments.map((e) => {
          const feedback = firstFeedback.get(e.id) ?? { first: null, trimmed: false };
          return experimentResults(e, (arm) => byArm.get(`${e.id}\u0000${arm}`), fromStart(e, feedback), feedback.first?.toISOString() ?? null, feedback.trimmed);
        }),
        looksSoFar,
      ),
      campaigns: rows
        .filter((r) => r.set === 'campaign' && r.campaign_id !== null)
        .map((r) => {
          const { strategy: _, ...rates } = strategyRates({ strategy: null, ...counts(r) });
          return { campaignId: r.campaign_id!, ...rates };
        }),
      modelVersions: rows
        .filter((r) => r.set === 'model')
        .map((r) => {
          const { strategy: _, ...rates } = strategyRates({ strategy: null, ...counts(r) });
          return { modelVersion: r.model_version, ...rates };
        }),
    };
  }

  /** CTR and conversion per day, per strategy and per experiment arm: how they move over time. */
  async function daily(days: number): Promise<DailyOnlineMetrics> {
    const w = await window(days);
    const since = w.since;
    type Row = { day: string; strategy: string | null; experiment_id: string | null; arm: string | null; top: boolean; impressions: number; clicks: number; add_to_cart: number; purchases: number };
    const rows = await inSnapshot(w, async (tx, cte) => (await tx.query<Row>(dailySql(cte.sql), cte.params)).rows);
    // A day's strategy row sums its arm rows and its rows outside experiments (top strategies only); an arm's
    // row sums its feedback whatever strategy each list carried (a hybrid arm's cold-start customers get
    // popularity lists), with the strategy when there was one, else null.
    const strategyTotals = new Map<string, DailyRates>();
    const armTotals = new Map<string, DailyRates & { strategies: Set<string | null> }>();
    const add = (t: Counts, r: Row) => {
      t.impressions += r.impressions;
      t.clicks += r.clicks;
      t.addToCart += r.add_to_cart;
      t.purchases += r.purchases;
    };
    const empty = { impressions: 0, clicks: 0, addToCart: 0, purchases: 0, ctr: null, conversion: null };
    for (const r of rows) {
      if (r.top) {
        const key = `${r.day}\u0000${r.strategy ?? ''}\u0000${r.strategy === null ? 1 : 0}`;
        const t = strategyTotals.get(key) ?? { day: r.day, strategy: r.strategy, experimentId: null, arm: null, ...empty };
        add(t, r);
        strategyTotals.set(key, t);
      }
      if (r.experiment_id !== null) {
        const key = `${r.day}\u0000${r.experiment_id}\u0000${r.arm}`;
        const a = armTotals.get(key) ?? { day: r.day, strategy: null, experimentId: r.experiment_id, arm: r.arm, ...empty, strategies: new Set() };
        add(a, r);
        a.strategies.add(r.strategy);
        armTotals.set(key, a);
      }
    }
    const strategyRows = [...strategyTotals.values()].map((t) => ({ ...t, ...strategyRates(t) }));
    const armRows = [...armTotals.values()]
      .map(({ strategies, ...a }) => ({ ...a, ...strategyRates({ ...a, strategy: strategies.size === 1 ? [...strategies][0] : null }) }))
      .sort((a, b) => {
        const [x, y] = [`${a.experimentId}\u0000${a.arm ?? ''}`, `${b.experimentId}\u0000${b.arm ?? ''}`];
        return x < y ? -1 : x > y ? 1 : 0;
      });
    return { days, since: since.toISOString(), rows: [...strategyRows, ...armRows].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0)) };
  }

  /**
   * The always-valid answers of the experiments' tests over every look so far: a report that reads an
   * experiment from its start is a look, recorded (experiment-looks.ts) and shown with the looks before it
   * (overLooks). A report that does not (fromStart false) shows its own, unrecorded. Recording failing loses
   * that look only (logged); the report is answered.
   */
  async function withLooks(results: ExperimentResults[], soFar: LooksSoFar[]): Promise<ExperimentResults[]> {
    const before = new Map(soFar.map((l) => [`${l.experimentId}\u0000${l.arm}\u0000${l.metric}`, l]));
    const looks: LooksSoFar[] = [];
    const combined = results.map((e) => {
      if (!e.fromStart) return e;
      const arms = e.arms.map((a) => {
        if (a.vsControl === null) return a;
        const tested = (metric: LookMetric, test: SequentialTest | null) => {
          if (test === null) return null;
          if (test.anytimeP !== null && test.anytimeLow !== null && test.anytimeHigh !== null) {
            looks.push({ experimentId: e.id, arm: a.name, metric, anytimeP: test.anytimeP, anytimeLow: test.anytimeLow, anytimeHigh: test.anytimeHigh });
          }
          // Also when this look has no any-time answer (an erasure left an arm under ANYTIME_MIN_CUSTOMERS): a
          // crossing kept stays.
          const earlier = before.get(`${e.id}\u0000${a.name}\u0000${metric}`);
          return earlier ? overLooks([{ ...test, anytimeP: earlier.anytimeP, anytimeLow: earlier.anytimeLow, anytimeHigh: earlier.anytimeHigh }, test]) : test;
        };
        return { ...a, vsControl: { ctr: tested('ctr', a.vsControl.ctr), conversion: tested('conversion', a.vsControl.conversion) } };
      });
      return { ...e, arms };
    });
    try {
      await recordLooks(deps.db, looks);
    } catch (err) {
      deps.log?.('could not record the looks at the experiments', err);
    }
    return combined;
  }

  return {
    report,
    daily,

    /**
     * A look at the active experiment from its start (up to LONGEST_WINDOW_DAYS), as a report would make:
     * done in the background, so a crossing between two reads of the report is kept. True when it was a
     * look (the report held all of the experiment's feedback). Never rejects.
     */
    async lookAtActiveExperiment(): Promise<boolean> {
      try {
        const active = (await deps.experiments?.list())?.find((e) => e.active);
        if (!active) return false;
        // From its start or its earliest feedback, whichever is first (feedback may be dated before it).
        const { rows } = await deps.db.query<{ first: Date | null }>('SELECT min(ts) AS first FROM feedback_events WHERE experiment_id = $1', [active.id]);
        const start = Math.min(Date.parse(active.createdAt), rows[0]?.first ? new Date(rows[0].first).getTime() : Number.POSITIVE_INFINITY);
        const days = Math.ceil((now().getTime() - start) / 86_400_000) + 1;
        // Further back than the longest window: no report holds it from its start, so none is a look.
        if (days > LONGEST_WINDOW_DAYS) return false;
        const looked = await report(days);
        return looked.experiments.some((e) => e.id === active.id && e.fromStart);
      } catch (err) {
        deps.log?.('could not look at the active experiment', err);
        return false;
      }
    },

    /**
     * Counts the closed days of the longest window that are not counted yet, as a report over it would
     * first (a year at ten times Online Retail: 7.7-9.4 s): done in the background, a report finds them
     * counted. Returns the days counted; never rejects.
     */
    async countClosedDays(signal?: AbortSignal): Promise<number> {
      try {
        const at = now();
        const span = countedSpan(new Date(at.getTime() - LONGEST_WINDOW_DAYS * 86_400_000), at);
        return await countDays(deps.db, span.from, span.to, signal);
      } catch (err) {
        deps.log?.('could not count the closed days of feedback', err);
        return 0;
      }
    },

    /** Sets the gauges from the last GAUGE_WINDOW_DAYS unless done < cacheMs ago. Never rejects. */
    async refreshGauges(): Promise<void> {
      const gauge = deps.gauge;
      if (!gauge || Date.now() - refreshedAt < cacheMs) return;
      refreshedAt = Date.now();
      try {
        const rates = await strategies(GAUGE_WINDOW_DAYS);
        gauge.reset();
        for (const [strategy, s] of [...byGaugeLabel(rates)].slice(0, GAUGE_MAX_STRATEGIES)) {
          if (s.ctr !== null) gauge.set({ strategy, rate: 'ctr' }, s.ctr);
          if (s.conversion !== null) gauge.set({ strategy, rate: 'conversion' }, s.conversion);
        }
      } catch (err) {
        deps.log?.('could not refresh the feedback rate gauges', err);
      }
    },
  };
}
