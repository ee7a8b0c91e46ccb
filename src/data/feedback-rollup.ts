/**
 * Feedback counts of closed UTC days, kept in feedback_daily_counts (migration 010) so that online metrics
 * over long windows read a few rows per day instead of every feedback event: a year at ten times Online
 * Retail (ten million events) took 14 s per ask.
 *
 * A day is closed once the day after it has ended (CLOSED_AFTER_DAYS): feedback sent a little late (a
 * browser's queue, a day boundary) lands while its day is still counted from the events. Closed days are
 * counted when a report first needs them. Feedback that arrives later still for a counted day, or that an
 * erasure deletes, marks its day to be counted again (`markRecount`, in the writer's transaction); the
 * counting and those writers take the day's row of feedback_counted_days in turn, so a count never misses
 * a write that committed before it.
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

/**
 * Marks days to be counted again (feedback of them stored or deleted in `tx`'s transaction). Waits for a
 * counting of those days in progress; a counting that starts later waits for this transaction.
 */
export async function markRecount(tx: Db, days: readonly string[]): Promise<void> {
  if (days.length === 0) return;
  // In day order, as the counting locks them: no deadlock between the two.
  await tx.query(
    `INSERT INTO feedback_counted_days (day, counted) SELECT d, false FROM unnest($1::date[]) AS d ORDER BY d
     ON CONFLICT (day) DO UPDATE SET counted = false`,
    [[...days].sort()],
  );
}

/** Marks for recounting the days of these customers' feedback (before an erasure deletes it, in its transaction). */
export async function markRecountOfUsers(tx: Db, userIds: readonly string[]): Promise<void> {
  const { rows } = await tx.query<{ day: string }>(
    `SELECT DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM feedback_events WHERE user_id = ANY($1::text[])`,
    [userIds],
  );
  await markRecount(tx, rows.map((r) => r.day));
}

/**
 * Counts the days of [from, to) (closed days, starts of UTC days) that are not counted, a month per
 * transaction. Returns how many days were counted.
 */
export async function countDays(db: Db, from: Date, to: Date): Promise<number> {
  let counted = 0;
  for (let start = from.getTime(); start < to.getTime(); start += DAYS_PER_COUNT * DAY_MS) {
    const end = Math.min(to.getTime(), start + DAYS_PER_COUNT * DAY_MS);
    counted += await countSpan(db, start, end);
  }
  return counted;
}

async function countSpan(db: Db, start: number, end: number): Promise<number> {
  const range = [dayName(start), dayName(end)];
  // Most asks find every day counted: one read, no transaction.
  const { rows: done } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM feedback_counted_days WHERE day >= $1::date AND day < $2::date AND counted',
    range,
  );
  if (done[0].n === Math.round((end - start) / DAY_MS)) return 0;
  return db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO feedback_counted_days (day, counted)
       SELECT d::date, false FROM generate_series($1::date, $2::date - 1, interval '1 day') AS d ORDER BY 1
       ON CONFLICT (day) DO NOTHING`,
      range,
    );
    // The days' rows, in day order: a writer marking one of them waits for this count, or this for it.
    const { rows } = await tx.query<{ day: string; counted: boolean }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, counted FROM feedback_counted_days
       WHERE day >= $1::date AND day < $2::date ORDER BY day FOR UPDATE`,
      range,
    );
    const open = rows.filter((r) => !r.counted);
    if (open.length === 0) return 0;
    const days = open.map((r) => r.day);
    await tx.query('DELETE FROM feedback_daily_counts WHERE day = ANY($1::date[])', [days]);
    await tx.query(
      `INSERT INTO feedback_daily_counts (day, strategy, experiment_id, arm, campaign_id, impressions, clicks, add_to_cart, purchases)
       SELECT (ts AT TIME ZONE 'UTC')::date, strategy, experiment_id, arm, campaign_id,
              count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
              count(*) FILTER (WHERE type = 'add_to_cart'), count(*) FILTER (WHERE type = 'purchase')
       FROM feedback_events
       WHERE ts >= $1 AND ts < $2 AND (ts AT TIME ZONE 'UTC')::date = ANY($3::date[])
       GROUP BY 1, 2, 3, 4, 5`,
      [new Date(start).toISOString(), new Date(end).toISOString(), days],
    );
    await tx.query('UPDATE feedback_counted_days SET counted = true WHERE day = ANY($1::date[])', [days]);
    return days.length;
  });
}

/**
 * SQL of a CTE named `counted`: feedback counts per UTC day, strategy, experiment arm and campaign over
 * [since, now], from the daily counts of the closed days in [from, to) and from the events elsewhere.
 * Parameters: $1 since, $2 from, $3 to (timestamps, countedSpan), then the query's own.
 */
export const COUNTED_CTE = `
counted AS (
  SELECT day, strategy, experiment_id, arm, campaign_id, impressions, clicks, add_to_cart, purchases
  FROM feedback_daily_counts
  WHERE day >= ($2::timestamptz AT TIME ZONE 'UTC')::date AND day < ($3::timestamptz AT TIME ZONE 'UTC')::date
  UNION ALL
  SELECT (ts AT TIME ZONE 'UTC')::date, strategy, experiment_id, arm, campaign_id,
         count(*) FILTER (WHERE type = 'impression'), count(*) FILTER (WHERE type = 'click'),
         count(*) FILTER (WHERE type = 'add_to_cart'), count(*) FILTER (WHERE type = 'purchase')
  FROM feedback_events
  WHERE (ts >= $1::timestamptz AND ts < $2::timestamptz) OR ts >= $3::timestamptz
  GROUP BY 1, 2, 3, 4, 5
)`;
