import type { Db } from './db.js';
import { SERVER_RUN_SQL } from './server-run.js';

/**
 * The durable list of erased users (migration 004). Erasure itself deletes the rows and records the id
 * in one transaction (event-repository deleteUser); this reads the list back, so model versions trained
 * or kept from before an erasure can be scrubbed of it (src/privacy/user-erasure.ts).
 */
/**
 * Held by every erasure for its whole run (its Postgres part, the model store, export files) and by
 * whatever else rewrites what an erasure rewrites (a training's scrub and publish, a rollback's scrub, an
 * export's last scrub): they run one at a time, across processes. A transaction-scoped advisory lock, so ingestion
 * does not wait for it.
 */
export const ERASURE_SERIAL = 'SELECT pg_advisory_xact_lock(7262361203)';

/**
 * Taken by an erasure only for its last, short part (deleting the rows, numbering it in erased_users,
 * dropping the live events): erasure numbers commit in order, and ingestion, which takes ROW EXCLUSIVE,
 * waits for that part, so no event of the customer is written (or appended to live state) around it.
 * Feedback retention takes it for the same reason while it deletes customer rows (feedback-retention.ts).
 */
export const ERASURE_LOCK = 'LOCK TABLE erased_users IN SHARE ROW EXCLUSIVE MODE';

/** Taken first by every ingestion transaction: waits for ERASURE_LOCK, not for other ingestion. */
export const INGEST_LOCK = 'LOCK TABLE erased_users IN ROW EXCLUSIVE MODE';

/** Where a read of the erasures owed stands: the snapshot it read under (pg_current_snapshot()) and the server's run. */
export interface OwedMark {
  snapshot: string;
  server: string;
}

/**
 * A read of the erasures owed (owedSince): every id owed (`all`), or what changed since the mark it was asked from
 * (`owed`: ids owed now whose request was written since; `settled`: ids no longer owed whose request was deleted
 * since), with the mark of this read.
 */
export type OwedRead = { mark: OwedMark } & ({ all: string[] } | { owed: string[]; settled: string[] });

/**
 * The rows written (erasure_requests.write_xid, erasure_requests_settled.write_xid: migration 037) by transactions the
 * mark's snapshot did not see: in flight then ($2, its xip list) or begun after it (from $1, its xmax). Not from its
 * xmin: that is the oldest transaction open anywhere on the server, and every row since would be read each time.
 */
const UNSEEN = 'write_xid >= $1::xid8 OR write_xid = ANY ($2::xid8[])';
const OWED_CHANGES_SQL = `SELECT pg_current_snapshot()::text AS snapshot, ${SERVER_RUN_SQL} AS server,
  ARRAY(SELECT user_id FROM erasure_requests WHERE ${UNSEEN}) AS owed,
  ARRAY(SELECT DISTINCT user_id FROM erasure_requests_settled WHERE ${UNSEEN}) AS settled`;
/**
 * The customers whose erasure is owed (asked, not completed: a row of erasure_requests, migration 036), one row each:
 * the one definition, read back by pendingRequests and joined against inside Postgres where a read leaves them out
 * (event-repository purchaseRange('owed'), firstPurchaseIn(window, 'owed')), so their ids need not cross the wire.
 */
export const OWED_IDS_SQL = 'SELECT user_id FROM erasure_requests';
const OWED_ALL_SQL = `SELECT pg_current_snapshot()::text AS snapshot, ${SERVER_RUN_SQL} AS server, ARRAY(${OWED_IDS_SQL} ORDER BY user_id) AS ids`;

export function createErasureRepository(db: Db) {
  async function erasuresAfter(mark: number, on: Db = db): Promise<{ userId: string; seq: number }[]> {
    const { rows } = await on.query<{ user_id: string; seq: string }>('SELECT user_id, seq::text AS seq FROM erased_users WHERE seq > $1 ORDER BY seq', [mark]);
    return rows.map((r) => ({ userId: r.user_id, seq: Number(r.seq) }));
  }

  /** The customers whose erasure was asked for and is not recorded yet (erasure_requests, migration 036), by id. */
  async function pendingRequests(on: Db = db): Promise<string[]> {
    const { rows } = await on.query<{ user_id: string }>(`${OWED_IDS_SQL} ORDER BY user_id`);
    return rows.map((r) => r.user_id);
  }

  return {
    /**
     * Records that the customers' erasure was asked for (erasure_requests), committed before its scrub starts, and
     * takes it for `leaseMs` as `holder` (migration 039: the asking process's token and the number of this ask; the
     * re-driver leaves it alone meanwhile: this process drives it). Asked again (here or by another process), the
     * first time it was asked stays, and the lease is the latest asker's. The erasure's transaction deletes the row
     * (event-repository deleteUsers). No holder: nobody holds it (as a release before 039 asks).
     */
    async askErasure(userIds: readonly string[], leaseMs: number, holder: string | null = null): Promise<void> {
      await db.query(
        `INSERT INTO erasure_requests (user_id, asked_at, next_at, holder) SELECT u, now(), now() + $2 * interval '1 millisecond', $3 FROM unnest($1::text[]) AS u ORDER BY u
         ON CONFLICT (user_id) DO UPDATE SET next_at = excluded.next_at, holder = excluded.holder`,
        [[...new Set(userIds)].sort(), leaseMs, holder],
      );
    },

    /**
     * Notes a failed try of the customers' erasures: one more attempt, the error, and the next try no sooner than
     * `backoffMs` doubled per attempt that failed before it, at most `maxBackoffMs`; nobody holds them after it (a
     * renewal that lands late, its statement given up on the client and run by the server, moves no back-off). Rows the
     * erasure deleted meanwhile (done elsewhere) are not brought back. With `owner` (a process's token and ':'), only
     * the rows it holds: one another process took since (its lease ran out here) keeps that process's lease and count.
     * With `holders` (the asks and claims of the try that failed), only the rows one of them still holds: the same
     * customer asked again of this process since (a later ask, waiting for the next turn) keeps its lease, and is
     * erased in that turn instead of waiting out the back-off.
     */
    async erasureFailed(
      userIds: readonly string[], error: string, backoff: { backoffMs: number; maxBackoffMs: number }, owner?: string, holders?: readonly string[],
    ): Promise<void> {
      await db.query(
        `UPDATE erasure_requests SET attempts = attempts + 1, last_error = $2, last_tried_at = now(), holder = NULL,
           next_at = now() + least($3::float8 * power(2, least(attempts, 30)), $4::float8) * interval '1 millisecond'
         WHERE user_id = ANY($1::text[]) AND ($5::text IS NULL OR starts_with(holder, $5::text)) AND ($6::text[] IS NULL OR holder = ANY($6::text[]))`,
        [[...new Set(userIds)].sort(), error.slice(0, 1000), backoff.backoffMs, backoff.maxBackoffMs, owner ?? null, holders ? [...holders] : null],
      );
    },

    /**
     * Records again as asked the customers a turn erased again though their request was gone (event-repository
     * ErasureSteps.answered) and that then failed: without a row, nothing would complete them, though their DELETE is
     * answered as recorded. Written already noted as that failed try (one attempt, the error, erasureFailed's back-off,
     * nobody holding it) in the same statement: written held and noted by a second statement, a stall between the two
     * left it held for a whole lease (the second given up at its limit). An id asked again meanwhile keeps that ask's row.
     */
    async askAgain(userIds: readonly string[], error: string, backoff: { backoffMs: number; maxBackoffMs: number }): Promise<void> {
      await db.query(
        `INSERT INTO erasure_requests (user_id, asked_at, next_at, holder, attempts, last_error, last_tried_at)
         SELECT u, now(), now() + least($3::float8, $4::float8) * interval '1 millisecond', NULL, 1, $2, now() FROM unnest($1::text[]) AS u ORDER BY u
         ON CONFLICT (user_id) DO NOTHING`,
        [[...new Set(userIds)].sort(), error.slice(0, 1000), backoff.backoffMs, backoff.maxBackoffMs],
      );
    },

    /**
     * Takes up to `limit` erasures that are due (asked, not recorded, past their lease or back-off) for `leaseMs` as
     * `holder` (a new one for each claim: migration 039), oldest due first: a row another process is taking at the
     * same moment is skipped (FOR UPDATE SKIP LOCKED) and one it took is no longer due, so two processes never take
     * one erasure at once. One statement, committed.
     */
    async claimErasures(limit: number, leaseMs: number, holder: string | null = null): Promise<string[]> {
      const { rows } = await db.query<{ user_id: string }>(
        `UPDATE erasure_requests SET next_at = now() + $2 * interval '1 millisecond', last_tried_at = now(), holder = $3
         WHERE user_id IN (SELECT user_id FROM erasure_requests WHERE next_at <= now() ORDER BY next_at, user_id LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING user_id`,
        [limit, leaseMs, holder],
      );
      return rows.map((r) => r.user_id).sort();
    },

    /**
     * Moves the lease of erasures this process still drives `leaseMs` ahead (its heartbeat, privacy/erasure-leases.ts):
     * those of `userIds` it holds (`owner`: its token and ':'; migration 039). One another process took since (this
     * process's lease ran out) is left with that process's lease, and one whose try failed (no holder) keeps its
     * back-off. Rows locked by another transaction are skipped, not waited for (SKIP LOCKED): the erasure's own
     * transaction, deleting them as it completes, or another process taking them; waiting could deadlock with the
     * erasure's deletion of the same rows in another order. Rows gone (completed) are not brought back. One statement.
     */
    async renewErasures(userIds: readonly string[], leaseMs: number, owner: string): Promise<void> {
      await db.query(
        `UPDATE erasure_requests SET next_at = now() + $2 * interval '1 millisecond'
         WHERE user_id IN (SELECT user_id FROM erasure_requests WHERE user_id = ANY($1::text[]) AND starts_with(holder, $3) FOR UPDATE SKIP LOCKED)`,
        [[...new Set(userIds)].sort(), leaseMs, owner],
      );
    },

    /** How many erasures are asked and not recorded, and how many of them are due now (one read of the table). */
    async erasureRequestCounts(): Promise<{ pending: number; due: number }> {
      const { rows } = await db.query<{ pending: number; due: number }>(
        'SELECT count(*)::int AS pending, count(*) FILTER (WHERE next_at <= now())::int AS due FROM erasure_requests',
      );
      return { pending: rows[0]?.pending ?? 0, due: rows[0]?.due ?? 0 };
    },

    /**
     * Drops the settled ids older than the day they are kept (migration 037), as each deletion of erasure_requests does:
     * without a deletion for a while (no erasure completed), the last ones were kept for good. By the index on
     * settled_at: with none that old, a look at the index and no write. How many it dropped.
     */
    async pruneSettled(): Promise<number> {
      const { rows } = await db.query<{ n: number }>(
        "WITH gone AS (DELETE FROM erasure_requests_settled WHERE settled_at < now() - interval '1 day' RETURNING 1) SELECT count(*)::int AS n FROM gone",
      );
      return rows[0]?.n ?? 0;
    },

    /** The customers whose erasure was asked for and is not recorded yet: a training leaves them out. */
    pendingRequests: () => pendingRequests(),

    /**
     * The erasures owed, for a process that keeps them (privacy/erasure-follower.ts): with `since` (the mark of its last
     * read), what changed since, in one statement (one snapshot, whose mark comes with it); without, or when the
     * server is another run than the mark's (a restart, a promoted replica: the mark's transaction ids say nothing),
     * every id owed. An id asked again after its erasure completed is owed, not settled. The settled ids are kept a
     * day (migration 037): a mark older than that misses some, so the caller reads every id owed well before.
     */
    async owedSince(since: OwedMark | null): Promise<OwedRead> {
      if (since) {
        const [, xmax, xip] = since.snapshot.split(':');
        const { rows } = await db.query<OwedMark & { owed: string[]; settled: string[] }>(OWED_CHANGES_SQL, [xmax, xip ? xip.split(',') : []]);
        const { snapshot, server, owed, settled } = rows[0];
        if (server === since.server) {
          const now = new Set(owed);
          return { mark: { snapshot, server }, owed, settled: settled.filter((id) => !now.has(id)) };
        }
      }
      const { rows } = await db.query<OwedMark & { ids: string[] }>(OWED_ALL_SQL);
      const { snapshot, server, ids } = rows[0];
      return { mark: { snapshot, server }, all: ids };
    },

    /** The highest erasure number so far (0 when none): a training notes it before reading its data. */
    async mark(): Promise<number> {
      const { rows } = await db.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM erased_users');
      return Number(rows[0]?.seq ?? 0);
    },

    /** How many users were erased after `mark`. */
    async countAfter(mark: number): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM erased_users WHERE seq > $1', [mark]);
      return rows[0]?.n ?? 0;
    },

    /** Users erased after `mark` (all of them for 0), oldest erasure first. */
    async erasedSince(mark: number): Promise<string[]> {
      return (await erasuresAfter(mark)).map((e) => e.userId);
    },

    /**
     * The erasures after `mark`, oldest first, with their numbers. Erasures are numbered and committed one
     * at a time (event-repository deleteUser locks the table), so none can later appear below a number
     * already read: a reader that keeps the highest number it saw misses nothing.
     */
    erasuresAfter,

    /** The highest number of the erasures made before `time` (0 when none): where a process that started then stands. */
    async markBefore(time: Date): Promise<number> {
      const { rows } = await db.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM erased_users WHERE erased_at < $1', [time.toISOString()]);
      return Number(rows[0]?.seq ?? 0);
    },

    /**
     * Runs `fn` while no erasure runs (ERASURE_SERIAL), with the erasures after a mark, the highest
     * number (`markNow`) and the erasures asked and not recorded (`pending`), read inside: an erasure under way is waited for and counted. `fn` must not wait
     * on the database itself (PGlite has one connection, held here).
     */
    locked<T>(
      fn: (erasedSince: (mark: number) => Promise<string[]>, markNow: () => Promise<number>, pending: () => Promise<string[]>) => Promise<T>,
    ): Promise<T> {
      return db.transaction(async (tx) => {
        await tx.query(ERASURE_SERIAL);
        return fn(
          async (mark) => (await erasuresAfter(mark, tx)).map((e) => e.userId),
          async () => Number((await tx.query<{ seq: string | null }>('SELECT max(seq)::text AS seq FROM erased_users')).rows[0]?.seq ?? 0),
          () => pendingRequests(tx),
        );
      });
    },
  };
}

export type ErasureRepository = ReturnType<typeof createErasureRepository>;
