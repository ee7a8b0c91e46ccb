/**
 * README "Erasure": a failed try of an erasure owed is noted (one more attempt, its back-off) in the erasures' queue,
 * which this process's other erasures, rollbacks and trainings' publishes wait behind. A Postgres that stalls on that
 * note (here: the request's row locked by another transaction, as a stuck session or a slow claim would hold it) held
 * the queue for the turn's long limit (LONG_STATEMENT_MS, five minutes); the note is given up at the requests' limit
 * (PG_QUERY_TIMEOUT_MS) and the next turn runs. The erasures fail because EXPORT_DIR is a file (the export files cannot
 * be listed), whatever the store. Real Postgres (a schema of the shared test database), the in-process model store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockHeld } from '../../helpers/lock-waits.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a failed try whose note Postgres stalls on', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erasure-note-stall-'));
  const notADirectory = path.join(dir, 'exports');
  writeFileSync(notADirectory, 'not a directory');
  const t = owedErasureApp({ env: { EXPORT_DIR: notADirectory, PG_QUERY_TIMEOUT_MS: '500' }, prepare: seedShop });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('When the note of a failed try waits on a lock, Then the next erasure still gets its turn (and its answer) while the lock is held', async () => {
    const { db } = t.services;
    // Owed, taken by this process's re-driver (claimed under a holder of its own: no ask, which would wait on the lock too).
    await db.query("INSERT INTO erasure_requests (user_id, holder) VALUES ('k-user2', $1)", [t.services.erasure.nextHolder()]);
    const release = await lockHeld(db, "SELECT 1 FROM erasure_requests WHERE user_id = 'k-user2' FOR UPDATE");
    try {
      const first = t.services.erasure.erase('k-user2', { claimed: true });
      const second = t.services.erasure.erase('k-user3');
      // Each fails (EXPORT_DIR), and the second is answered while the first's note is still held by the lock.
      await expect(first).rejects.toThrow();
      await expect(second).rejects.toThrow();
      const { rows } = await db.query<{ user_id: string; attempts: number }>('SELECT user_id, attempts FROM erasure_requests ORDER BY user_id');
      // The second's try noted; the first's given up (its lease runs out instead: owed all the same).
      expect(rows).toEqual([{ user_id: 'k-user2', attempts: 0 }, { user_id: 'k-user3', attempts: 1 }]);
    } finally {
      await release();
    }
  }, 120_000);
});
