import { createPgDb, type Db } from '../../src/data/db.js';

/** How many statements wait for a lock on `table` of `schema` now. */
export async function lockWaiters(db: Db, schema: string, table: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
     WHERE NOT l.granted AND c.relname = $2 AND c.relnamespace = $1::regnamespace`,
    [schema, table],
  );
  return rows[0].n;
}

/**
 * Polls (every 25 ms, up to 10 s) until a statement waits for a lock on `table` of `schema`, or `done()`:
 * true when a wait was seen. Tests that hold a lock use it to know the other side has reached it.
 */
export async function lockAwaited(db: Db, schema: string, table: string, done: () => boolean = () => false): Promise<boolean> {
  for (let n = 0; n < 400 && !done(); n++) {
    if ((await lockWaiters(db, schema, table)) > 0) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/**
 * Runs `sql` (a LOCK TABLE, say) in a transaction of `db` and holds that transaction open until the returned
 * function is called (which waits for it to end).
 */
export async function lockHeld(db: Db, sql: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = db.transaction(async (tx) => {
    await tx.query(sql);
    locked();
    await released;
  });
  await Promise.race([isLocked, holding]);
  return async () => {
    release();
    await holding;
  };
}

/**
 * A transaction of its own connection holding an advisory lock of a random key of its own (the database's
 * advisory locks are shared with the other suites) until `release()`; `end()` releases it and closes.
 */
export async function advisoryLockHeld(url: string) {
  const lock = 900_000_000 + Math.floor(Math.random() * 1e8);
  const holder = createPgDb(url, { max: 1 });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holding = holder.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [lock]);
    locked();
    await released;
  });
  await isLocked;
  return {
    lock,
    release: () => release(),
    async end() {
      release();
      await holding;
      await holder.close();
    },
  };
}
