import path from 'node:path';
import { whereOf, type Config } from '../config.js';
import { dependencyFailure, transactionConflict } from '../errors.js';
import { retryWhileUnavailable } from '../retry-while-unavailable.js';
import { createPgDb, createPgliteDb, type Db } from './db.js';
import { migrate } from './migrate.js';
import { lockDataDir } from './data-dir-lock.js';

/**
 * The configured database, migrated: Postgres when DATABASE_URL is set, else PGlite under
 * DATA_DIR/pglite, for which this process takes DATA_DIR's lock first (data-dir-lock.ts: throws
 * DataDirLockedError naming the process that has it) and gives it back when the database is closed.
 */
export async function openDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): Promise<Db> {
  if (config.DATABASE_URL) {
    const url = config.DATABASE_URL;
    return migrated(createPgDb(url)).catch((err: unknown) => {
      throw named(url, err);
    });
  }
  const release = lockDataDir(config.DATA_DIR);
  try {
    const db = await migrated(await createPgliteDb(path.join(config.DATA_DIR, 'pglite')));
    return {
      ...db,
      async close() {
        try {
          await db.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * For a process that runs for long (the server, the worker): the database as `openDatabase` opens it, or,
 * when Postgres cannot be reached at start, a database that is migrated once it can. Until then every call
 * fails as in any Postgres outage (DEPENDENCY_UNAVAILABLE: a request answers 503, a job's retries wait) and
 * nothing reads or writes a schema older than the code's; migrating is tried again in the background with
 * waits doubling from 250 ms to 5 s, each failure given to `onWait`. `migrated` resolves when the schema is
 * current and rejects when migrating fails for another reason (a migration that does not apply: the
 * process should stop, as when that happens at start). A failure at start other than an unreachable
 * Postgres is thrown as by `openDatabase`.
 */
export async function openDatabaseWhenReachable(
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>,
  opts: { onWait: (err: Error, waitMs: number) => void },
): Promise<{ db: Db; migrated: Promise<void> }> {
  try {
    return { db: await openDatabase(config), migrated: Promise.resolve() };
  } catch (err) {
    // Migrations rolled back in a conflict (migrate tried them again already) are no outage to wait out.
    if (!config.DATABASE_URL || !dependencyFailure(err) || transactionConflict(err)) throw err;
    return migratedWhenReachable(config.DATABASE_URL, opts.onWait, err as Error);
  }
}

function migratedWhenReachable(url: string, onWait: (err: Error, waitMs: number) => void, first: Error): { db: Db; migrated: Promise<void> } {
  const inner = createPgDb(url);
  let ready = false;
  let closed = false;
  // Why Postgres cannot be used yet, for the errors of the calls made meanwhile (their logs name it).
  let last = first;
  const onRetry = (err: unknown, waitMs: number) => onWait((last = named(url, err)), waitMs);
  const migrated = retryWhileUnavailable(() => migrate(inner), { forMs: Number.POSITIVE_INFINITY, stop: () => closed, onRetry }).then(
    () => void (ready = true),
    // Closed while waiting: nothing is left to migrate for, and nothing waiting on it should go on.
    (err: unknown) => (closed ? new Promise<void>(() => {}) : Promise.reject(named(url, err))),
  );
  // Whoever awaits `migrated` sees its failure; a call made meanwhile only sees that the schema is not there yet.
  migrated.catch(() => {});
  // An outage to every caller (dependencyFailure finds the connection error in the cause: a request
  // answers the usual 503, whose body names no host), with the reason in the message its log shows.
  const whenMigrated = () => {
    if (!ready) throw new Error(`not migrated yet: ${last.message}`, { cause: last });
  };
  const db: Db = {
    kind: inner.kind,
    async query(sql, params) {
      whenMigrated();
      return inner.query(sql, params);
    },
    async *stream(sql, params, batchSize) {
      whenMigrated();
      yield* inner.stream(sql, params, batchSize);
    },
    async exec(sql) {
      whenMigrated();
      return inner.exec(sql);
    },
    async transaction(fn) {
      whenMigrated();
      return inner.transaction(fn);
    },
    async close() {
      closed = true;
      await inner.close();
    },
  };
  return { db, migrated };
}

/**
 * "connect ECONNREFUSED 127.0.0.1:5999" names no variable: the line an operator reads should. No
 * statement_timeout or lock_timeout cancels the migrations (migrate.ts sets both to 0 for its transaction,
 * so the wait behind another replica's migrations is waited out in full); one that an operator cancels
 * (pg_cancel_backend) ends the start with the schema as it was ("a migration statement was cancelled",
 * thrown by migrate.ts), as a migration that does not apply does: it is not tried again. A pass rolled
 * back in a conflict, after migrate.ts's own tries, is named for what it is.
 */
function named(url: string, err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const where = `the database at ${whereOf(url)} (DATABASE_URL)`;
  if (transactionConflict(err)) return new Error(`${where} rolled the migrations back in a conflict with another transaction (a deadlock with a writer): ${message}`, { cause: err });
  return new Error(dependencyFailure(err) ? `${where} cannot be reached: ${message}` : `migrating ${where} failed: ${message}`, { cause: err });
}

async function migrated(db: Db): Promise<Db> {
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
