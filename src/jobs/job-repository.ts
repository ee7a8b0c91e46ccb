import { randomUUID } from 'node:crypto';
import type { Db } from '../data/db.js';
import { AppError, unknownCursor, WRITE_REFUSALS, type WriteRefusal } from '../errors.js';
import { JOB_TYPES } from './job-types.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface JobRecord {
  id: string;
  type: string;
  status: JobStatus;
  params: Record<string, unknown>;
  /** 0..1 */
  progress: number;
  /** What the job is doing now (e.g. `fit:als`). */
  step: string | null;
  result: unknown;
  error: string | null;
  workerId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
  /**
   * The directories an import job must read within (IMPORT_ROOTS as real paths, column import_roots), when its
   * submission was held to them; absent: anywhere its process can read. Internal: not shown by the API.
   */
  importRoots?: string[];
  /**
   * Options of the job that the release before does not know (column options, not keys of `params`, which that
   * release reads strictly): an export's `bom`. Absent when none.
   */
  options?: Record<string, unknown>;
}

export interface EnqueueOptions {
  /** At most one queued-or-running job per key; a second enqueue throws JOB_ALREADY_RUNNING. */
  exclusiveKey?: string;
  /** Insert the job as already running, claimed by this worker (a CLI that runs the job itself). */
  runningAs?: string;
  /**
   * The client's name for this submission (the Idempotency-Key header) and the request's fingerprint
   * (request-fingerprint.ts): a job already queued under the key is returned instead of a new one,
   * whatever its state, when the fingerprints match; otherwise CONFLICT (see `submitted`). Checked before
   * the exclusive key: a retry finds its own running job, not a 409.
   */
  idempotency?: { key: string; fingerprint: string };
  /**
   * The directories an import job must read within (JobRecord.importRoots): a column, not a key of `params`, which
   * the release before reads strictly (a replica of it, in a rolling upgrade, would fail the job).
   */
  importRoots?: readonly string[];
  /** Options the release before does not know (JobRecord.options): a column, not keys of `params`, for the same reason. */
  options?: Record<string, unknown>;
}

/** The message a job gets when the process running it stopped without finishing it. */
export const INTERRUPTED = 'interrupted: the process running it stopped';

/** What the failures of a job that Postgres or Redis failed by not answering end with: the job may be submitted again as it is. */
const SAFE_TO_SUBMIT_AGAIN = 'what it wrote is kept or was never published, so submitting it again is safe (an import skips the rows already stored)';

/** Ends the message of a job that failed because Postgres or Redis was away for longer than it waits (job-runner failureMessage). */
export const OUTAGE_FAILURE = `Postgres or Redis did not answer for longer than the job waits for it (about a minute); ${SAFE_TO_SUBMIT_AGAIN}`;

const STALL_FAILURE_HEAD = "Postgres did not answer one of the job's statements within the job's limit on a statement";

/** A duration for a person: whole minutes as minutes, anything else in seconds. */
const spoken = (ms: number) => (ms % 60_000 === 0 ? `${ms / 60_000} minute${ms === 60_000 ? '' : 's'}` : `${ms / 1000} s`);

/**
 * Ends the message of a job whose statement got no answer within the job's own limit on a statement (job-runner
 * workStatementLimitMs: 5 minutes in the service; LONG_STATEMENT_MS): a Postgres that takes connections and answers
 * nothing (paused, a proxy whose backend is gone). Not OUTAGE_FAILURE, whose "about a minute" is the wait for a
 * Postgres that refuses connections: the job waited for the statement limit, which a minute's retries do not outlast.
 * Safe to submit again, as an outage's (and no fault of a training's: model recovery, storeAbsenceFailure).
 */
export const stalledStatementFailure = (limitMs?: number): string =>
  `${STALL_FAILURE_HEAD}${limitMs ? ` (${spoken(limitMs)})` : ''}; ${SAFE_TO_SUBMIT_AGAIN}`;

/**
 * Whether a job's error says Postgres or Redis failed it by not answering (OUTAGE_FAILURE, stalledStatementFailure),
 * so that submitting it again is safe and it was no fault of the job's. Errors stored by earlier releases, which
 * ended with OUTAGE_FAILURE for both causes, still match.
 */
export const storeAbsenceFailure = (error: string): boolean =>
  error.endsWith(OUTAGE_FAILURE) || (error.includes(STALL_FAILURE_HEAD) && error.endsWith(SAFE_TO_SUBMIT_AGAIN));

/**
 * Ends the message of a job whose write the model store refused while it answered (job-runner
 * failureMessage): the refusal (errors.ts WRITE_REFUSALS) and that trying again waits for an operator (or, for
 * READONLY met for the whole of the job's wait, for the store to take writes).
 * Not ending with OUTAGE_FAILURE, a model recovery waits for a person rather than training into it.
 */
export const storeRefusesWritesFailure = (refusal: WriteRefusal): string =>
  refusal === 'READONLY'
    ? `the model store refused writes for longer than the job waits for a failover to end (about a minute) (${WRITE_REFUSALS[refusal]}); nothing it wrote was published: submit it again once the store takes writes (readiness: modelStoreWritable)`
    : `the model store refuses writes (${WRITE_REFUSALS[refusal]}); the job did not wait for it, since every try meets the same refusal until it is lifted, and nothing it wrote was published: submit it again once the store takes writes (readiness: modelStoreWritable)`;

/**
 * Ends the message of a job whose statement Postgres cancelled itself (job-runner failureMessage), by the
 * SQLSTATE: 57014, a `statement_timeout` of the server, database or role (or an operator's cancel), and
 * 55P03, a `lock_timeout`. Submitting the job again as it is would only be cancelled again, so each says
 * which limit to lift (and, not ending with OUTAGE_FAILURE, a model recovery waits for a person rather
 * than training into the same limit).
 */
export const CANCELLED_FAILURE: Readonly<Record<'57014' | '55P03', string>> = {
  '57014':
    "Postgres cancelled the job's statement itself: a statement_timeout set on the server, database or role the service connects as (a job's reads can run for minutes on a large shop: lift it for that role, ALTER ROLE <role> SET statement_timeout = 0, and submit the job again), or an operator's cancel",
  '55P03':
    "Postgres gave up the job's wait for a lock: a lock_timeout set on the server, database or role the service connects as (a job may wait behind other work's locks, such as an erasure's: lift it for that role, ALTER ROLE <role> SET lock_timeout = 0, and submit the job again)",
};

const iso = (d: unknown) => (d === null || d === undefined ? null : d instanceof Date ? d.toISOString() : String(d));

function toJob(r: Record<string, unknown>): JobRecord {
  return {
    id: r.id as string,
    type: r.type as string,
    status: r.status as JobStatus,
    params: (r.params as Record<string, unknown>) ?? {},
    progress: r.progress as number,
    step: (r.step as string | null) ?? null,
    result: r.result ?? null,
    error: (r.error as string | null) ?? null,
    workerId: (r.worker_id as string | null) ?? null,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    heartbeatAt: iso(r.heartbeat_at),
    ...(Array.isArray(r.import_roots) ? { importRoots: r.import_roots as string[] } : {}),
    ...(r.options && typeof r.options === 'object' ? { options: r.options as Record<string, unknown> } : {}),
  };
}

export type JobRepository = ReturnType<typeof createJobRepository>;

/**
 * Jobs in Postgres: the queue every runner (the API process or `npm run worker`) claims from.
 * Every write by a runner names its worker id and only touches a job that worker still holds, so a
 * runner whose job was declared interrupted cannot later overwrite the verdict.
 */
/**
 * JSON of a job's params, note or result as Postgres can store it: a jsonb string cannot hold U+0000
 * (22P05), which a result may quote from a file (an unknown factor id). It becomes U+FFFD.
 */
const storableJson = (value: unknown): string => JSON.stringify(value ?? null, (_key, v: unknown) => (typeof v === 'string' ? v.replaceAll('\0', '\uFFFD') : v));
/** A job's error as Postgres text can hold it (no U+0000, 22021): failures may quote a file's bytes. */
const storableText = (text: string): string => text.replaceAll('\0', '\uFFFD');

/**
 * How long an Idempotency-Key names its job: a retry comes within minutes, while a script that sends a fixed
 * key every night (a mistake easily made) would otherwise get its first night's job for good, queuing
 * nothing ever again. The same day as Stripe's keys.
 */
export const IDEMPOTENCY_KEY_HOURS = 24;

export function createJobRepository(db: Db) {
  /** The `limit` jobs of `types` that ended last, newest first. */
  async function recentlyEnded(types: readonly string[], limit: number): Promise<JobRecord[]> {
    const { rows } = await db.query(`SELECT * FROM jobs WHERE status IN ('succeeded', 'failed') AND type = ANY($1::text[]) ORDER BY finished_at DESC NULLS LAST, seq DESC LIMIT $2`, [types, limit]);
    return rows.map(toJob);
  }

  /** Updates a running job held by `workerId`; false when the job is no longer that worker's. */
  async function updateHeld(id: string, workerId: string, set: string, params: unknown[]): Promise<boolean> {
    const { rows } = await db.query(
      `UPDATE jobs SET ${set}, heartbeat_at = now() WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING 1`,
      [id, workerId, ...params],
    );
    return rows.length > 0;
  }

  /**
   * The job queued under an Idempotency-Key in the last IDEMPOTENCY_KEY_HOURS, or null when none was;
   * CONFLICT when it was queued for another request (another fingerprint). An older job gives its key up
   * here (the unique index would refuse a new job under it).
   */
  async function submitted(idempotency: { key: string; fingerprint: string }): Promise<JobRecord | null> {
    await db.query(`UPDATE jobs SET idempotency_key = NULL WHERE idempotency_key = $1 AND created_at < now() - make_interval(hours => $2)`, [idempotency.key, IDEMPOTENCY_KEY_HOURS]);
    const { rows } = await db.query('SELECT * FROM jobs WHERE idempotency_key = $1', [idempotency.key]);
    if (!rows[0]) return null;
    if (rows[0].request_fingerprint === idempotency.fingerprint) return toJob(rows[0]);
    const job = toJob(rows[0]);
    throw new AppError('CONFLICT', `Idempotency-Key "${idempotency.key}" was sent with another request (job ${job.id}, a ${job.type} job); send a new key for a new request`, [
      { path: 'headers.idempotency-key', message: 'used before for another request', jobId: job.id },
    ]);
  }

  return {
    /**
     * Adds a job. With an exclusive key, the partial unique index refuses a second queued-or-running job
     * of that key and this throws JOB_ALREADY_RUNNING with the holder's id in `details[0].jobId`.
     */
    async enqueue(type: string, params: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<JobRecord> {
      const running = opts.runningAs !== undefined;
      // A holder may finish between our failed insert and the lookup; then trying again succeeds.
      for (let attempt = 0; attempt < 3; attempt++) {
        // DO NOTHING on either unique index: the exclusive key's (queued or running) and the idempotency key's.
        const { rows } = await db.query(
          `INSERT INTO jobs (id, type, status, params, exclusive_key, worker_id, started_at, heartbeat_at, idempotency_key, request_fingerprint, import_roots, options)
           VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN now() END, $8, $9, $10::text[], $11::jsonb)
           ON CONFLICT DO NOTHING RETURNING *`,
          [randomUUID(), type, running ? 'running' : 'queued', storableJson(params), opts.exclusiveKey ?? null, opts.runningAs ?? null, running, opts.idempotency?.key ?? null, opts.idempotency?.fingerprint ?? null, opts.importRoots ? [...opts.importRoots] : null, opts.options ? storableJson(opts.options) : null],
        );
        if (rows[0]) return toJob(rows[0]);
        // Queued before under the key (callers look it up first: see `submitted`), or by the same
        // submission sent twice at once, whose other insert won.
        const earlier = opts.idempotency ? await submitted(opts.idempotency) : null;
        if (earlier) return earlier;
        const holder = await db.query<{ id: string; type: string }>(
          `SELECT id, type FROM jobs WHERE exclusive_key = $1 AND status IN ('queued', 'running')`,
          [opts.exclusiveKey],
        );
        if (holder.rows[0]) {
          const { id, type: holderType } = holder.rows[0];
          throw new AppError('JOB_ALREADY_RUNNING', `A ${holderType} job is already queued or running: ${id}`, [{ jobId: id }]);
        }
      }
      throw new AppError('CONFLICT', 'could not enqueue the job: its exclusive key kept changing hands');
    },

    submitted,

    async get(id: string): Promise<JobRecord | null> {
      const { rows } = await db.query('SELECT * FROM jobs WHERE id = $1', [id]);
      return rows[0] ? toJob(rows[0]) : null;
    },

    /**
     * Newest first, optionally of one type; `after` (a job's id) starts after that job, then `offset`
     * skips that many; a 400 when `after` is no job of the list (deleted, or of another type), naming `afterParam`
     * (the query parameter that gave it: `after`, or `cursor`).
     */
    async list(opts: { type?: string; limit?: number; offset?: number; after?: string; afterParam?: 'after' | 'cursor' } = {}): Promise<JobRecord[]> {
      const { rows } = await db.query(
        `WITH cursor AS (SELECT seq FROM jobs WHERE id = $4 AND ($1::text IS NULL OR type = $1))
         SELECT * FROM jobs
         WHERE ($1::text IS NULL OR type = $1) AND ($4::text IS NULL OR seq < (SELECT seq FROM cursor))
         ORDER BY seq DESC LIMIT $2 OFFSET $3`,
        [opts.type ?? null, opts.limit ?? 50, opts.offset ?? 0, opts.after ?? null],
      );
      if (opts.after !== undefined && rows.length === 0) {
        const { rows: found } = await db.query('SELECT 1 FROM jobs WHERE id = $1 AND ($2::text IS NULL OR type = $2)', [opts.after, opts.type ?? null]);
        if (found.length === 0) throw unknownCursor(opts.after, opts.afterParam);
      }
      return rows.map(toJob);
    },

    /** The newest job of one of `types` that ended (succeeded or failed), or null when none ever did. */
    /** Per type and status: how many jobs, and the newest end (finished_at) in ms; for the job gauges. */
    async statusSummary(): Promise<{ type: string; status: JobStatus; jobs: number; lastEndedMs: number | null }[]> {
      const { rows } = await db.query<{ type: string; status: JobStatus; jobs: number; last: number | null }>(
        'SELECT type, status, count(*)::int AS jobs, (extract(epoch FROM max(finished_at)) * 1000)::float8 AS last FROM jobs GROUP BY type, status',
      );
      return rows.map((r) => ({ type: r.type, status: r.status, jobs: r.jobs, lastEndedMs: r.last === null ? null : Number(r.last) }));
    },

    async lastEnded(types: readonly string[]): Promise<JobRecord | null> {
      return (await recentlyEnded(types, 1))[0] ?? null;
    },

    recentlyEnded,

    /** Whether a job of `types` ever succeeded. */
    async anySucceeded(types: readonly string[]): Promise<boolean> {
      const { rows } = await db.query(`SELECT 1 FROM jobs WHERE status = 'succeeded' AND type = ANY($1::text[]) LIMIT 1`, [types]);
      return rows.length > 0;
    },

    /**
     * Claims the oldest queued job of one of `types` for `workerId`. FOR UPDATE SKIP LOCKED makes
     * concurrent claimers skip a row another transaction is claiming, so no two get the same job.
     */
    async claimNext(types: readonly string[], workerId: string): Promise<JobRecord | null> {
      if (types.length === 0) return null;
      const { rows } = await db.query(
        `UPDATE jobs SET status = 'running', worker_id = $2, started_at = now(), heartbeat_at = now()
         WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND type = ANY($1::text[])
                     ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1)
           AND status = 'queued'
         RETURNING *`,
        [types, workerId],
      );
      return rows[0] ? toJob(rows[0]) : null;
    },

    /**
     * Undoes a claim of `workerId` whose job did not start (its runner was stopping when the claim
     * returned): the job is queued again, in its place (seq), for the next runner. One statement, so no
     * moment sees it neither queued nor running: its exclusive key stays held (the partial unique index
     * counts both), and no second job of that key can be queued meanwhile. False when it is no longer
     * that worker's (declared interrupted meanwhile).
     */
    async release(id: string, workerId: string): Promise<boolean> {
      const { rows } = await db.query(
        `UPDATE jobs SET status = 'queued', worker_id = NULL, started_at = NULL, heartbeat_at = NULL
         WHERE id = $1 AND worker_id = $2 AND status = 'running' RETURNING 1`,
        [id, workerId],
      );
      return rows.length > 0;
    },

    /** Records progress (0..1, clamped) and optionally the current step; doubles as a heartbeat. */
    progress(id: string, workerId: string, progress: number, step?: string): Promise<boolean> {
      const p = Math.min(1, Math.max(0, Number.isFinite(progress) ? progress : 0));
      return updateHeld(id, workerId, 'progress = $3, step = COALESCE($4, step)', [p, step ?? null]);
    },

    /**
     * Stores a partial result while the job runs (e.g. the model version being written), so whoever
     * finds the job interrupted later can clean up after it.
     */
    note(id: string, workerId: string, partial: Record<string, unknown>): Promise<boolean> {
      return updateHeld(id, workerId, 'result = $3', [storableJson(partial)]);
    },

    heartbeat(id: string, workerId: string): Promise<boolean> {
      return updateHeld(id, workerId, 'status = status', []);
    },

    /**
     * The results of finished export jobs whose files an erasure rewrote (scrubExportFiles: by job id, the
     * rows and customers removed and the file's new size): their counts and size describe the file as it now
     * is. Ids of no finished export (a file a job no longer has, another process's name) change nothing.
     */
    async exportsScrubbed(scrubbed: ReadonlyMap<string, { rows: number; customers: number; bytes: number }>): Promise<void> {
      if (scrubbed.size === 0) return;
      const entries = [...scrubbed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      await db.query(
        `UPDATE jobs j SET result = j.result || jsonb_build_object(
           'rows', GREATEST((j.result->>'rows')::bigint - s.rows, 0),
           'customers', GREATEST((j.result->>'customers')::bigint - s.customers, 0),
           'bytes', s.bytes)
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) AS s(id, rows, customers, bytes)
         WHERE j.id = s.id AND j.type = $5 AND j.status = 'succeeded'
           AND jsonb_typeof(j.result->'rows') = 'number' AND jsonb_typeof(j.result->'customers') = 'number'`,
        [entries.map(([id]) => id), entries.map(([, r]) => r.rows), entries.map(([, r]) => r.customers), entries.map(([, r]) => r.bytes), JOB_TYPES.export],
      );
    },

    succeed(id: string, workerId: string, result: unknown): Promise<boolean> {
      return updateHeld(id, workerId, `status = 'succeeded', progress = 1, result = $3, finished_at = now()`, [storableJson(result)]);
    },

    fail(id: string, workerId: string, error: string): Promise<boolean> {
      return updateHeld(id, workerId, `status = 'failed', error = $3, finished_at = now()`, [storableText(error)]);
    },

    /** Running jobs with their holder and last heartbeat, for recovery decisions. */
    async listRunning(): Promise<{ id: string; workerId: string | null; heartbeatAt: string | null }[]> {
      const { rows } = await db.query(`SELECT id, worker_id, heartbeat_at FROM jobs WHERE status = 'running'`);
      return rows.map((r) => ({ id: r.id as string, workerId: (r.worker_id as string | null) ?? null, heartbeatAt: iso(r.heartbeat_at) }));
    },

    /**
     * Marks running jobs as failed with INTERRUPTED when their heartbeat is older than `staleAfterMs`
     * (or missing), or their worker is in `deadWorkers`, or `all` is set; never those in `exceptIds`
     * (the jobs the sweeping runner is running itself). Returns the jobs it failed.
     * Heartbeats are the database's time, so their age is too: a host whose clock runs ahead does not
     * take live jobs for stale ones.
     */
    async failInterrupted(opts: { staleAfterMs?: number; deadWorkers?: string[]; all?: boolean; exceptIds?: string[] }): Promise<JobRecord[]> {
      const { rows } = await db.query(
        `UPDATE jobs SET status = 'failed', error = $4, finished_at = now()
         WHERE status = 'running' AND NOT (id = ANY($5::text[]))
           AND ($1 OR ($2::float8 IS NOT NULL AND (heartbeat_at IS NULL OR heartbeat_at < now() - $2::float8 * interval '1 millisecond')) OR worker_id = ANY($3::text[]))
         RETURNING *`,
        [opts.all ?? false, opts.staleAfterMs ?? null, opts.deadWorkers ?? [], INTERRUPTED, opts.exceptIds ?? []],
      );
      return rows.map(toJob);
    },
  };
}
