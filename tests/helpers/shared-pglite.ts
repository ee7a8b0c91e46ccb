import type { PGlite } from '@electric-sql/pglite';
import { pgliteDb, type Db } from '../../src/data/db.js';

/**
 * Test databases as schemas of one PGlite instance, the way the Postgres test databases are schemas of one server
 * database (services.ts createPostgresTestDb): each test database reaches its own schema through the search_path, and
 * its dispose drops the schema. A vitest worker keeps its modules between files (vitest.config.ts `isolate: false`), so
 * one instance serves every file the worker runs instead of one started per test database (bench/README, "One PGlite
 * per worker").
 *
 * PGlite has one connection, so a schema's statements and another's take turns on it: each statement, and each
 * transaction whole, runs alone (PGlite itself runs a transaction alone too), after a `SET search_path` when the
 * connection was last on another schema.
 */
export interface SharedPglite {
  /** A Db scoped to `schema` (made by the caller); `close()` ends this Db only, not the instance. */
  scoped(schema: string): Db;
  /** Runs SQL on the instance outside any test database's schema (CREATE SCHEMA). */
  admin(sql: string): Promise<void>;
  /** Drops a test database's schema; every CHECKPOINT_EVERY drops, a checkpoint lets PGlite recycle its WAL. */
  drop(schema: string): Promise<void>;
}

/**
 * PGlite makes no checkpoint of its own (no checkpointer in its single process, max_wal_size or not): the WAL of every
 * schema migrated and dropped stayed in its in-memory file system, about 1 MB each, 100 MB after 100 test databases.
 * With a checkpoint every 10 it stayed at 11-13 MB (bench/README, "One PGlite per worker").
 */
const CHECKPOINT_EVERY = 10;

export function sharePglite(lite: PGlite): SharedPglite {
  const raw = pgliteDb(lite);
  let tail: Promise<unknown> = Promise.resolve();
  /** The schema the connection's search_path names now. */
  let current: string | undefined;
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
  const on = async (schema: string) => {
    if (current === schema) return;
    current = undefined;
    await raw.exec(`SET search_path TO ${schema}`);
    current = schema;
  };
  const admin = (sql: string) =>
    exclusive(async () => {
      current = undefined;
      await raw.exec(`SET search_path TO public; ${sql}`);
      current = 'public';
    });
  let drops = 0;
  return {
    admin,
    drop: (schema) => admin(`DROP SCHEMA ${schema} CASCADE${++drops % CHECKPOINT_EVERY === 0 ? '; CHECKPOINT' : ''}`),
    scoped(schema) {
      let closed = false;
      // As a closed PGlite instance answers (its _checkReady).
      const open = () => {
        if (closed) throw new Error('PGlite is closed');
      };
      const alone = <T>(fn: () => Promise<T>): Promise<T> =>
        exclusive(async () => {
          open();
          await on(schema);
          return fn();
        });
      const db: Db = {
        kind: 'pglite',
        query: (sql, params) => alone(() => raw.query(sql, params)),
        stream: async function* <T>(sql: string, params?: unknown[]) {
          const { rows } = await alone(() => raw.query<T>(sql, params));
          if (rows.length > 0) yield rows;
        },
        exec: (sql) => alone(() => raw.exec(sql)),
        // raw.transaction's tx reaches PGlite's transaction directly: its statements run inside this turn.
        transaction: (fn) => alone(() => raw.transaction((tx) => fn({ ...tx, close: db.close }))),
        // After the statements already waiting, as PGlite's own close; a second close fails as PGlite's does.
        close: () =>
          exclusive(async () => {
            open();
            closed = true;
          }),
      };
      return db;
    },
  };
}
