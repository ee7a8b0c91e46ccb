/**
 * README "Erasure": each process reads the erasures owed every ERASURE_REFRESH_MS, only what changed since its last
 * read (the transactions that read's snapshot did not see, migration 037), and every id owed again when Postgres is
 * another run than at the last read: a restart, or a promoted replica or a restored backup, may hand out the same
 * transaction ids again, so the last read's mark says nothing of what was seen. Here the server loses Postgres (an
 * immediate stop) and gets it back with a history the mark cannot tell from the old one, as a restored backup or a
 * promoted replica has it: an erasure owed whose request was written by a transaction the mark counts as seen, and one
 * the server owed whose request is gone without a trace in the settled ids. A read of the changes would miss both;
 * the server must read the whole list again and serve by it. Private Postgres (stopped and started by the test's
 * helper) and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { faultTestsRunnable, startFaultApp, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

describe.skipIf(!runnable)('the erasures owed read again whole after Postgres restarts', () => {
  let f: FaultApp;
  const status = async (id: string) => (await f.app.inject({ url: `/v1/users/${id}`, headers: auth('read') })).statusCode;

  beforeAll(async () => {
    // The reads are the test's (poll), not the timer's.
    f = await startFaultApp({ ERASURE_REFRESH_MS: '600000', ERASURE_REDRIVE_MS: '3600000' });
  }, 180_000);
  afterAll(async () => {
    await f?.dispose();
  });

  it('When Postgres comes back as another run, Then the next read reads every erasure owed, and the server serves by it', async () => {
    const owed = f.services.owedErasures;
    await f.db.query("INSERT INTO erasure_requests (user_id) VALUES ('g-user1')");
    await f.services.erasureFollower.owedRead();
    // A read of the changes since: the mark the next one reads from.
    await f.services.erasureFollower.owedRead();
    expect([owed.has('g-user1'), owed.has('g-user2')]).toEqual([true, false]);
    expect([await status('g-user1'), await status('g-user2')]).toEqual([404, 200]);

    await f.pg.stop();
    await f.pg.start();
    // The history the server finds: g-user2's erasure owed by a transaction below the mark (a transaction id handed
    // out again), g-user1's request gone with no settled id (the triggers off, as in a restored backup taken before it).
    await waitUntil('Postgres answering', async () => (await f.db.query('SELECT 1')).rows.length === 1, 30_000);
    await f.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query("DELETE FROM erasure_requests WHERE user_id = 'g-user1'");
      await tx.query("INSERT INTO erasure_requests (user_id, write_xid) VALUES ('g-user2', '3')");
    });
    // The services' pool's first statements may meet connections the stop ended: read until one read succeeds.
    await waitUntil('a read of the erasures owed', () => f.services.erasureFollower.owedRead().then(() => true), 30_000);
    expect([owed.has('g-user1'), owed.has('g-user2')]).toEqual([false, true]);
    expect([await status('g-user1'), await status('g-user2')]).toEqual([200, 404]);
  }, 120_000);
});
