/**
 * Migration 039 (erasure_requests.holder: who holds an erasure's lease) on a database that already owes erasures, and
 * during a rolling upgrade: the release before's statements (copied below as that release runs them) still ask,
 * take, renew, note and complete erasures with the column there; a take or failure note of that release clears the
 * holder, so a process of this release whose lease ran out finds the erasure no longer its own; and this release's
 * renewal and failure note act on the holder's rows only (a late renewal moves neither another's lease nor a
 * back-off). On Postgres and on the embedded PGlite.
 */
import { describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createErasureRepository } from '../../../src/data/erasure-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { migrate } from '../../../src/data/migrate.js';
import { unmigratedBackends } from '../../helpers/services.js';

/** The release before 039's statements on erasure_requests (src/data/erasure-repository.ts as it was). */
const BEFORE = {
  ask: (db: Db, ids: string[], leaseMs: number) =>
    db.query(
      `INSERT INTO erasure_requests (user_id, asked_at, next_at) SELECT u, now(), now() + $2 * interval '1 millisecond' FROM unnest($1::text[]) AS u ORDER BY u
       ON CONFLICT (user_id) DO UPDATE SET next_at = excluded.next_at`,
      [ids, leaseMs],
    ),
  claim: async (db: Db, limit: number, leaseMs: number) =>
    (await db.query<{ user_id: string }>(
      `UPDATE erasure_requests SET next_at = now() + $2 * interval '1 millisecond', last_tried_at = now()
       WHERE user_id IN (SELECT user_id FROM erasure_requests WHERE next_at <= now() ORDER BY next_at, user_id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING user_id`,
      [limit, leaseMs],
    )).rows.map((r) => r.user_id).sort(),
  renew: (db: Db, ids: string[], leaseMs: number) =>
    db.query(
      `UPDATE erasure_requests SET next_at = now() + $2 * interval '1 millisecond'
       WHERE user_id IN (SELECT user_id FROM erasure_requests WHERE user_id = ANY($1::text[]) FOR UPDATE SKIP LOCKED)`,
      [ids, leaseMs],
    ),
  failed: (db: Db, ids: string[], error: string) =>
    db.query(
      `UPDATE erasure_requests SET attempts = attempts + 1, last_error = $2, last_tried_at = now(),
         next_at = now() + least($3::float8 * power(2, least(attempts, 30)), $4::float8) * interval '1 millisecond'
       WHERE user_id = ANY($1::text[])`,
      [ids, error, 0, 0],
    ),
};

const BACKENDS = unmigratedBackends('m39');

for (const backend of BACKENDS) {
  describe.skipIf(!(await backend.available()))(`migration 039 on ${backend.name}, beside the release before`, () => {
    it('When 039 applies to a database owing erasures, Then both releases ask, take, renew, note and complete them, and each acts on its own leases', async () => {
      await backend.prepare?.();
      const { db, done } = await backend.open();
      const rows = async () =>
        (await db.query<{ user_id: string; holder: string | null; attempts: number; ahead: boolean }>(
          "SELECT user_id, holder, attempts, next_at > now() + interval '5 minutes' AS ahead FROM erasure_requests ORDER BY user_id",
        )).rows;
      const leaseOut = (id: string) => db.query("UPDATE erasure_requests SET next_at = now() - interval '1 second' WHERE user_id = $1", [id]);
      try {
        await migrate(db, { to: '038_model_copies.sql' });
        await db.query(`INSERT INTO users (id) VALUES ('u1'), ('u2'), ('u3')`);
        // Owed before the upgrade, asked by the release before.
        await BEFORE.ask(db, ['u1'], 0);
        expect(await migrate(db, { to: '039_erasure_request_holder.sql' })).toEqual(['039_erasure_request_holder.sql']);
        expect(await rows()).toEqual([{ user_id: 'u1', holder: null, attempts: 0, ahead: false }]);

        const erasures = createErasureRepository(db);
        // This release takes it (a claim names its holder) and renews it: ahead by the new lease.
        expect(await erasures.claimErasures(10, 600_000, 'new-a:1')).toEqual(['u1']);
        await leaseOut('u1');
        await erasures.renewErasures(['u1'], 600_000, 'new-a:');
        expect(await rows()).toEqual([{ user_id: 'u1', holder: 'new-a:1', attempts: 0, ahead: true }]);

        // Its renewals miss a lease; the release before takes it (naming no holder): it is no longer new-a's, whose
        // late renewal and failure note leave it as that release took it.
        await leaseOut('u1');
        expect(await BEFORE.claim(db, 10, 600_000)).toEqual(['u1']);
        await leaseOut('u1');
        await erasures.renewErasures(['u1'], 600_000, 'new-a:');
        await erasures.erasureFailed(['u1'], 'late', { backoffMs: 600_000, maxBackoffMs: 600_000 }, 'new-a:');
        expect(await rows()).toEqual([{ user_id: 'u1', holder: null, attempts: 0, ahead: false }]);
        // The release before renews, notes and asks as it did.
        await BEFORE.renew(db, ['u1'], 600_000);
        expect((await rows())[0]).toMatchObject({ holder: null, ahead: true });
        await BEFORE.failed(db, ['u1'], 'the store did not answer');
        expect(await rows()).toEqual([{ user_id: 'u1', holder: null, attempts: 1, ahead: false }]);
        await BEFORE.ask(db, ['u2'], 600_000);

        // This release asks u3 (new-b holds it), and new-a takes u1 again; the release before's failure note on a row
        // this release holds clears the holder too.
        await erasures.askErasure(['u3'], 600_000, 'new-b:1');
        expect(await erasures.claimErasures(10, 600_000, 'new-a:2')).toEqual(['u1']);
        expect(await rows()).toEqual([
          { user_id: 'u1', holder: 'new-a:2', attempts: 1, ahead: true },
          { user_id: 'u2', holder: null, attempts: 0, ahead: true },
          { user_id: 'u3', holder: 'new-b:1', attempts: 0, ahead: true },
        ]);
        await BEFORE.failed(db, ['u3'], 'the store did not answer');
        expect((await rows())[2]).toMatchObject({ user_id: 'u3', holder: null, attempts: 1 });

        // new-a's try of u1 fails: noted, held by nobody; a renewal of new-a landing after it moves no back-off.
        await erasures.erasureFailed(['u1'], 'the store did not answer', { backoffMs: 0, maxBackoffMs: 0 }, 'new-a:');
        await erasures.renewErasures(['u1'], 600_000, 'new-a:');
        expect((await rows())[0]).toEqual({ user_id: 'u1', holder: null, attempts: 2, ahead: false });

        // Completed by either release's erasure (the release before's: no owner, every customer named).
        const events = createEventRepository(db);
        expect(await erasures.claimErasures(10, 600_000, 'new-a:3')).toEqual(['u1', 'u3']);
        let taken: string[] = [];
        expect(await events.deleteUsers(['u1', 'u2', 'u3'], { owner: 'new-a:', taken: (ids) => (taken = ids) })).toEqual(new Map([['u1', true], ['u3', true]]));
        expect(taken).toEqual(['u2']);
        expect(await events.deleteUsers(['u2'])).toEqual(new Map([['u2', true]]));
        expect(await rows()).toEqual([]);
        expect(await erasures.erasedSince(0)).toEqual(['u1', 'u3', 'u2']);
      } finally {
        await done();
      }
    }, 60_000);
  });
}
