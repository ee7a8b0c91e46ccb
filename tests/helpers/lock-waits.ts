import type { Db } from '../../src/data/db.js';

/**
 * Polls (every 25 ms, up to 10 s) until a statement waits for a lock on `table` of `schema`, or `done()`:
 * true when a wait was seen. Tests that hold a lock use it to know the other side has reached it.
 */
export async function lockAwaited(db: Db, schema: string, table: string, done: () => boolean = () => false): Promise<boolean> {
  for (let n = 0; n < 400 && !done(); n++) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
       WHERE NOT l.granted AND c.relname = $2 AND c.relnamespace = $1::regnamespace`,
      [schema, table],
    );
    if (rows[0].n > 0) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}
