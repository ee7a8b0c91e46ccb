import path from 'node:path';
import { whereOf, type Config } from '../config.js';
import { dependencyFailure } from '../errors.js';
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
    const where = whereOf(config.DATABASE_URL);
    return migrated(createPgDb(config.DATABASE_URL)).catch((err: unknown) => {
      // "connect ECONNREFUSED 127.0.0.1:5999" names no variable: the line an operator reads should.
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(dependencyFailure(err) ? `the database at ${where} (DATABASE_URL) cannot be reached: ${message}` : `migrating the database at ${where} failed: ${message}`, { cause: err });
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

async function migrated(db: Db): Promise<Db> {
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
