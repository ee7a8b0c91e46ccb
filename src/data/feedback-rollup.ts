/**
 * Feedback counts of closed UTC days, kept in feedback_daily_counts (migration 010) so that online metrics
 * over long windows read a few rows per day instead of every feedback event: a year at ten times Online
 * Retail (ten million events) took 14 s per ask.
 *
 * A day is closed once the day after it has ended (CLOSED_AFTER_DAYS): feedback sent a little late (a
 * browser's queue, a day boundary) lands while its day is still counted from the events. Closed days are
 * counted when a report first needs them, and by API processes in the background (ONLINE_METRICS_COUNT_MS),
 * so that the first report over a year does not count it. Feedback that arrives later still for a counted day, or that an
 * erasure deletes, marks its day to be counted again (`markRecount`, in the writer's transaction) and counts
 * up the day's `changes`. A count marks a day counted only if its `changes` did not move while it read the
 * day's events: a write that raced it leaves the day to be counted again. Writers never wait for a count's
 * scan (they hold the ingestion lock, which erasures wait for); counts take turns (COUNT_LOCK).
 */
import type { Db } from './db.js';

const DAY_MS = 86_400_000;
/** Days (UTC) a day stays open after it ends: its feedback is counted from the events until then. */
const CLOSED_AFTER_DAYS = 1;
/**
 * How far ahead of a writer's clock another process's may run: a writer marks the days that would be
 * closed by a clock this much ahead of its own, so a counting replica with a faster clock cannot count a
 * day the writer thought still open, and miss its write.
 */
const CLOCK_SKEW_MS = 3_600_000;
/** Days counted in one transaction, at most: one statement over about a month of events. */
const DAYS_PER_COUNT = 31;
/** Taken by a count for its transaction: two counts of one day would both delete its rows, then both insert theirs. */
const COUNT_LOCK = 'SELECT pg_advisory_xact_lock(7262361205)';

/**
 * A day's counts are this code's: counted, by a count that kept model versions (migration 023), and not
 * changed since (`versioned_at`, the day's `changes` when it was so counted). A replica of the release
 * before 023 counts a day without its versions and sets only `counted`: in a rolling upgrade such a day
 * (or one it counts again after a late write moved `changes`) is counted again here, not read as it left it.
 * Days counted before the upgrade are counted once more, by the background count or the first report.
 */
const countedHere = (row = '') => `(${row}counted AND ${row}versioned_at = ${row}changes)`;

const dayStart = (t: number) => Math.floor(t / DAY_MS) * DAY_MS;
const dayName = (t: number) => new Date(t).toISOString().slice(0, 10);

/** The start of the first day that is still open at `now`: every day before it is closed. */
export function closedBefore(now: Date): Date {
  return new Date(dayStart(now.getTime()) - CLOSED_AFTER_DAYS * DAY_MS);
}

/**
 * The part of the window [since, now] read from the daily counts: the closed days that lie wholly in it,
 * [from, to) (from = to when there are none). The rest, [since, from) and [to, now], is read from the events.
 */
export function countedSpan(since: Date, now: Date): { from: Date; to: Date } {
  const from = dayStart(since.getTime() + DAY_MS - 1);
  return { from: new Date(from), to: new Date(Math.max(from, closedBefore(now).getTime())) };
}

/** The days ('YYYY-MM-DD', sorted, distinct) of these feedback times that may be counted already. */
export function daysToRecount(times: readonly Date[], now: Date): string[] {
  const open = closedBefore(new Date(now.getTime() + CLOCK_SKEW_MS)).getTime();
  const days = new Set<string>();
  for (const t of times) if (t.getTime() < open) days.add(dayName(t.getTime()));
  return [...days].sort();
}

/** Marks days to be counted again (feedback of them stored or deleted in `tx`'s transaction). */
export async function markRecount(tx: Db, days: readonly string[]): Promise<void> {
  if (days.length === 0) return;
  // In day order: two writers of the same days take their rows in the same order.
  await tx.query(
    `INSERT INTO feedback_counted_days (day, counted, changes) SELECT d, false, 1 FROM unnest($1::date[]) AS d ORDER BY d
     ON CONFLICT (day) DO UPDATE SET counted = false, changes = feedback_counted_days.changes + 1`,
    [[...new Set(days)].sort()],
  );
}

/**
 * Counts the days of [from, to) (closed days, starts of UTC days) that are not counted, a month per
 * transaction. Returns how many days it counted (a day a write raced stays to be counted again). With
 * `signal`, an abort stops it between months (a process closing).
 */
export async function countDays(db: Db, from: Date, to: Date, signal?: AbortSignal): Promise<number> {
  if (from.getTime() >= to.getTime()) return 0;
  const range = [dayName(from.getTime()), dayName(to.getTime())];
  // Most asks find every day counted: one read.
  const { rows } = await db.query<{ day: string; known: boolean }>(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day, c.day IS NOT NULL AS known
     FROM generate_series($1::date, $2::date - 1, interval '1 day') AS d LEFT JOIN feedback_counted_days c ON c.day = d::date
     WHERE ${countedHere('c.')} IS NOT TRUE ORDER BY 1`,
    range,
  );
  if (rows.length === 0) return 0;
  // Rows for days never seen, on their own: inside the count's transaction a writer would wait for it.
  const unknown = rows.filter((r) => !r.known).map((r) => r.day);
  if (unknown.length > 0) {
    await db.query('INSERT INTO feedback_counted_days (day, counted) SELECT d, false FROM unnest($1::date[]) AS d ORDER BY d ON CONFLICT (day) DO NOTHING', [unknown]);
  }
  let counted = 0;
  for (let k = 0; k < rows.length && !signal?.aborted; ) {
    // Consecutive days of at most a month: one range of the events' time index.
    const first = Date.parse(rows[k].day);
    let n = 1;
    while (k + n < rows.length && Date.parse(rows[k + n].day) < first + DAYS_PER_COUNT * DAY_MS) n++;
    counted += await countSpan(db, rows.slice(k, k + n).map((r) => r.day));
    k += n;
  }
  return counted;
}

async function countSpan(db: Db, candidates: string[]): Promise<number> {
  const start = new Date(candidates[0]).toISOString();
  const end = new Date(Date.parse(candidates[candidates.length - 1]) + DAY_MS).toISOString();
  return db.transaction(async (tx) => {
    await tx.query(COUNT_LOCK);
    // What is left to count now (another count may have done some), and how often each day changed so far.
    const { rows } = await tx.query<{ day: string; changes: string }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, changes::text AS changes FROM feedback_counted_days
       WHERE day = ANY($1::date[]) AND ${countedHere()} IS NOT TRUE ORDER BY day`,
      [candidates],
    );
    if (rows.length === 0) return 0;
    const days = rows.map((r) => r.day);
    await tx.query('DELETE FROM feedback_daily_counts WHERE day = ANY($1::date[])', [days]);
    await tx.query(
      `INSERT INTO feedback_daily_counts (day, strategy, experiment_id, arm, campaign_id, model_version, impressions, clicks, add_to_cart, purchases)
       SELECT (ts AT TIME ZONE 'UTC')::date, strategy, experiment_id, arm, campaign_id, model_version,
              count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
              count(*) FILTER (WHERE type = 'add_to_cart'), count(*) FILTER (WHERE type = 'purchase')
       FROM feedback_events
       WHERE ts >= $1 AND ts < $2 AND (ts AT TIME ZONE 'UTC')::date = ANY($3::date[])
       GROUP BY 1, 2, 3, 4, 5, 6`,
      [start, end, days],
    );
    // A writer that changed a day since the read above (or is changing it now: this waits for it) wins.
    // Its rows taken in day order first, as writers take them (the UPDATE alone takes them in the order
    // its plan reads them, which could deadlock with a writer marking several days).
    await tx.query('SELECT 1 FROM feedback_counted_days WHERE day = ANY($1::date[]) ORDER BY day FOR UPDATE', [days]);
    const { rows: done } = await tx.query(
      `UPDATE feedback_counted_days c SET counted = true, versioned_at = r.changes FROM unnest($1::date[], $2::bigint[]) AS r(day, changes)
       WHERE c.day = r.day AND c.changes = r.changes RETURNING c.day`,
      [days, rows.map((r) => r.changes)],
    );
    return done.length;
  });
}

/**
 * Forgets the counts of the days before `day` ('YYYY-MM-DD'), whose feedback retention deleted
 * (feedback-retention.ts): their daily counts and their rows in feedback_counted_days. A report over such
 * a day then reads what its events hold now (nothing, or feedback sent for it since), as it would for a
 * day never counted: a day counted again is counted from what is left. Takes COUNT_LOCK, so a count that
 * read the events before they were deleted has committed first and its rows go too; the days' rows are
 * taken in day order, as writers take them. Returns how many days were forgotten.
 */
export async function forgetDaysBefore(db: Db, day: string): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(COUNT_LOCK);
    await tx.query('DELETE FROM feedback_daily_counts WHERE day < $1::date', [day]);
    const { rows } = await tx.query<{ n: number }>(
      `WITH d AS (DELETE FROM feedback_counted_days WHERE day IN (SELECT day FROM feedback_counted_days WHERE day < $1::date ORDER BY day FOR UPDATE) RETURNING 1)
       SELECT count(*)::int AS n FROM d`,
      [day],
    );
    return rows[0].n;
  });
}

/**
 * The starts of the closed days of [from, to) that are not counted as `db` sees them: none counted yet, or
 * marked to be counted again by a write since. Read in the snapshot of the statement that uses countedCte.
 */
export async function uncountedDays(db: Db, from: Date, to: Date): Promise<Date[]> {
  if (from.getTime() >= to.getTime()) return [];
  const { rows } = await db.query<{ day: string }>(
    `SELECT to_char(d, 'YYYY-MM-DD') AS day
     FROM generate_series($1::date, $2::date - 1, interval '1 day') AS d LEFT JOIN feedback_counted_days c ON c.day = d::date
     WHERE ${countedHere('c.')} IS NOT TRUE ORDER BY 1`,
    [dayName(from.getTime()), dayName(to.getTime())],
  );
  return rows.map((r) => new Date(`${r.day}T00:00:00Z`));
}

/**
 * SQL of a CTE named `counted`, and its parameters: feedback counts per UTC day, strategy, experiment arm,
 * campaign and model version over [since, now], from the daily counts of the closed days in [from, to) (countedSpan), and
 * from the events elsewhere: the open ends, and the closed days in `uncounted` (uncountedDays, read in the
 * same snapshot: a report counts its days first, but a write may mark one again before its statements). So
 * what a snapshot reads of the counts agrees with what it reads of the events (the report's experiment
 * arms). The query adds no parameters of its own.
 */
export function countedCte(since: Date, span: { from: Date; to: Date }, uncounted: readonly Date[]): { sql: string; params: string[] } {
  const params = [since, span.from, span.to, ...uncounted.flatMap((d) => [d, new Date(d.getTime() + DAY_MS)])].map((t) => t.toISOString());
  // Each uncounted day as a range of its own (the planner sees each, and reads it through the time index).
  const days = uncounted.map((_, k) => `(ts >= $${4 + 2 * k}::timestamptz AND ts < $${5 + 2 * k}::timestamptz)`);
  const sql = `
counted AS (
  SELECT day, strategy, experiment_id, arm, campaign_id, model_version, impressions, clicks, add_to_cart, purchases
  FROM feedback_daily_counts
  WHERE day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND day < ($3::timestamptz AT TIME ZONE 'UTC')::date${
    uncounted.length > 0 ? `
    AND day <> ALL (ARRAY[${uncounted.map((_, k) => `($${4 + 2 * k}::timestamptz AT TIME ZONE 'UTC')::date`).join(', ')}])` : ''
  }
  UNION ALL
  SELECT (ts AT TIME ZONE 'UTC')::date, strategy, experiment_id, arm, campaign_id, model_version,
         count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
         count(*) FILTER (WHERE type = 'add_to_cart'), count(*) FILTER (WHERE type = 'purchase')
  FROM feedback_events
  WHERE (ts >= $1::timestamptz AND ts < $2::timestamptz) OR ts >= $3::timestamptz${days.map((d) => `
     OR ${d}`).join('')}
  GROUP BY 1, 2, 3, 4, 5, 6
)`;
  return { sql, params };
}
