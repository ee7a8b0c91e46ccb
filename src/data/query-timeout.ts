import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * How long one Postgres statement may take before its caller gets a dependency failure, for the work
 * in hand: an HTTP request's statements are bounded (a Postgres that stops answering, a paused VM, a
 * partition that drops packets, must not hold a storefront's request for ever), while jobs, migrations
 * and the CLI, whose statements may legitimately run for minutes at ten times our data, are not.
 * Carried by async context, so the repositories need no parameter for it.
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
