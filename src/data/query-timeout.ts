import { AsyncLocalStorage } from 'node:async_hooks';
import { within } from '../within-time.js';

/**
 * How long one Postgres statement may take before its caller gets a dependency failure, for the work
 * in hand: an HTTP request's statements are bounded (a Postgres that stops answering, a paused VM, a
 * partition that drops packets, must not hold a storefront's request for ever), while a job's work,
 * migrations and the CLI, whose statements may legitimately run for minutes at ten times our data, are
 * not. Carried by async context, so the repositories need no parameter for it.
 */
const bound = new AsyncLocalStorage<number | null>();

/** Runs `fn` with every Postgres statement it makes (directly or through anything it awaits) limited to `ms`. */
export function withQueryTimeout<T>(ms: number, fn: () => T): T {
  return bound.run(ms, fn);
}

/** Runs `fn` with no statement limit, whatever the caller's (a job started from a request). */
export function withoutQueryTimeout<T>(fn: () => T): T {
  return bound.run(null, fn);
}

/** The limit for a statement made now, in ms, or undefined for none. */
export function queryTimeout(): number | undefined {
  return bound.getStore() ?? undefined;
}

/** The message of pg's error for a statement that outlived its limit (client side: the server may still run it). */
export const QUERY_TIMEOUT_MESSAGE = 'Query read timeout';

/** Whether `err` is a statement given up at its limit. */
export const lateStatement = (err: unknown): boolean => err instanceof Error && err.message === QUERY_TIMEOUT_MESSAGE;

/**
 * SQLSTATEs of a statement Postgres gave up itself: 57014 query_canceled (a `statement_timeout` set on the
 * server, database or role, as managed Postgres services do, or a DBA's pg_cancel_backend) and 55P03
 * lock_not_available (a `lock_timeout`). To the service this is the slow Postgres that the statement limit
 * guards against, given up by the server first; unlike a late statement its connection is still usable.
 */
export const CANCELLED_STATES: ReadonlySet<string> = new Set(['57014', '55P03']);

/** The SQLSTATE (of CANCELLED_STATES) of a statement Postgres cancelled itself, looking through `cause`, or null. */
export function cancelledState(err: unknown, depth = 0): string | null {
  if (!(err instanceof Error) || depth > 4) return null;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && CANCELLED_STATES.has(code) ? code : cancelledState(err.cause, depth + 1);
}

/** Whether `err` is a statement Postgres cancelled itself (CANCELLED_STATES), looking through `cause`. */
export const cancelledStatement = (err: unknown): boolean => cancelledState(err) !== null;

/** A statement given up at a limit, ours (lateStatement) or the server's (cancelledStatement). */
export const timedOutStatement = (err: unknown): boolean => lateStatement(err) || cancelledStatement(err);

/**
 * Limit on statements that may rightly take long but must not wait for ever: shared scans, the admin
 * operations that queue behind each other (erasures, rollbacks, a training's scrubs) or read a long
 * history (online metrics), and the job runner's bookkeeping. Far beyond a request's own limit, but a
 * statement is still given up at last (a connection to a server that vanished without a word would
 * otherwise hold it for hours).
 */
export const LONG_STATEMENT_MS = 300_000;

/**
 * Starts work whose result many requests share (a cached aggregate: popularity lists, the lifecycle
 * history), begun by whichever request asks first. It runs under LONG_STATEMENT_MS rather than that
 * request's limit, so a scan slower than the limit (seconds at ten times our data) still finishes and
 * serves the requests after it, instead of being given up by each request in turn. Each request waits
 * for it through waitForShared.
 */
export function startShared<T>(work: () => Promise<T>): Promise<T> {
  return withQueryTimeout(LONG_STATEMENT_MS, work);
}

/** Waits for shared work at most the caller's limit, then fails as a late statement would (the work goes on). */
export function waitForShared<T>(running: Promise<T>): Promise<T> {
  const ms = queryTimeout();
  if (ms === undefined) return running;
  return within(running, ms, () => {
    throw new Error(QUERY_TIMEOUT_MESSAGE);
  });
}
