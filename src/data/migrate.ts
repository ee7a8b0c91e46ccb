import type { UmzugStorage } from 'umzug';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { transactionConflict } from '../errors.js';
import type { Db } from './db.js';
import { cancelledStatement } from './query-timeout.js';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Records applied migrations in a table of the same database, so both Postgres and PGlite work. */
function tableStorage(db: Db): UmzugStorage {
  const ensure = () => db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  return {
    async executed() {
      await ensure();
      return (await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((r) => r.name);
    },
    async logMigration({ name }) {
      await db.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
    },
    async unlogMigration({ name }) {
      await db.query('DELETE FROM schema_migrations WHERE name = $1', [name]);
    },
  };
}

/**
 * Applies every pending SQL file of src/data/migrations in name order; with `to`, only up to and including
 * that file (tests of a later migration on the data an earlier schema held).
 *
 * Replicas starting together on a new database took the same migrations at once, and one died ("relation
 * already exists"). On Postgres the whole run is one transaction holding an advisory lock: the next
 * replica waits for it and finds the migrations applied, and a run that fails leaves the schema as it
 * was. (PGlite: one process, one connection; each migration is its own transaction.)
 */
export async function migrate(db: Db, opts: { to?: string } = {}): Promise<string[]> {
  if (db.kind === 'pglite') return migrateOn(db, opts);
  // A pass that Postgres rolled back as a deadlock left the schema as it was: it is run again, a few times.
  // The pass takes the written tables in the writers' order first (lockWrittenTables), so the cycle seen
  // (031 locks purchase_events, 032 then alters items, which a writer holds while it waits for
  // purchase_events) cannot close; the retry is for a conflict with a writer this does not foresee.
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(db, opts);
    } catch (err) {
      if (!transactionConflict(err) || attempt >= MIGRATION_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}

/** Passes of the migrations tried, in all, while Postgres rolls them back as deadlocks. */
const MIGRATION_ATTEMPTS = 5;

async function migrateOnce(db: Db, opts: { to?: string }): Promise<string[]> {
  try {
    return await db.transaction(async (tx) => {
      // A statement_timeout or lock_timeout set on the server, database or role (managed Postgres sets one)
      // must not cancel the migrations: the wait behind another replica's or a long backfill is no outage,
      // and a cancelled run would only be started again, for ever.
      await tx.query('SET LOCAL statement_timeout = 0');
      await tx.query('SET LOCAL lock_timeout = 0');
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      return migrateOn(tx, { ...opts, beforePending: lockWrittenTables });
    });
  } catch (err) {
    // What can still cancel them is an operator (pg_cancel_backend): the start ends, as for a migration that does not apply.
    if (cancelledStatement(err)) throw new Error(`a migration statement was cancelled (pg_cancel_backend?); the schema is as it was: ${(err as Error).message}`);
    throw err;
  }
}

/** Key of the Postgres advisory lock held while migrations run (any number no other lock uses). */
export const MIGRATION_LOCK = 7262361204;

/**
 * Tables ingestion writes, in the order a writer locks them (a new customer, a new item, then the purchase).
 * A pass takes them first, so a writer of the release before waits at the first and a later migration's
 * lock (032 alters items after 031 has locked purchase_events) can never close a cycle with one.
 */
const WRITTEN_TABLES = ['users', 'items', 'purchase_events'];

/**
 * Locks the written tables that exist against writes (reads go on) until the pass commits: SHARE ROW
 * EXCLUSIVE conflicts with a writer's ROW EXCLUSIVE and with itself, not with reads.
 */
async function lockWrittenTables(db: Db): Promise<void> {
  for (const table of WRITTEN_TABLES) {
    const { rows } = await db.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table]);
    if (rows[0].found) await db.exec(`LOCK TABLE ${table} IN SHARE ROW EXCLUSIVE MODE`);
  }
}

async function migrateOn(db: Db, opts: { to?: string; beforePending?: (db: Db) => Promise<void> }): Promise<string[]> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
  const storage = tableStorage(db);
  // Nothing pending (every start but a new release's first): the same reads Umzug's pending() makes, and Umzug
  // itself (its module loads a command-line framework, about 110 modules: 0.1-0.2 s of a start's CPU) is not loaded.
  if (!opts.to) {
    const executed = new Set(await storage.executed({ context: {} }));
    if (files.every((name) => executed.has(name))) return [];
  }
  const { Umzug } = await import('umzug');
  const umzug = new Umzug({
    migrations: files.map((name) => ({
      name,
      up: () => db.transaction((tx) => tx.exec(readFileSync(path.join(MIGRATIONS_DIR, name), 'utf8'))),
    })),
    storage,
    logger: undefined,
  });
  if (opts.beforePending && (await umzug.pending()).length > 0) await opts.beforePending(db);
  const applied = await umzug.up(opts.to ? { to: opts.to } : {});
  return applied.map((m) => m.name);
}
