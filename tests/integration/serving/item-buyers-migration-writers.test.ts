/**
 * Migration 031 fills item_buyers from the stored purchases, then creates the triggers that keep it. During
 * a rolling upgrade a replica of the release before goes on writing purchases and erasing customers while the
 * new one migrates (README: replicas of the release before run during a rolling upgrade). What such a writer
 * commits after the backfill's snapshot and before the triggers exist must still be counted (a purchase) or
 * gone (an erased customer's rows: their id kept in item_buyers is a trace of them).
 *
 * The migration is held by a lock on users, as a slow backfill at ten times Online Retail (about 1.5 minutes)
 * would hold it: before 284a922 between its backfill and its triggers (its CREATE STATISTICS waited for it);
 * since, a pass takes users, items and purchase_events first (lockWrittenTables), so it waits there and the
 * writes wait for the whole pass. Either way nothing they commit may be lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { createEventRepository, type PurchaseInput } from '../../../src/data/event-repository.js';
import { migrate } from '../../../src/data/migrate.js';
import { POSTGRES_URL, randomPrefix, serviceAvailable } from '../../helpers/services.js';
import { insertItemsBeforeGroups } from '../../helpers/items-before-groups.js';
import { lockAwaited } from '../../helpers/lock-waits.js';

const T0 = Date.UTC(2024, 0, 1);
const DAY = 86_400_000;
const line = (userId: string, itemId: string, days: number): PurchaseInput => ({ userId, itemId, quantity: 1, price: null, orderId: `${userId}-${itemId}-${days}`, ts: new Date(T0 + days * DAY) });

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('migration 031 while a replica of the release before writes', () => {
  const schema = randomPrefix('ibw');
  let admin: Db;
  let db: Db;
  let migrator: Db;
  beforeAll(async () => {
    admin = createPgDb(POSTGRES_URL, { max: 1 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    db = createPgDb(POSTGRES_URL, { max: 4, schema });
    migrator = createPgDb(POSTGRES_URL, { max: 2, schema });
    await migrate(db, { to: '030_sample_untrained.sql' });
    // The writers below are this release's code standing in for the release before. Its erasure also clears a
    // customer's returns (migration 033), a table the release before did not have: an empty one stands in.
    await db.exec('CREATE TABLE return_events (event_id text PRIMARY KEY, user_id text NOT NULL, item_id text NOT NULL, quantity integer NOT NULL, order_id text, ts timestamptz NOT NULL, created_at timestamptz NOT NULL DEFAULT now())');
    // Likewise its erasure clears the customer's owed request (migration 036, erasure_requests): an empty one.
    await db.exec('CREATE TABLE erasure_requests (user_id text PRIMARY KEY)');
    await insertItemsBeforeGroups(db, [{ id: 'a', title: 'a' }, { id: 'b', title: 'b' }]);
    await createEventRepository(db).insertPurchases([line('u1', 'a', 1), line('u2', 'a', 2)]);
  });
  afterAll(async () => {
    await db?.close();
    await migrator?.close();
    await admin?.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin?.close();
  });

  const untilLockAwaited = (table: string, done?: () => boolean) => lockAwaited(db, schema, table, done);

  it('When a purchase and an erasure commit between the backfill and the triggers, Then item_buyers holds what purchase_events holds', async () => {
    const holder = createPgDb(POSTGRES_URL, { max: 1, schema });
    let migrating: Promise<unknown> | undefined;
    let writes: Promise<void> | undefined;
    try {
      await holder.transaction(async (tx) => {
        await tx.query('LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE');
        // Up to 031, the migration under test.
        migrating = migrate(migrator, { to: '031_item_buyers.sql' });
        // The migration waits for users (at its first lock; before 284a922, after its backfill).
        await untilLockAwaited('users');
        // The release before: a purchase of a new pair, and an erasure. They may have to wait for the migration
        // (which waits for this transaction), so they are awaited after it ends, once they went through or wait.
        writes = (async () => {
          await createEventRepository(db).insertPurchases([line('u3', 'b', 3)]);
          await createEventRepository(db).deleteUsers(['u1']);
        })();
        let settled = false;
        writes.then(() => (settled = true), () => (settled = true));
        await untilLockAwaited('purchase_events', () => settled);
      });
      await writes;
      await migrating;
    } finally {
      await holder.close();
    }
    const stored = await db.query<{ pair: string }>('SELECT DISTINCT user_id || \'/\' || item_id AS pair FROM purchase_events ORDER BY 1');
    expect(stored.rows.map((r) => r.pair)).toEqual(['u2/a', 'u3/b']);
    const kept = await db.query<{ pair: string }>('SELECT user_id || \'/\' || item_id AS pair FROM item_buyers ORDER BY 1');
    expect(kept.rows.map((r) => r.pair)).toEqual(['u2/a', 'u3/b']);
  }, 60_000);
});
