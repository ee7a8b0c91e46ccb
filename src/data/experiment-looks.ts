import type { Db } from './db.js';

/** The metrics an experiment's arms are tested on. */
export type LookMetric = 'ctr' | 'conversion';

/** What the looks at one treatment arm's test have shown so far (migration 020). */
export interface LooksSoFar {
  experimentId: string;
  arm: string;
  metric: LookMetric;
  /** The smallest always-valid p of every look. */
  anytimeP: number;
  /** The intersection of the looks' confidence sequences. */
  anytimeLow: number;
  anytimeHigh: number;
}

/** The looks so far at these experiments' tests. */
export async function readLooks(db: Db, experimentIds: readonly string[]): Promise<LooksSoFar[]> {
  if (experimentIds.length === 0) return [];
  const { rows } = await db.query<{ experiment_id: string; arm: string; metric: LookMetric; anytime_p: number; anytime_low: number; anytime_high: number }>(
    'SELECT experiment_id, arm, metric, anytime_p, anytime_low, anytime_high FROM experiment_looks WHERE experiment_id = ANY($1::text[])',
    [experimentIds],
  );
  return rows.map((r) => ({
    experimentId: r.experiment_id,
    arm: r.arm,
    metric: r.metric,
    anytimeP: Number(r.anytime_p),
    anytimeLow: Number(r.anytime_low),
    anytimeHigh: Number(r.anytime_high),
  }));
}

/**
 * Adds a look at each of these tests: the any-time p kept is the smaller, the interval the intersection (a
 * look whose interval is disjoint from it is left out of it, as overLooks does). Replicas looking at once
 * each add theirs; the smallest p does not depend on their order, the interval only when some are disjoint
 * (the difference changed over time, which the confidence sequences assume it does not).
 */
export async function recordLooks(db: Db, looks: readonly LooksSoFar[]): Promise<void> {
  if (looks.length === 0) return;
  const overlaps = 'EXCLUDED.anytime_low <= l.anytime_high AND EXCLUDED.anytime_high >= l.anytime_low';
  await db.query(
    `INSERT INTO experiment_looks AS l (experiment_id, arm, metric, anytime_p, anytime_low, anytime_high)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[]) ORDER BY 1, 2, 3
     ON CONFLICT (experiment_id, arm, metric) DO UPDATE SET
       anytime_p = LEAST(l.anytime_p, EXCLUDED.anytime_p),
       anytime_low = CASE WHEN ${overlaps} THEN GREATEST(l.anytime_low, EXCLUDED.anytime_low) ELSE l.anytime_low END,
       anytime_high = CASE WHEN ${overlaps} THEN LEAST(l.anytime_high, EXCLUDED.anytime_high) ELSE l.anytime_high END,
       looks = l.looks + 1,
       last_look = now()`,
    [
      looks.map((l) => l.experimentId),
      looks.map((l) => l.arm),
      looks.map((l) => l.metric),
      looks.map((l) => l.anytimeP),
      looks.map((l) => l.anytimeLow),
      looks.map((l) => l.anytimeHigh),
    ],
  );
}
