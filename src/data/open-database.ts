import path from 'node:path';
import type { Config } from '../config.js';
import { createPgDb, createPgliteDb, type Db } from './db.js';
import { migrate } from './migrate.js';

/** The configured database, migrated: Postgres when DATABASE_URL is set, else PGlite under DATA_DIR/pglite. */
export async function openDatabase(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR'>): Promise<Db> {
  const db = config.DATABASE_URL ? createPgDb(config.DATABASE_URL) : await createPgliteDb(path.join(config.DATA_DIR, 'pglite'));
  try {
    await migrate(db);
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
  return db;
}
