/**
 * README "Erasure": each process's read of the erasures owed (the erasure follower's, every ERASURE_REFRESH_MS) reads
 * what changed since its last read, not every id owed: with 1,000 owed and nothing new it reads none of them; an id
 * asked since, one whose erasure completed since (its request deleted, by whichever process), one completed and asked
 * again, one written by a transaction in flight during a read, and a table emptied by TRUNCATE are each followed.
 * Real Postgres (a schema of the shared test database); the ids each read brings back are counted as they come from it.
 */
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const OWED = 1000;

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the read of the erasures owed, of what changed', () => {
  /** Owed ids seen in the answers of Postgres (as a row's value, or in an array of one). */
  let idsRead = 0;
  /** Called with each statement's text once its answer is back (before the caller sees it). */
  let answered: ((sql: string) => void) | undefined;
  const tracked = (v: unknown) => typeof v === 'string' && /^(owed|late|slow)-/.test(v);
  const counted = (db: Db): Db =>
    new Proxy(db, {
      get(target, key, receiver) {
        if (key !== 'query') return Reflect.get(target, key, receiver) as unknown;
        return async (sql: string, params?: unknown[]) => {
          const result = await target.query(sql, params);
          answered?.(sql);
          for (const row of result.rows as Record<string, unknown>[]) {
            for (const v of Object.values(row)) idsRead += Array.isArray(v) ? v.filter(tracked).length : tracked(v) ? 1 : 0;
          }
          return result;
        };
      },
    });
  /** One read of the follower; how many owed ids it brought back. */
  const poll = async () => {
    idsRead = 0;
    // A read that starts now, after any already running.
    await t.services.erasureFollower.catchUp();
    return idsRead;
  };
  const sql = (text: string) => t.services.db.query(text);

  // Nothing completes the owed erasures, and the follower reads only when the test asks.
  const t = owedErasureApp({
    createDb: async () => {
      const testDb = await createPostgresTestDb();
      return { ...testDb, db: counted(testDb.db) };
    },
    env: { ERASURE_REFRESH_MS: '600000' },
  });

  it('When nothing changed since the last read, Then it reads no owed id; each change is followed by the next read', async () => {
    // Asked through other processes: not due for an hour.
    await sql(`INSERT INTO erasure_requests (user_id, next_at) SELECT 'owed-' || g, now() + interval '1 hour' FROM generate_series(1, ${OWED}) g`);
    await poll();
    expect(t.services.owedErasures.size).toBe(OWED);
    // Nothing new: none of the 1,000 is read again (the whole list was, at every read).
    expect.soft(await poll()).toBe(0);
    expect(t.services.owedErasures.size).toBe(OWED);

    // One asked since, one completed since (its request deleted, as another process's erasure does), one completed and
    // asked again: just those are read.
    await sql("INSERT INTO erasure_requests (user_id, next_at) VALUES ('late-1', now() + interval '1 hour')");
    await sql("DELETE FROM erasure_requests WHERE user_id IN ('owed-5', 'owed-6')");
    await sql("INSERT INTO erasure_requests (user_id, next_at) VALUES ('owed-6', now() + interval '1 hour')");
    expect.soft(await poll()).toBeLessThanOrEqual(4);
    expect(t.services.owedErasures.has('late-1')).toBe(true);
    expect(t.services.owedErasures.has('owed-5')).toBe(false);
    expect(t.services.owedErasures.has('owed-6')).toBe(true);
    expect(t.services.owedErasures.size).toBe(OWED);
    // A failed try or a claim updates a row still owed: nothing changes for the list.
    await sql("UPDATE erasure_requests SET attempts = attempts + 1, next_at = now() + interval '2 hours' WHERE user_id = 'owed-7'");
    await poll();
    expect(t.services.owedErasures.has('owed-7')).toBe(true);

    // Written by a transaction still in flight during a read: not seen by it, read by the first read after its commit.
    await t.services.db.transaction(async (tx) => {
      await tx.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ('slow-1', now() + interval '1 hour')");
      await tx.query("DELETE FROM erasure_requests WHERE user_id = 'owed-8'");
      await poll();
      expect(t.services.owedErasures.has('slow-1')).toBe(false);
      expect(t.services.owedErasures.has('owed-8')).toBe(true);
    });
    await poll();
    expect(t.services.owedErasures.has('slow-1')).toBe(true);
    expect(t.services.owedErasures.has('owed-8')).toBe(false);
    expect.soft(await poll()).toBe(0);

    // Emptied at once (TRUNCATE: no row deleted one by one): every one settled.
    await sql('TRUNCATE erasure_requests');
    await poll();
    expect(t.services.owedErasures.size).toBe(0);
    // What the list holds is what Postgres holds, after all of it.
    await sql("INSERT INTO erasure_requests (user_id) VALUES ('late-2')");
    await poll();
    const { rows } = await sql('SELECT user_id FROM erasure_requests ORDER BY user_id');
    expect([...t.services.owedErasures.ids()].sort()).toEqual(rows.map((r) => r.user_id));
  }, 60_000);

  it('When this process settles an id while its read is in flight and that read found it asked again, Then the next read has it owed', async () => {
    // This process's erasure of again-1 committed (its request deleted); then it was asked again through another
    // process, and this process's read, begun after both, found it owed; this process's forget of its erasure ends
    // while that read's answer is on its way (settled: what happened since the read began wins over the read).
    await sql("INSERT INTO erasure_requests (user_id, next_at) VALUES ('again-1', now() + interval '1 hour')");
    await poll();
    expect(t.services.owedErasures.has('again-1')).toBe(true);
    await sql("DELETE FROM erasure_requests WHERE user_id = 'again-1'");
    await sql("INSERT INTO erasure_requests (user_id, next_at) VALUES ('again-1', now() + interval '1 hour')");
    answered = (text) => {
      if (!text.includes('erasure_requests_settled')) return;
      answered = undefined;
      t.services.owedErasures.settled('again-1');
    };
    await poll();
    expect(answered).toBeUndefined();
    // Owed in Postgres: the next read (ERASURE_REFRESH_MS later) has it owed again, as every read did when it read
    // every id. It read the changes since a mark past the request, and the id stayed out until the hourly full read.
    await poll();
    expect(t.services.owedErasures.has('again-1')).toBe(true);
    await poll();
    expect(t.services.owedErasures.has('again-1')).toBe(true);
  }, 60_000);
});
