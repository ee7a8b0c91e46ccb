/**
 * A Postgres that cancels statements itself: a `statement_timeout` set by the DBA on the server, database
 * or role (managed Postgres services set one by default), a `lock_timeout`, or a DBA's pg_cancel_backend of
 * a query stuck behind a lock. To the service this is the same slow Postgres that PG_QUERY_TIMEOUT_MS guards
 * against ("Postgres that stops answering ... a statement stuck behind a lock"), only given up by the server
 * before the service's own limit: the request should get the fallback or the 503 of an outage, not a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { KEYS } from '../../helpers/app.js';
import { DAY, T0 } from '../serving/shop-fixture.js';
import { ask, faultTestsRunnable, startFaultApp, type Answer, type FaultApp } from './fault-app.js';

const runnable = await faultTestsRunnable();

type Reply = Answer<{ fallback?: boolean; items?: unknown[]; error?: { code: string } }>;

describe.skipIf(!runnable)('a Postgres that cancels a statement stuck behind a lock (its own statement_timeout)', () => {
  let fault: FaultApp;
  let admin: Db;

  beforeAll(async () => {
    fault = await startFaultApp();
    admin = createPgDb(fault.pg.url, { max: 2 });
  }, 120_000);

  afterAll(async () => {
    await admin?.close();
    await fault?.dispose();
  });

  /** recsvc_db_timeouts_total, all kinds of statement together. */
  const dbTimeouts = async () =>
    (await fault.app.inject({ url: '/metrics' })).body
      .split('\n')
      .filter((l) => l.startsWith('recsvc_db_timeouts_total{'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);

  const call = (what: string, path: string, init: { method?: string; scope?: keyof typeof KEYS; body?: unknown } = {}): Promise<Reply> =>
    ask<Reply['body']>(fault.base, what, path, init, 30_000);

  it('When Postgres cancels the statements of requests (statement_timeout) while a lock holds them, Then a customer gets a fallback list and a purchase a 503 with Retry-After, never a 500', async () => {
    // The DBA's limit, far below the service's own 10 s: every session, the pool's open ones too, takes it at the reload.
    await admin.query("ALTER SYSTEM SET statement_timeout = '300ms'");
    await admin.query('SELECT pg_reload_conf()');
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    // A maintenance statement (a migration, a VACUUM FULL) holding the purchases, itself exempt from the limit.
    const holder = admin.transaction(async (tx) => {
      await tx.query('SET LOCAL statement_timeout = 0');
      await tx.query('LOCK TABLE purchase_events, interaction_events, users IN ACCESS EXCLUSIVE MODE');
      locked();
      await released;
    });
    await isLocked;
    const timeoutsBefore = await dbTimeouts();
    let answers: Reply[];
    try {
      answers = await Promise.all([
        // A customer the model does not know: their purchases and attributes are read from Postgres.
        call('recommend unknown', '/v1/users/nobody-yet/recommendations?k=5', { scope: 'read' }),
        call('purchase', '/v1/events', {
          method: 'POST',
          scope: 'write',
          body: { events: [{ eventId: 'cancelled-1', userId: 'g-user1', itemId: 'g5', quantity: 1, ts: new Date(T0 + 90 * DAY).toISOString() }] },
        }),
        call('history', '/v1/users/g-user1/events', { scope: 'read' }),
      ]);
    } finally {
      release();
      await holder;
      await admin.query('ALTER SYSTEM RESET statement_timeout');
      await admin.query('SELECT pg_reload_conf()');
    }
    const [recommend, purchase, history] = answers;
    // As when the service gives the statement up itself (store-hangs.test.ts): the storefront's read is answered.
    expect(recommend, recommend.what).toMatchObject({ status: 200 });
    expect(recommend.body.items?.length).toBeGreaterThan(0);
    // A write that could not be stored is refused in the documented shape, to be retried.
    expect(purchase, purchase.what).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
    expect(history, history.what).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), body: { error: { code: 'DEPENDENCY_UNAVAILABLE' } } });
    // Counted as the service's own given-up statements are: what an alert on a slow Postgres reads.
    expect(await dbTimeouts()).toBeGreaterThan(timeoutsBefore);
    expect(fault.crashes).toEqual([]);
  }, 60_000);
});
