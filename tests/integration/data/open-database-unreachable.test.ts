import { describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { MIGRATION_LOCK } from '../../../src/data/migrate.js';
import { openDatabase, openDatabaseWhenReachable } from '../../../src/data/open-database.js';
import { dependencyFailure } from '../../../src/errors.js';
import { freePort, privateServerSupport, startPrivatePostgres } from '../../helpers/private-servers.js';

const WAITING_FOR_ADVISORY_LOCK = "wait_event_type = 'Lock' AND wait_event = 'advisory'";

/** Another replica migrating: holds the migrations' lock (with no statement limit of its own) until released. */
async function holdMigrationLock(db: Db): Promise<{ release: () => Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holding = db.transaction(async (tx) => {
    await tx.query('SET LOCAL statement_timeout = 0');
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    locked();
    await released;
  });
  await isLocked;
  return {
    release: async () => {
      release();
      await holding;
    },
  };
}

async function advisoryLockWaiters(db: Db): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE ${WAITING_FOR_ADVISORY_LOCK}`)).rows[0].n);
}

const support = await privateServerSupport();
if (!support.postgres && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe('a process starting while Postgres cannot be reached', () => {
  it('When nothing listens at DATABASE_URL, Then the start fails with a line naming the variable and where it points, without the password', async () => {
    const port = await freePort();
    const start = openDatabase({ DATABASE_URL: `postgres://app:hunter22@127.0.0.1:${port}/shop`, DATA_DIR: '/nonexistent' });
    await expect(start).rejects.toThrow(new RegExp(`^the database at postgres://127\\.0\\.0\\.1:${port}/shop \\(DATABASE_URL\\) cannot be reached: .*ECONNREFUSED`));
    await expect(start).rejects.not.toThrow(/hunter22/);
  });

  it('When a long-running process closes its database while waiting for it, Then what waits on the migration never goes on, and the tries stop', async () => {
    const port = await freePort();
    const waits: string[] = [];
    const { db, migrated } = await openDatabaseWhenReachable({ DATABASE_URL: `postgres://127.0.0.1:${port}/shop`, DATA_DIR: '/nonexistent' }, { onWait: (err) => waits.push(err.message) });
    let settled = false;
    migrated.then(() => (settled = true), () => (settled = true));
    await expect.poll(() => waits.length).toBeGreaterThan(0);
    await db.close();
    const after = waits.length;
    // Longer than the waits between tries so far (250 ms, then 500 ms).
    await new Promise((r) => setTimeout(r, 1500));
    expect(waits.length - after).toBeLessThanOrEqual(1);
    expect(settled).toBe(false);
  });

  describe.skipIf(!support.postgres)('against a private Postgres that starts later', () => {
    it('When Postgres starts after the process, Then calls fail as in an outage until it is reached, and then the new database is migrated', async () => {
      const pg = await startPrivatePostgres();
      try {
        await pg.stop();
        const waits: string[] = [];
        const { db, migrated } = await openDatabaseWhenReachable({ DATABASE_URL: pg.url, DATA_DIR: '/nonexistent' }, { onWait: (err) => waits.push(err.message) });
        try {
          const early = await db.query('SELECT 1').catch((err: unknown) => err);
          expect(dependencyFailure(early)?.code).toBe('DEPENDENCY_UNAVAILABLE');
          await expect.poll(() => waits.length).toBeGreaterThan(0);
          expect(waits[0]).toContain('(DATABASE_URL) cannot be reached');

          await pg.start();
          await migrated;
          // The schema of a database nobody had migrated, made by this process.
          expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM purchase_events')).rows[0].n).toBe('0');
          const applied = await db.query('SELECT name FROM schema_migrations');
          expect(applied.rows.length).toBeGreaterThan(0);
        } finally {
          await db.close();
        }
      } finally {
        await pg.dispose();
      }
    }, 60_000);

    it("When the database's statement_timeout is shorter than the wait behind another replica's migrations, Then the process waits for that replica and migrates, never cancelled", async () => {
      const pg = await startPrivatePostgres();
      const other = createPgDb(pg.url, { max: 1 });
      try {
        await other.query("ALTER DATABASE postgres SET statement_timeout = '200ms'");
        await other.query("ALTER DATABASE postgres SET lock_timeout = '200ms'");
        // Another replica migrating: it holds the migrations' lock for longer than the server's limits.
        const lock = await holdMigrationLock(other);
        const waits: string[] = [];
        const opening = openDatabaseWhenReachable({ DATABASE_URL: pg.url, DATA_DIR: '/nonexistent' }, { onWait: (err) => waits.push(err.message) });
        const watcher = createPgDb(pg.url, { max: 1 });
        try {
          // The new process is waiting for the lock, and still is after five times the server's limits.
          await expect.poll(() => advisoryLockWaiters(watcher)).toBe(1);
          await new Promise((r) => setTimeout(r, 1_000));
          expect(await advisoryLockWaiters(watcher)).toBe(1);
        } finally {
          await lock.release();
          await watcher.close();
        }
        const { db, migrated } = await opening;
        try {
          await migrated;
          expect(waits).toEqual([]);
          expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM purchase_events')).rows[0].n).toBe('0');
        } finally {
          await db.close();
        }
      } finally {
        await other.close();
        await pg.dispose();
      }
    }, 60_000);

    it('When an operator cancels the migrations (pg_cancel_backend), Then the start fails saying so instead of running them again', async () => {
      const pg = await startPrivatePostgres();
      const other = createPgDb(pg.url, { max: 1 });
      try {
        const lock = await holdMigrationLock(other);
        // Its failure is taken at once (it may come before the expectation below is reached).
        const failure = openDatabaseWhenReachable({ DATABASE_URL: pg.url, DATA_DIR: '/nonexistent' }, { onWait: () => {} }).then(
          () => null,
          (err: unknown) => err as Error,
        );
        const watcher = createPgDb(pg.url, { max: 1 });
        try {
          await expect.poll(() => advisoryLockWaiters(watcher)).toBe(1);
          await watcher.query(`SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE ${WAITING_FOR_ADVISORY_LOCK}`);
          expect((await failure)?.message).toMatch(/migration statement was cancelled/);
        } finally {
          await lock.release();
          await watcher.close();
        }
      } finally {
        await other.close();
        await pg.dispose();
      }
    }, 60_000);

    it('When the database named does not exist, Then the start fails at once instead of waiting', async () => {
      const pg = await startPrivatePostgres();
      try {
        const waits: string[] = [];
        const url = new URL(pg.url);
        url.pathname = '/no_such_database';
        await expect(openDatabaseWhenReachable({ DATABASE_URL: url.toString(), DATA_DIR: '/nonexistent' }, { onWait: (err) => waits.push(err.message) })).rejects.toThrow(
          /\(DATABASE_URL\) failed: .*no_such_database.*does not exist/,
        );
        expect(waits).toEqual([]);
      } finally {
        await pg.dispose();
      }
    }, 60_000);
  });
});
