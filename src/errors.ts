import { CANCELLED_STATES, QUERY_TIMEOUT_MESSAGE } from './data/query-timeout.js';

/**
 * The error catalogue: every error the API returns has a stable code and status listed here.
 * Domain code throws AppError; the HTTP error handler maps it to `{ error: { code, message, details? } }`.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, message: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON' },
  JSON_TOO_DEEP: { status: 400, message: 'The JSON body is nested too deeply' },
  MALFORMED_REQUEST: { status: 400, message: 'The HTTP request is malformed' },
  UNAUTHORIZED: { status: 401, message: 'An API key is required' },
  FORBIDDEN: { status: 403, message: 'The API key lacks the scope this route needs' },
  NOT_FOUND: { status: 404, message: 'Not found' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  CONFLICT: { status: 409, message: 'Conflicts with the current state' },
  JOB_ALREADY_RUNNING: { status: 409, message: 'A job of this kind is already running' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  URI_TOO_LONG: { status: 414, message: 'A path parameter is too long' },
  BATCH_TOO_LARGE: { status: 413, message: 'The batch has too many records' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type' },
  EXPECTATION_FAILED: { status: 417, message: 'The Expect header cannot be met: only 100-continue is' },
  UNPROCESSABLE: { status: 422, message: 'The request is well-formed but cannot be processed' },
  INVALID_RECIPE: { status: 422, message: 'The recipe is not valid' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  INTERNAL: { status: 500, message: 'Internal error' },
  UNAVAILABLE: { status: 503, message: 'A dependency is not available' },
  DEPENDENCY_UNAVAILABLE: { status: 503, message: 'A store this request needs (database or model store) is not reachable right now; retry later' },
  OVERLOADED: { status: 503, message: 'The server is overloaded; retry later' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down; retry on another instance' },
  ERASURE_HELD_ELSEWHERE: {
    status: 503,
    message: 'Another process of the service holds this erasure and completes it; sending it again is safe, and not needed',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown[],
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
}

export const notFound = (what: string, id: string) => new AppError('NOT_FOUND', `${what} "${id}" not found`);

/** An item the served model does not know: none such, or one added to the catalogue since its training. */
export const notInModel = (id: string) =>
  new AppError('NOT_FOUND', `item "${id}" is not in the active model: no such item, or one added to the catalogue since its training (it joins at the next)`);

/** A list's `after` (or `cursor`, by the parameter that named it) that names no entry of the list. */
export const unknownCursor = (after: string, param: 'after' | 'cursor' = 'after') =>
  new AppError('VALIDATION_FAILED', `${param}: "${after}" is not an entry of this list (deleted meanwhile?); start again without it`, [
    { path: `querystring.${param}`, message: 'no such entry in this list' },
  ]);

/**
 * The 503 message for a statement given up at a time limit: the service's own (PG_QUERY_TIMEOUT_MS, or a
 * shared scan waited for longer than the request may wait) or the server's (statement_timeout, lock_timeout).
 * The database answered other statements: it was slow (a long scan, a lock held), which "not reachable"
 * misdescribed to whoever read the 503 during a slow query.
 */
export const DATABASE_TIMED_OUT_MESSAGE =
  'The database did not answer within the time limit for this request (it is slow or busy right now, not unreachable): the statement was cancelled; retry later';

/**
 * The 503 message for a transaction Postgres rolled back because it conflicted with another (a deadlock,
 * 40P01, or a serialization failure, 40001): nothing of it was kept, and the same request sent again
 * succeeds once the other is through (writes are idempotent). Rare: migrations (one transaction that
 * locks tables a writer of the release before also locks) are where it was seen.
 */
export const TRANSACTION_CONFLICT_MESSAGE =
  'The database rolled back this request because it conflicted with another transaction (a deadlock): nothing of it was stored; retry';

/** SQLSTATEs of a transaction Postgres rolled back in a conflict with another: deadlock_detected, serialization_failure. */
const CONFLICT_STATES: ReadonlySet<string> = new Set(['40P01', '40001']);

/** Whether `err` (or its `cause`) is a transaction Postgres rolled back in a conflict (CONFLICT_STATES). */
export function transactionConflict(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'string' && CONFLICT_STATES.has(code)) || transactionConflict(err.cause, depth + 1);
}

/** Seconds a client is asked to wait (Retry-After) before retrying a request refused with a 503. */
export const RETRY_AFTER_SECONDS = 2;

// Socket-level failures: the server is down, restarting or unreachable.
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// SQLSTATE class 08 (connection exception), 57P01-57P03 (shutdown, crash, starting up), 53300 (too many connections),
// and a statement Postgres cancelled itself (57014 statement_timeout or pg_cancel_backend, 55P03 lock_timeout:
// CANCELLED_STATES), which is the slow Postgres that our own statement limit gives up on, only sooner.
const PG_STATES = /^(08...|57P0[1-3]|53300)$/;
// What pg and ioredis say when a connection is lost, refused or times out (their errors carry no code).
const MESSAGES = [
  'Connection terminated', // pg: server closed the connection, or connectionTimeoutMillis passed
  'timeout exceeded when trying to connect', // pg-pool: no free slot within connectionTimeoutMillis
  'Client has encountered a connection error and is not queryable', // pg: a broken client reused
  QUERY_TIMEOUT_MESSAGE, // pg: a statement outlived its limit (data/query-timeout.ts)
  "Stream isn't writeable", // ioredis with enableOfflineQueue false: not connected right now
  'Connection is closed', // ioredis: closed with commands in flight
  'Command timed out', // ioredis commandTimeout
  'Reached the max retries per request limit', // ioredis maxRetriesPerRequest
  "Cluster isn't ready", // ioredis Cluster without its slot map and with enableOfflineQueue false
  'CLUSTERDOWN', // Redis Cluster: a slot has no serving node
  'Too many Cluster redirections', // ioredis Cluster: the slot map keeps changing (failover)
];
// Redis replies that mean "not now" rather than "wrong": loading its data after a restart, a replica
// written to during a failover, a replica cut off from its primary, a slot being moved.
// NOAUTH / WRONGPASS: the password changed under a running process (a rotation); like an outage, it may
// pass once the deployment follows, and the request may then succeed as it is.
const REDIS_REPLIES = /^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|NOAUTH|WRONGPASS) /;

/** How Redis refuses a write while it answers reads and pings: the first word of its reply. */
export type WriteRefusal = 'READONLY' | 'OOM' | 'MISCONF';

/** Why a Redis that answers refuses writes, and what lifts it, by its reply's first word. */
export const WRITE_REFUSALS: Readonly<Record<WriteRefusal, string>> = {
  READONLY: 'Redis answers READONLY: REDIS_URL names a replica, or a failover is under way',
  OOM: "Redis answers OOM: it is full under its maxmemory with the noeviction policy (raise maxmemory, free memory, or give the model store a Redis of its own)",
  MISCONF:
    'Redis answers MISCONF: it cannot save its snapshots to disk and stop-writes-on-bgsave-error is on (see its log: a full disk, or a dir it cannot write to)',
};

const WRITE_REFUSAL_REPLY = /^(READONLY|OOM|MISCONF) /;

/**
 * How Redis refused a write in `err` (or its `cause`, or an AggregateError's errors), or null: READONLY (a
 * replica: REDIS_URL pointing at one, or an old primary during a failover), OOM (full under maxmemory with
 * noeviction), MISCONF (its snapshots fail and stop-writes-on-bgsave-error is on). It answers a ping all the
 * while, and a write tried again meets the same refusal until an operator (or a failover) changes it.
 */
export function storeWriteRefusal(err: unknown, depth = 0): WriteRefusal | null {
  if (!(err instanceof Error) || depth > 4) return null;
  const reply = err.name === 'ReplyError' ? WRITE_REFUSAL_REPLY.exec(err.message) : null;
  if (reply) return reply[1] as WriteRefusal;
  for (const inner of [err.cause, ...(err instanceof AggregateError ? err.errors : [])]) {
    const found = storeWriteRefusal(inner, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Whether `err` (or its `cause`) is Redis refusing a write while it answers (storeWriteRefusal). */
export const storeRefusesWrites = (err: unknown): boolean => storeWriteRefusal(err) !== null;

/**
 * Whether `err` is a refusal that waiting does not lift (OOM, MISCONF: an operator must act). READONLY is not:
 * an old primary answers it during a failover, which ends by itself within seconds (a Sentinel's or a
 * cluster's switch), so a write meeting it is tried again within a job's wait like an outage.
 */
export const storeRefusesWritesUntilMended = (err: unknown): boolean => {
  const refusal = storeWriteRefusal(err);
  return refusal !== null && refusal !== 'READONLY';
};

/**
 * The 503 for an error that means a backing store (Postgres, Redis) is down, unreachable or too slow (a
 * statement given up at a time limit: DATABASE_TIMED_OUT_MESSAGE) rather than that the request is wrong,
 * or null for any other error. Looks through `cause` and AggregateError.
 */
export function dependencyFailure(err: unknown, depth = 0): AppError | null {
  if (!(err instanceof Error) || depth > 4) return null;
  if (err instanceof AppError) return err.code === 'DEPENDENCY_UNAVAILABLE' ? err : null;
  const code = (err as { code?: unknown }).code;
  if (err.message.includes(QUERY_TIMEOUT_MESSAGE) || (typeof code === 'string' && CANCELLED_STATES.has(code))) {
    return new AppError('DEPENDENCY_UNAVAILABLE', DATABASE_TIMED_OUT_MESSAGE);
  }
  if (typeof code === 'string' && CONFLICT_STATES.has(code)) return new AppError('DEPENDENCY_UNAVAILABLE', TRANSACTION_CONFLICT_MESSAGE);
  const lost =
    (typeof code === 'string' && (SOCKET_CODES.has(code) || PG_STATES.test(code) || CANCELLED_STATES.has(code))) ||
    err.name === 'MaxRetriesPerRequestError' ||
    MESSAGES.some((m) => err.message.includes(m)) ||
    (err.name === 'ReplyError' && REDIS_REPLIES.test(err.message));
  if (lost) return new AppError('DEPENDENCY_UNAVAILABLE');
  for (const inner of [err.cause, ...(err instanceof AggregateError ? err.errors : [])]) {
    const found = dependencyFailure(inner, depth + 1);
    if (found) return found;
  }
  return null;
}
