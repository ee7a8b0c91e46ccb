import pg from 'pg';
import Cursor from 'pg-cursor';
import { mkdirSync } from 'node:fs';
import type { PGlite as PGliteInstance } from '@electric-sql/pglite';
import { lateStatement as late, queryTimeout } from './query-timeout.js';

/**
 * The one query interface the data layer uses, implemented by a pg pool (a Postgres server) and by
 * PGlite (embedded Postgres in WASM). Parameters are `$1..$n`; arrays are passed as Postgres arrays.
 */
export interface Db {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  /**
   * The rows of a query in batches of at most `batchSize`, without holding all of them: a cursor on
   * Postgres (one pooled connection for the whole iteration); PGlite, embedded and in-process, has no
   * cursor API and yields the whole result as one batch. Rows come in the order the query produces them,
   * the same as `query` with the same plan. Stopping the iteration early closes the cursor.
   */
  stream<T = Record<string, unknown>>(sql: string, params?: unknown[], batchSize?: number): AsyncGenerator<T[]>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs fn in one transaction on one connection; a throw rolls everything back. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: 'postgres' | 'pglite';
}

/** Default of `connectTimeoutMs`: how long a query waits for a connection (a new one or a free pool slot). */
export const PG_CONNECT_TIMEOUT_MS = 2000;

/**
 * Idle time before TCP keepalive probes a connection (Node then probes every second, ten times). A peer
 * that vanished or a partition that lost Postgres's answer, with nothing of ours unacknowledged, is
 * noticed after about 20 s instead of the OS default of two hours: a job waiting for a reply that will
 * never come (nothing else limits a job's statements) failed only after 2 h 11 min, the job queue
 * stopped behind it. Probes are answered by the server's kernel while a long statement runs.
 */
export const PG_KEEPALIVE_IDLE_MS = 10_000;

/** Rows per batch of Db.stream unless the caller says otherwise. */
export const DEFAULT_STREAM_BATCH = 10_000;

export function createPgDb(url: string, opts: { max?: number; schema?: string; connectTimeoutMs?: number } = {}): Db {
  const poolConfig: pg.PoolConfig = {
    connectionString: url,
    max: opts.max ?? 10,
    // A server that does not answer (down host, full pool) fails the query after this instead of
    // holding the request: the caller answers 503 and the client retries.
    connectionTimeoutMillis: opts.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
    // A peer that vanished without closing the socket is noticed by TCP keepalive.
    keepAlive: true,
    keepAliveInitialDelayMillis: PG_KEEPALIVE_IDLE_MS,
    // A schema per test run isolates integration suites sharing one database.
    ...(opts.schema ? { options: `-c search_path=${opts.schema}` } : {}),
  };
  const pool = new pg.Pool(poolConfig);
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  async function* read<T>(client: pg.PoolClient, sql: string, params: unknown[] | undefined, batchSize: number): AsyncGenerator<T[]> {
    const cursor = client.query(new Cursor<T>(sql, params));
    // One batch read ahead: the server produces the next batch while the caller works on this one.
    let next: Promise<T[]> | null = cursor.read(batchSize);
    try {
      for (;;) {
        const rows: T[] = await next;
        next = null;
        if (rows.length === 0) return;
        next = cursor.read(batchSize);
        yield rows;
      }
    } finally {
      // Stopped early: the read ahead finishes (or fails, which no longer matters) before the cursor closes.
      if (next) await next.catch(() => {});
      await cursor.close();
    }
  }
  // A statement made under a limit (query-timeout.ts) fails with QUERY_TIMEOUT_MESSAGE when its answer is
  // late. Its connection is then discarded (the late answer would come to the next user of it): by run()
  // for a pooled query, by transaction() in a transaction; and its backend is told to cancel it.
  const statement = (text: string, values?: unknown[]): pg.QueryConfig | string => {
    const ms = queryTimeout();
    return ms === undefined ? text : ({ text, values, query_timeout: ms } as pg.QueryConfig);
  };
  // A statement its client gave up on goes on in its backend until it ends (a lock wait can last minutes):
  // it is cancelled, so given-up statements do not pile up as backends waiting on the same lock while
  // clients retry. Best effort, and limited itself: a server that answers nothing cancels nothing.
  // Cancels go through connections of their own: the pool's may all be taken by requests waiting on the
  // very lock whose waiters are being cancelled.
  let cancels: pg.Pool | undefined;
  const cancel = (client: pg.PoolClient) => {
    const pid = (client as unknown as { processID: number | null }).processID;
    if (!pid) return;
    if (!cancels) {
      cancels = new pg.Pool({ ...poolConfig, max: 2, idleTimeoutMillis: 10_000 });
      cancels.on('error', () => {});
    }
    cancels.query({ text: 'SELECT pg_cancel_backend($1)', values: [pid], query_timeout: PG_CONNECT_TIMEOUT_MS } as pg.QueryConfig).catch(() => {});
  };
  const run = async (c: pg.Pool | pg.PoolClient, text: string, params?: unknown[]): Promise<pg.QueryResult> => {
    if (queryTimeout() === undefined || !(c instanceof pg.Pool)) return c.query(statement(text, params), params);
    // pool.query, with the client in hand to cancel its statement when it is late.
    const client = await c.connect();
    // As pool.query does: a checked-out client has no pool listener, and a connection lost mid-statement
    // (a reset) must reach this caller through the statement, not end the process as an unheard 'error'.
    const onError = () => {};
    client.on('error', onError);
    try {
      const result = await client.query(statement(text, params), params);
      client.removeListener('error', onError);
      client.release();
      return result;
    } catch (err) {
      client.removeListener('error', onError);
      // As pool.query does: a client whose statement failed is not reused.
      client.release(err as Error);
      if (late(err)) cancel(client);
      throw err;
    }
  };
  const wrap = (c: pg.Pool | pg.PoolClient): Pick<Db, 'query' | 'exec' | 'stream'> => ({
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await run(c, sql, params)).rows as T[] }),
    stream: async function* <T>(sql: string, params?: unknown[], batchSize = DEFAULT_STREAM_BATCH) {
      if (!(c instanceof pg.Pool)) {
        yield* read<T>(c, sql, params, batchSize);
        return;
      }
      const client = await c.connect();
      try {
        yield* read<T>(client, sql, params, batchSize);
      } finally {
        client.release();
      }
    },
    exec: async (sql: string) => {
      await run(c, sql);
    },
  });
  const db: Db = {
    kind: 'postgres',
    ...wrap(pool),
    async transaction(fn) {
      const client = await pool.connect();
      // A checked-out client has no pool listener: a connection lost between two statements (server
      // stopped, 57P01) would be an unhandled 'error' event and end the process. The failure reaches
      // the caller through the next statement instead, and the broken client is discarded on release.
      let lost: Error | undefined;
      const onError = (err: Error) => (lost ??= err);
      client.on('error', onError);
      const tx: Db = { ...db, ...wrap(client), transaction: (inner) => inner(tx) };
      try {
        await client.query(statement('BEGIN'));
        const result = await fn(tx);
        await client.query(statement('COMMIT'));
        return result;
      } catch (err) {
        // A statement past its limit is still running on this connection: a ROLLBACK would wait behind it.
        // The statement is cancelled and the connection discarded instead; the server rolls back when it
        // sees it closed.
        if (late(err) && !lost) {
          lost = err as Error;
          cancel(client);
        }
        // A ROLLBACK that fails leaves the client in an unknown state: it is discarded too.
        if (!lost) await client.query(statement('ROLLBACK')).catch((e: Error) => (lost ??= e));
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(lost);
      }
    },
    close: async () => {
      await Promise.all([pool.end(), cancels?.end()]);
    },
  };
  return db;
}

/**
 * Embedded Postgres. `dir` undefined means in memory (tests). PGlite is loaded here, not with this module: a process
 * on a Postgres server never needs it (~50 ms to load, ~0.3 s through tsx's loader).
 */
export async function createPgliteDb(dir?: string): Promise<Db> {
  if (dir) mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const lite = new PGlite(dir);
  await lite.waitReady;
  return pgliteDb(lite);
}

/** A ready PGlite instance as a `Db`; closing the `Db` closes the instance. */
export function pgliteDb(lite: PGliteInstance): Db {
  const db: Db = {
    kind: 'pglite',
    query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await lite.query<T>(sql, params)).rows }),
    stream: async function* <T>(sql: string, params?: unknown[]) {
      const { rows } = await lite.query<T>(sql, params);
      if (rows.length > 0) yield rows;
    },
    exec: async (sql) => {
      await lite.exec(sql);
    },
    transaction: (fn) =>
      lite.transaction(async (t) => {
        const tx: Db = {
          ...db,
          query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await t.query<T>(sql, params)).rows }),
          stream: async function* <T>(sql: string, params?: unknown[]) {
            const { rows } = await t.query<T>(sql, params);
            if (rows.length > 0) yield rows;
          },
          exec: async (sql) => {
            await t.exec(sql);
          },
          transaction: (inner) => inner(tx),
        };
        return fn(tx);
      }) as Promise<never>,
    close: () => lite.close(),
  };
  return db;
}
