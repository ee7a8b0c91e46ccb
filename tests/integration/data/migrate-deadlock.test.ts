/**
 * Migrations run as one transaction. Upgrading a database from before 031 applies 031 (which locks
 * purchase_events against writes while it fills item_buyers) and then 032 (which alters items) in one pass.
 * A replica of the release before that meanwhile writes a purchase holds its lock on items (an unknown item
 * is created first) and then waits for purchase_events: a lock cycle, which Postgres ends by rolling one of
 * the two back (deadlock_detected): the migrations failed. A pass now locks the written tables in the writers'
 * order before anything else, so the cycle cannot close. A request Postgres still rolls back in a conflict
 * answers a 503 its client retries (writes are idempotent), never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { migrate } from '../../../src/data/migrate.js';
import { dependencyFailure } from '../../../src/errors.js';
import { lockAwaited } from '../../helpers/lock-waits.js';
import { POSTGRES_URL, randomPrefix, serviceAvailable } from '../../helpers/services.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('migrations meeting a writer in a lock cycle', () => {
  const schema = randomPrefix('mdl');
  let admin: Db;
  let migrator: Db;
  let writer: Db;
  beforeAll(async () => {
    admin = createPgDb(POSTGRES_URL, { max: 2 });
    await admin.exec(`CREATE SCHEMA ${schema}`);
    migrator = createPgDb(POSTGRES_URL, { max: 2, schema });
    writer = createPgDb(POSTGRES_URL, { max: 1, schema });
    await migrate(migrator, { to: '030_sample_untrained.sql' });
  });
  afterAll(async () => {
    await migrator?.close();
    await writer?.close();
    await admin?.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin?.close();
  });

  it('When a writer holds items and then wants purchase_events while the migrations run, Then they wait for it without a lock cycle and the schema is migrated', async () => {
    let migrating: Promise<string[]> | undefined;
    let writerError: unknown = null;
    await writer
      .transaction(async (tx) => {
        // The writer's locks, in the order ingestion takes them: items (a new item), then purchase_events.
        await tx.query('LOCK TABLE items IN ROW EXCLUSIVE MODE');
        migrating = migrate(migrator);
        migrating.catch(() => {});
        // The migrations wait for items, which this transaction holds: without taking the written tables in
        // the writers' order first, 031 had locked purchase_events by then and 032 waited to alter items.
        expect(await lockAwaited(admin, schema, 'items')).toBe(true);
        const { rows: held } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
           WHERE l.granted AND c.relname = 'purchase_events' AND c.relnamespace = $1::regnamespace AND l.mode <> 'AccessShareLock'`,
          [schema],
        );
        // So the writer's next lock is free: no cycle for Postgres to break.
        expect(held[0].n).toBe(0);
        await tx.query('LOCK TABLE purchase_events IN ROW EXCLUSIVE MODE');
      })
      .catch((err: unknown) => (writerError = err));
    const applied = await migrating!;
    expect(applied).toContain('032_item_groups.sql');
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'items' AND column_name = 'item_group_id'`,
      [schema],
    );
    expect(rows[0].n).toBe(1);
    // The writer went through: it waited for nothing the migrations held.
    expect(writerError).toBeNull();
  });

  it('When Postgres ends a transaction as a deadlock or a serialization failure, Then the request is answered 503 (retry), not 500', () => {
    for (const code of ['40P01', '40001']) {
      const err = Object.assign(new Error('deadlock detected'), { code, severity: 'ERROR' });
      expect(dependencyFailure(err)?.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(dependencyFailure(err)?.message).toMatch(/nothing of it was stored/);
    }
  });
});
