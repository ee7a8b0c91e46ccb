/**
 * Migration 036 (erasure_requests: erasures asked for and not recorded yet) on a database that already holds a
 * shop and erasures, and the list's life: asked (taken for a lease), failed (due after its back-off), taken by one
 * claim only, and gone with the transaction that records the erasure. On Postgres and on the embedded PGlite.
 */
import { describe, expect, it } from 'vitest';
import { createErasureRepository } from '../../../src/data/erasure-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { migrate } from '../../../src/data/migrate.js';
import { unmigratedBackends } from '../../helpers/services.js';

const BACKENDS = unmigratedBackends('m36');

for (const backend of BACKENDS) {
  describe.skipIf(!(await backend.available()))(`migration 036 on ${backend.name}`, () => {
    it('When 036 applies to a database with customers and erasures, Then it keeps them, owes nothing, and an asked erasure is owed until the transaction that records it', async () => {
      await backend.prepare?.();
      const { db, done } = await backend.open();
      try {
        await migrate(db, { to: '035_sample_import_file.sql' });
        await db.query(`INSERT INTO users (id) VALUES ('u1'), ('u2')`);
        await db.query(`INSERT INTO erased_users (user_id) VALUES ('gone')`);
        expect(await migrate(db, { to: '036_erasure_requests.sql' })).toEqual(['036_erasure_requests.sql']);
        const { rows: users } = await db.query<{ id: string }>('SELECT id FROM users ORDER BY id');
        expect(users.map((u) => u.id)).toEqual(['u1', 'u2']);
        // The list's life, by this release's statements: on the schema they are written for (039 adds the holder).
        await migrate(db);
        const erasures = createErasureRepository(db);
        expect(await erasures.erasedSince(0)).toEqual(['gone']);
        expect(await erasures.erasureRequestCounts()).toEqual({ pending: 0, due: 0 });

        // Asked: owed, and taken by the process that drives it for the lease.
        await erasures.askErasure(['u1', 'u2'], 600_000);
        expect(await erasures.pendingRequests()).toEqual(['u1', 'u2']);
        expect(await erasures.erasureRequestCounts()).toEqual({ pending: 2, due: 0 });
        expect(await erasures.claimErasures(10, 600_000)).toEqual([]);
        // Failed with no back-off: due, taken by one claim of two, then no longer due.
        await erasures.erasureFailed(['u1', 'u2'], 'the model store did not answer', { backoffMs: 0, maxBackoffMs: 0 });
        const { rows: failed } = await db.query<{ attempts: number; last_error: string }>('SELECT attempts, last_error FROM erasure_requests ORDER BY user_id');
        expect(failed).toEqual([
          { attempts: 1, last_error: 'the model store did not answer' },
          { attempts: 1, last_error: 'the model store did not answer' },
        ]);
        const claims = await Promise.all([erasures.claimErasures(10, 600_000), erasures.claimErasures(10, 600_000)]);
        expect(claims.flat().sort()).toEqual(['u1', 'u2']);
        expect(await erasures.erasureRequestCounts()).toEqual({ pending: 2, due: 0 });

        // The erasure's transaction records u1 and deletes its request; u2 stays owed.
        expect(await createEventRepository(db).deleteUsers(['u1'])).toEqual(new Map([['u1', true]]));
        expect(await erasures.pendingRequests()).toEqual(['u2']);
        expect(await erasures.erasedSince(0)).toEqual(['gone', 'u1']);
      } finally {
        await done();
      }
    }, 60_000);
  });
}
