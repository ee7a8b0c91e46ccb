/**
 * Retention of feedback (FEEDBACK_RETENTION_DAYS): feedback events whose time (`ts`) is older than the
 * retention are deleted, and so are the customer rows that only that feedback had made. POST /v1/feedback
 * takes events from the public frontend key (an audit stored 5,000-11,600 a second from one client), so
 * without a limit anyone could grow feedback_events for good, and a customer's reactions were kept for ever.
 *
 * Deleted in batches of RETENTION_BATCH rows, each its own statement: no delete holds row locks for long,
 * and ingestion, erasures and reports go on between them. Rows another writer holds (an erasure under way,
 * another replica's sweep) are skipped, and left for the next sweep.
 */
import type { Db } from './db.js';
import { ERASURE_LOCK } from './erasure-repository.js';
import { forgetDaysBefore, markRecount } from './feedback-rollup.js';

const DAY_MS = 86_400_000;

/** Feedback rows deleted per statement: about 0.1 s each on Postgres (bench/README "Feedback retention"). */
export const RETENTION_BATCH = 10_000;

/**
 * The start of the oldest UTC day kept: feedback before it is older than `days` days. Whole days, so a
 * day's events and its daily counts (feedback-rollup.ts) are deleted together.
 */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(Math.floor((now.getTime() - days * DAY_MS) / DAY_MS) * DAY_MS);
}

export interface RetentionResult {
  /** Feedback events deleted. */
  feedback: number;
  /** Customer rows deleted: no attributes, purchases, views or feedback left (see deleteBareUsers). */
  users: number;
  /** Days whose online-metrics counts were forgotten with their events. */
  days: number;
}

/**
 * The customer rows of `ids` (u.id) that feedback made (never written by the shop: PUT /v1/users/:id or a
 * users import clears the mark) and that hold nothing: no attributes, no purchase, interaction or feedback
 * event. Such a customer was never in a training's data (trainings take customers with events or
 * attributes), so no model version holds them.
 */
const HOLDS_NOTHING = `u.made_by_feedback AND u.attributes = '{}'::jsonb
  AND NOT EXISTS (SELECT 1 FROM feedback_events f WHERE f.user_id = u.id)
  AND NOT EXISTS (SELECT 1 FROM purchase_events p WHERE p.user_id = u.id)
  AND NOT EXISTS (SELECT 1 FROM interaction_events i WHERE i.user_id = u.id)`;
const BARE = `u.id = ANY($1::text[]) AND ${HOLDS_NOTHING}`;

/** Customer rows deleted per transaction holding ERASURE_LOCK (bench/README "Feedback retention"). */
const USERS_PER_LOCK = 1000;

/**
 * Of `ids`, deletes the customer rows holding nothing (BARE). Such a row was made by feedback alone
 * (ensureReferenced), and what named it is gone; it is read by nothing but counts and GET /v1/users/:id
 * (trainings take customers with events or attributes). The rows found bare are deleted under
 * ERASURE_LOCK, which every ingestion transaction waits for (INGEST_LOCK) and which waits for those under
 * way, and checked again there: no event naming the customer can be written between the check and the
 * delete, which would otherwise take that event with it (ON DELETE CASCADE) or fail its foreign key. A
 * PUT /v1/users/:id that writes attributes meanwhile is seen (the row is checked again once its writer
 * commits). Found without the lock, and deleted USERS_PER_LOCK at a time: ingestion waits for short deletes only.
 */
async function deleteBareUsers(db: Db, ids: string[]): Promise<number> {
  const { rows: bare } = await db.query<{ id: string }>(`SELECT u.id FROM users u WHERE ${BARE} ORDER BY u.id`, [ids]);
  let deleted = 0;
  for (let from = 0; from < bare.length; from += USERS_PER_LOCK) {
    const chunk = bare.slice(from, from + USERS_PER_LOCK).map((r) => r.id);
    deleted += await db.transaction(async (tx) => {
      await tx.query(ERASURE_LOCK);
      const { rows } = await tx.query<{ n: number }>(`WITH d AS (DELETE FROM users u WHERE ${BARE} RETURNING 1) SELECT count(*)::int AS n FROM d`, [chunk]);
      return rows[0].n;
    });
    await otherWorkTurn();
  }
  return deleted;
}

/**
 * Deletes every customer row holding nothing (BARE) whatever feedback named it: the rows feedback that
 * was a duplicate of a stored event used to make (before insertFeedback deleted them in its own
 * transaction) were named by no feedback, so no expiry ever reached them. One scan of the customers, so
 * a process does it once, on its first sweep, not every hour.
 */
export async function deleteUnnamedUsers(db: Db): Promise<number> {
  const { rows } = await db.query<{ id: string }>(`SELECT u.id FROM users u WHERE ${HOLDS_NOTHING}`);
  return rows.length === 0 ? 0 : deleteBareUsers(db, rows.map((r) => r.id));
}

/**
 * A turn of the event loop for the process's other work. PGlite (the embedded database) answers in process
 * without one: without this, a review's sweep of 100,000 events held every request and probe of an
 * embedded service for 2.1 s (a backlog of a million: about 20 s).
 */
const otherWorkTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Deletes the feedback dated before `before` (a day's start: retentionCutoff), batch by batch, with the
 * customer rows it alone had made, then forgets the counts of the days before it. An abort stops it
 * between batches (a process closing); the next sweep goes on from there. What it deleted is added up
 * in `tally` as it goes, so a failure part way still tells it. The customer rows of a batch are deleted
 * in a transaction of their own, after the batch's: taking ERASURE_LOCK while holding the deleted
 * feedback rows could deadlock with an ingestion re-sending one of them (it waits for the delete, the
 * lock for it). A process that stops between the two leaves those rows; they go when feedback naming
 * them expires again.
 */
export async function deleteFeedbackBefore(
  db: Db,
  before: Date,
  opts: { batch?: number; signal?: AbortSignal; tally?: RetentionResult } = {},
): Promise<RetentionResult> {
  const batch = opts.batch ?? RETENTION_BATCH;
  const result = opts.tally ?? { feedback: 0, users: 0, days: 0 };
  for (;;) {
    if (opts.signal?.aborted) return result;
    // The batch's days are marked to be counted again with it (as an erasure's are): until the last batch
    // forgets them, a report over them counts what is left, as its experiment arms (read from the events) do.
    const deleted = await db.transaction(async (tx) => {
      const { rows } = await tx.query<{ n: number; users: string[] | null; days: string[] | null }>(
        `WITH d AS (
           DELETE FROM feedback_events WHERE event_id IN (
             SELECT event_id FROM feedback_events WHERE ts < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)
           RETURNING user_id, ts, experiment_id),
         -- An experiment whose feedback this trims is no longer held from its start by any report (migration 021);
         -- in id order, as replicas sweeping at once write them.
         trimmed AS (
           INSERT INTO experiment_feedback_trimmed (experiment_id)
           SELECT DISTINCT experiment_id FROM d WHERE experiment_id IS NOT NULL ORDER BY 1
           ON CONFLICT DO NOTHING)
         SELECT count(*)::int AS n, array_agg(DISTINCT user_id) AS users,
                array_agg(DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')) AS days FROM d`,
        [before.toISOString(), batch],
      );
      await markRecount(tx, rows[0].days ?? []);
      return rows[0];
    });
    result.feedback += deleted.n;
    if (deleted.users) result.users += await deleteBareUsers(db, deleted.users);
    if (deleted.n < batch) break;
    await otherWorkTurn();
  }
  result.days = await forgetDaysBefore(db, before.toISOString().slice(0, 10));
  return result;
}

/**
 * The periodic sweep of an API process: feedback older than `days` days (0: kept for ever). Never
 * rejects: a failure is logged and the next sweep tries again.
 */
export function createFeedbackRetention(deps: { db: Db; days: number; log?: (msg: string, err?: unknown) => void; now?: () => Date }) {
  const now = deps.now ?? (() => new Date());
  let unnamedSwept = false;
  return {
    days: deps.days,
    async sweep(signal?: AbortSignal): Promise<RetentionResult & { before: Date | null }> {
      if (deps.days === 0) return { feedback: 0, users: 0, days: 0, before: null };
      const before = retentionCutoff(now(), deps.days);
      const tally: RetentionResult = { feedback: 0, users: 0, days: 0 };
      try {
        await deleteFeedbackBefore(deps.db, before, { signal, tally });
        if (!unnamedSwept && !signal?.aborted) {
          tally.users += await deleteUnnamedUsers(deps.db);
          unnamedSwept = true;
        }
      } catch (err) {
        deps.log?.('could not delete the feedback older than FEEDBACK_RETENTION_DAYS', err);
      }
      return { ...tally, before };
    },
  };
}

export type FeedbackRetention = ReturnType<typeof createFeedbackRetention>;
