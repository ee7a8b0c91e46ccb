/**
 * Summary of labelled customers per RFM segment, lifecycle stage and value tier: how many customers,
 * what share of the customers and of the revenue (monetary), and their mean R, F and M scores.
 * Every group of each grouping is listed, empty ones included, in the order of its label list.
 */
import {
  LIFECYCLE_STAGES,
  RFM_SEGMENTS,
  VALUE_TIERS,
  type SegmentLabels,
  type SegmentedProfile,
} from './segments.js';

export interface GroupSummary {
  name: string;
  users: number;
  /** users / all users (0 when there are none). */
  userShare: number;
  /** Sum of monetary. */
  revenue: number;
  /** revenue / all revenue (0 when there is none). */
  revenueShare: number;
  /** Mean scores; null for an empty group. */
  meanR: number | null;
  meanF: number | null;
  meanM: number | null;
}

/** Customers per R, F and M quintile score: index 0 holds score 1, index 4 score 5. */
export interface ScoreDistribution {
  r: number[];
  f: number[];
  m: number[];
}

export interface SegmentReport {
  users: number;
  revenue: number;
  scores: ScoreDistribution;
  segments: GroupSummary[];
  lifecycle: GroupSummary[];
  valueTiers: GroupSummary[];
}

type Profile = Pick<SegmentedProfile, 'monetary' | 'rScore' | 'fScore' | 'mScore'> & SegmentLabels;

function summarize(profiles: readonly Profile[], names: readonly string[], labelOf: (p: Profile) => string): GroupSummary[] {
  const at = new Map(names.map((name, k) => [name, k]));
  const users = new Float64Array(names.length);
  const revenue = new Float64Array(names.length);
  const r = new Float64Array(names.length);
  const f = new Float64Array(names.length);
  const m = new Float64Array(names.length);
  let totalRevenue = 0;
  for (const p of profiles) {
    const k = at.get(labelOf(p));
    if (k === undefined) throw new Error(`unknown group ${labelOf(p)}`);
    users[k]++;
    revenue[k] += p.monetary;
    r[k] += p.rScore;
    f[k] += p.fScore;
    m[k] += p.mScore;
    totalRevenue += p.monetary;
  }
  const mean = (sum: number, n: number) => (n > 0 ? sum / n : null);
  return names.map((name, k) => ({
    name,
    users: users[k],
    userShare: profiles.length > 0 ? users[k] / profiles.length : 0,
    revenue: revenue[k],
    revenueShare: totalRevenue > 0 ? revenue[k] / totalRevenue : 0,
    meanR: mean(r[k], users[k]),
    meanF: mean(f[k], users[k]),
    meanM: mean(m[k], users[k]),
  }));
}

/** How many customers have each R, F and M score (1..5). */
export function scoreDistribution(profiles: readonly Pick<Profile, 'rScore' | 'fScore' | 'mScore'>[]): ScoreDistribution {
  const scores: ScoreDistribution = { r: [0, 0, 0, 0, 0], f: [0, 0, 0, 0, 0], m: [0, 0, 0, 0, 0] };
  for (const p of profiles) {
    scores.r[p.rScore - 1]++;
    scores.f[p.fScore - 1]++;
    scores.m[p.mScore - 1]++;
  }
  return scores;
}

/** Summarizes labelled profiles (from segmentProfiles, or decoded from a stored artifact). */
export function segmentReport(profiles: readonly Profile[]): SegmentReport {
  let revenue = 0;
  for (const p of profiles) revenue += p.monetary;
  return {
    users: profiles.length,
    revenue,
    scores: scoreDistribution(profiles),
    segments: summarize(profiles, RFM_SEGMENTS, (p) => p.segment),
    lifecycle: summarize(profiles, LIFECYCLE_STAGES, (p) => p.lifecycle),
    valueTiers: summarize(profiles, VALUE_TIERS, (p) => p.valueTier),
  };
}

/** What segmentReportOfColumns reads: profile-codec.ts ProfileColumns' arrays. */
export interface ReportColumns {
  count: number;
  monetary: Float64Array;
  /** [r, f, m] per customer. */
  scores: Uint8Array;
  /** [segment, lifecycle, valueTier] per customer, indices into their label lists. */
  labels: Uint8Array;
}

/**
 * segmentReport of the customers of the columns that `keep` (default all; asked of each row once, in row order), read straight from the arrays:
 * no object per customer. The same sums in the same order, so the same report as segmentReport of their
 * decoded profiles.
 */
export function segmentReportOfColumns(c: ReportColumns, keep: (k: number) => boolean = () => true): SegmentReport {
  const lists = [RFM_SEGMENTS, LIFECYCLE_STAGES, VALUE_TIERS] as const;
  const sums = lists.map((names) => ({ users: new Float64Array(names.length), revenue: new Float64Array(names.length), r: new Float64Array(names.length), f: new Float64Array(names.length), m: new Float64Array(names.length) }));
  const totals = [0, 0, 0];
  const scores: ScoreDistribution = { r: [0, 0, 0, 0, 0], f: [0, 0, 0, 0, 0], m: [0, 0, 0, 0, 0] };
  let users = 0;
  let revenue = 0;
  for (let k = 0; k < c.count; k++) {
    if (!keep(k)) continue;
    users++;
    const monetary = c.monetary[k];
    revenue += monetary;
    const [r, f, m] = [c.scores[3 * k], c.scores[3 * k + 1], c.scores[3 * k + 2]];
    scores.r[r - 1]++;
    scores.f[f - 1]++;
    scores.m[m - 1]++;
    for (let d = 0; d < 3; d++) {
      const g = c.labels[3 * k + d];
      if (g >= lists[d].length) throw new Error(`unknown group ${g}`);
      const s = sums[d];
      s.users[g]++;
      s.revenue[g] += monetary;
      s.r[g] += r;
      s.f[g] += f;
      s.m[g] += m;
      totals[d] += monetary;
    }
  }
  const mean = (sum: number, n: number) => (n > 0 ? sum / n : null);
  const groups = (d: number): GroupSummary[] =>
    lists[d].map((name, g) => ({
      name,
      users: sums[d].users[g],
      userShare: users > 0 ? sums[d].users[g] / users : 0,
      revenue: sums[d].revenue[g],
      revenueShare: totals[d] > 0 ? sums[d].revenue[g] / totals[d] : 0,
      meanR: mean(sums[d].r[g], sums[d].users[g]),
      meanF: mean(sums[d].f[g], sums[d].users[g]),
      meanM: mean(sums[d].m[g], sums[d].users[g]),
    }));
  return { users, revenue, scores, segments: groups(0), lifecycle: groups(1), valueTiers: groups(2) };
}
