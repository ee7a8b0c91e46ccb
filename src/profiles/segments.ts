/**
 * Labels for each profiled customer: an RFM segment, a lifecycle stage and a value tier.
 *
 * RFM segment: rules on the (R, F, M) quintile scores, evaluated top to bottom; the first match wins and
 * the last rule catches everything, so each customer gets exactly one segment.
 *
 *   | order | segment             | R    | F    | M    | meaning                                         |
 *   |-------|---------------------|------|------|------|-------------------------------------------------|
 *   | 1     | champions           | 4-5  | 4-5  | 4-5  | bought recently, often, and spend the most      |
 *   | 2     | loyal               | 3-5  | 3-5  | 3-5  | regular, good spenders, not lapsed              |
 *   | 3     | new                 | 5    | 1    | any  | first purchases just now                        |
 *   | 4     | promising           | 3-4  | 1    | any  | recent first purchases, not the newest          |
 *   | 5     | potential_loyalists | 3-5  | any  | any  | every other recent customer (F >= 2)            |
 *   | 6     | cant_lose           | 1    | 4-5  | 4-5  | were among the best, gone longest               |
 *   | 7     | at_risk             | 1-2  | 3-5  | 3-5  | good customers drifting away                    |
 *   | 8     | need_attention      | 2    | 2-5  | 2-5  | lapsing, middling on frequency and spend        |
 *   | 9     | lost                | 1    | 1-2  | 1-2  | gone longest, few orders, low spend             |
 *   | 10    | hibernating         | any  | any  | any  | the rest: R 1-2 with F or M low (e.g. R2 F1 M1)  |
 *
 * Rules 1-5 cover every R >= 3; rules 6-10 every R <= 2.
 */
import type { CustomerProfile } from './profile.js';
import { midRankNumerators } from './rfm-score.js';

export const RFM_SEGMENTS = [
  'champions',
  'loyal',
  'new',
  'promising',
  'potential_loyalists',
  'cant_lose',
  'at_risk',
  'need_attention',
  'lost',
  'hibernating',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

/** The segment of one (R, F, M) score triple, by the table above. */
export function rfmSegment(r: number, f: number, m: number): RfmSegment {
  if (r >= 4 && f >= 4 && m >= 4) return 'champions';
  if (r >= 3 && f >= 3 && m >= 3) return 'loyal';
  if (r === 5 && f === 1) return 'new';
  if (r >= 3 && f === 1) return 'promising';
  if (r >= 3) return 'potential_loyalists';
  if (r === 1 && f >= 4 && m >= 4) return 'cant_lose';
  if (f >= 3 && m >= 3) return 'at_risk';
  if (r === 2 && f >= 2 && m >= 2) return 'need_attention';
  if (r === 1 && f <= 2 && m <= 2) return 'lost';
  return 'hibernating';
}

export const LIFECYCLE_STAGES = ['new', 'active', 'silent', 'churned'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** Thresholds of the lifecycle stage, in days or multiples of the customer's own mean purchase interval. */
export interface LifecycleOptions {
  /** First order fewer than this many days ago: `new`. Default 30. */
  newDays?: number;
  /** Silent when recency > max(silentFactor x mean interval, minSilentDays). Defaults 2 and 14. */
  silentFactor?: number;
  minSilentDays?: number;
  /** Churned when recency > max(churnFactor x mean interval, minChurnDays). Defaults 4 and 30. */
  churnFactor?: number;
  minChurnDays?: number;
  /** Customers without an interval (one order date): silent / churned after these many days. Defaults 90 and 180. */
  singleOrderSilentDays?: number;
  singleOrderChurnDays?: number;
}

const LIFECYCLE_DEFAULTS: Required<LifecycleOptions> = {
  newDays: 30,
  silentFactor: 2,
  minSilentDays: 14,
  churnFactor: 4,
  minChurnDays: 30,
  singleOrderSilentDays: 90,
  singleOrderChurnDays: 180,
};

/**
 * Lifecycle stage, judged against the customer's own rhythm: someone who buys every 10 days and has been
 * away 45 is churned, someone who buys twice a year and has been away 45 days is active. The floors stop
 * very frequent buyers (interval 1-2 days) from churning after a week. Stages are checked in the order
 * new, churned, silent, active; all comparisons are strict (recency equal to a threshold is not past it).
 */
export function lifecycleStage(
  profile: Pick<CustomerProfile, 'recencyDays' | 'tenureDays' | 'meanIntervalDays'>,
  options: LifecycleOptions = {},
): LifecycleStage {
  const o = { ...LIFECYCLE_DEFAULTS, ...options };
  if (profile.tenureDays < o.newDays) return 'new';
  const interval = profile.meanIntervalDays;
  const silentAfter = interval === null ? o.singleOrderSilentDays : Math.max(o.silentFactor * interval, o.minSilentDays);
  const churnAfter = interval === null ? o.singleOrderChurnDays : Math.max(o.churnFactor * interval, o.minChurnDays);
  if (profile.recencyDays > churnAfter) return 'churned';
  if (profile.recencyDays > silentAfter) return 'silent';
  return 'active';
}

export const VALUE_TIERS = ['high', 'medium', 'low'] as const;
export type ValueTier = (typeof VALUE_TIERS)[number];

/**
 * Value tier of each customer by monetary mid-rank percentile p (see rfm-score.ts):
 * high when p >= 0.8 (top 20%), medium when p >= 0.5 (next 30%), low otherwise (bottom 50%).
 * Equal spends share a tier, so with ties the shares are approximate.
 */
export function valueTiers(monetary: ArrayLike<number>): ValueTier[] {
  const num = midRankNumerators(monetary);
  const n = num.length;
  // p = num / 2n; p >= 0.8  <=>  5 num >= 8 n;  p >= 0.5  <=>  num >= n.
  return Array.from(num, (x) => (5 * x >= 8 * n ? 'high' : x >= n ? 'medium' : 'low'));
}

export interface SegmentLabels {
  segment: RfmSegment;
  lifecycle: LifecycleStage;
  valueTier: ValueTier;
}

export type SegmentedProfile = CustomerProfile & SegmentLabels;

/** Labels every profile. Value tiers are relative to the profiles passed in, like the RFM scores. */
export function segmentProfiles(profiles: readonly CustomerProfile[], options: LifecycleOptions = {}): SegmentedProfile[] {
  const tiers = valueTiers(profiles.map((p) => p.monetary));
  return profiles.map((p, k) => ({
    ...p,
    segment: rfmSegment(p.rScore, p.fScore, p.mScore),
    lifecycle: lifecycleStage(p, options),
    valueTier: tiers[k],
  }));
}
