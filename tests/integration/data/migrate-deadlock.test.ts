/**
 * Migrations run as one transaction. Upgrading a database from before 031 applies 031 (which locks
 * purchase_events against writes while it fills item_buyers) and then 032 (which alters items) in one pass.
 * A replica of the release before that meanwhile writes a purchase holds its lock on items (an unknown item
 * is created first) and then waits for purchase_events: a lock cycle, which Postgres ends by rolling one of
 * the two back (deadlock_detected). Either side must come through: the migrations are run again, and a
 * request that lost answers a 503 its client retries (writes are idempotent), never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgDb, type Db } from '../../../src/data/db.js';
import { migrate } from '../../../src/data/migrate.js';
import { dependencyFailure } from '../../../src/errors.js';
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

  /** Polls (up to 10 s) until a statement waits for a lock on `table` of this schema. */
  const untilLockAwaited = async (table: string) => {
    for (let n = 0; n < 400; n++) {
      const { rows } = await admin.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         WHERE NOT l.granted AND c.relname = $2 AND c.relnamespace = $1::regnamespace`,
        [schema, table],
      );
      if (rows[0].n > 0) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`nothing waited for ${table}`);
  };

  it('When the migrations deadlock with a writer, Then they are run again and the schema is migrated, and the writer is told to retry', async () => {
    let migrating: Promise<string[]> | undefined;
    let writerError: unknown = null;
    await writer
      .transaction(async (tx) => {
        // The writer's locks, in the order ingestion takes them: items (a new item), then purchase_events.
        await tx.query('LOCK TABLE items IN ROW EXCLUSIVE MODE');
        migrating = migrate(migrator);
        migrating.catch(() => {});
        // 031 has locked purchase_events; 032 now waits for items, which this transaction holds.
        await untilLockAwaited('items');
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
    // Postgres picks the side it rolls back; when it is the writer, its error is a 503 (retry), not a 500.
    if (writerError) {
      expect((writerError as { code?: string }).code).toBe('40P01');
      expect(dependencyFailure(writerError)?.code).toBe('DEPENDENCY_UNAVAILABLE');
    }
  });

  it('When Postgres ends a transaction as a deadlock or a serialization failure, Then the request is answered 503 (retry), not 500', () => {
    for (const code of ['40P01', '40001']) {
      const err = Object.assign(new Error('deadlock detected'), { code, severity: 'ERROR' });
      expect(dependencyFailure(err)?.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(dependencyFailure(err)?.message).toMatch(/nothing of it was stored/);
    }
  });
});
