import type { RollingValidation } from './rolling-tune.js';
import type { EvalMode, SplitKind, TestPurchases } from './splits.js';

/**
 * The result of an evaluation run: plain JSON (stored in Postgres, returned by the API, rendered by
 * format-report.ts). Every number is an average over the test users of the row's mode unless noted.
 */

/** Per-user ranking metrics, averaged over test users (see metrics.ts for the formulas). */
export const ACCURACY_METRICS = ['precision', 'recall', 'ndcg', 'map', 'hitRate'] as const;
export type AccuracyMetric = (typeof ACCURACY_METRICS)[number];

/** Run-level metrics over all lists of a row; null where undefined (e.g. diversity without a similarity). */
export const RUN_METRICS = ['catalogCoverage', 'userCoverage', 'diversity', 'novelty', 'popularTop100Share'] as const;
export type RunMetric = (typeof RUN_METRICS)[number];

export type MetricName = AccuracyMetric | RunMetric;
export const METRIC_NAMES: readonly MetricName[] = [...ACCURACY_METRICS, ...RUN_METRICS];

/** One strategy at one mode and k. */
export interface ReportRow {
  strategy: string;
  mode: EvalMode;
  k: number;
  /** Test users of this mode (all of them are scored). */
  users: number;
  metrics: Record<MetricName, number | null>;
  /** Relative lift over the baseline at the same mode and k: value / baseline - 1; null if the baseline is 0 or null. */
  lift: Record<MetricName, number | null>;
  /**
   * 95% confidence interval of each accuracy metric's lift, paired over the same test users (delta
   * method on log R; metric-accumulator.ts PairedLift); null on the baseline's own row, and where fewer
   * than 10 users have a non-zero value on either side. An interval that contains 0 means this many
   * users cannot tell the strategy from the baseline.
   * Absent from reports stored before it existed.
   */
  liftInterval?: Record<AccuracyMetric, { low: number; high: number } | null>;
}

export type BreakdownDimension = 'history' | 'segment' | 'lifecycle';

/** Accuracy of one strategy for a subgroup of test users. */
export interface BreakdownRow {
  dimension: BreakdownDimension;
  /** History bucket ('1', '2-5', '6-20', '>20' train orders), RFM segment or lifecycle stage name. */
  group: string;
  strategy: string;
  mode: EvalMode;
  k: number;
  users: number;
  metrics: Record<AccuracyMetric, number>;
  /** Lift over the baseline within the same group (value / baseline - 1; null where the baseline is 0); absent from older reports. */
  lift?: Record<AccuracyMetric, number | null>;
  /** Its 95% interval, paired over the group's users, as ReportRow.liftInterval; absent from older reports. */
  liftInterval?: Record<AccuracyMetric, { low: number; high: number } | null>;
}

export interface SplitSummary {
  kind: SplitKind;
  /** ISO timestamps of the test period's start (and end, for validation splits). */
  cutoff: string | null;
  testEnd: string | null;
  trainUsers: number;
  trainItems: number;
  trainEvents: number;
  testUsers: Partial<Record<EvalMode, number>>;
  /** The test period's purchase lines and what the protocol left out of them; absent in reports stored before it was kept. */
  testPurchases?: TestPurchases;
}

export interface EvaluationReport {
  split: SplitSummary;
  modes: EvalMode[];
  ks: number[];
  strategies: string[];
  baseline: string;
  /** Ordered by mode, then k, then strategy (in the order the scorers were given). */
  rows: ReportRow[];
  /** Ordered by dimension, group, mode, k, strategy. */
  breakdowns: BreakdownRow[];
  /**
   * What a hit is: `product`, a listed product the user bought in the test period; `group`, when the catalogue has
   * product groups, a listed product of a group the user bought any product of, each group counted once (and in
   * mode `novel` only groups the user had bought none of before), catalog coverage counting groups. Absent from
   * reports stored before it existed (they count products).
   */
  relevance?: 'product' | 'group';
  /** Per recipe that was tuned before the test period: what tuning chose and measured (or why it was skipped). */
  tuning?: Record<string, EvaluationTuning>;
}

/** What tuning did for one recipe of an evaluation or a training. */
export type EvaluationTuning = RollingValidation | { skipped: string };

/** History-length buckets by number of distinct train orders. */
export const HISTORY_BUCKETS = ['1', '2-5', '6-20', '>20'] as const;

export function historyBucket(trainOrders: number): (typeof HISTORY_BUCKETS)[number] {
  if (trainOrders <= 1) return '1';
  if (trainOrders <= 5) return '2-5';
  if (trainOrders <= 20) return '6-20';
  return '>20';
}
