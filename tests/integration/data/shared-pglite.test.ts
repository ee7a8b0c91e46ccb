import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../../src/data/migrate.js';
import { createPgliteTestDb, type TestDb } from '../../helpers/services.js';

/** PGlite test databases are schemas of the worker's one instance (tests/helpers/shared-pglite.ts). */
describe('PGlite test databases sharing one instance', () => {
  const migrations = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length;
  const jobIds = async (t: TestDb) => (await t.db.query<{ id: string }>('SELECT id FROM jobs ORDER BY id')).rows.map((r) => r.id);
  const addJob = (t: TestDb, id: string) => t.db.query("INSERT INTO jobs (id, type, status, params) VALUES ($1, 'probe', 'queued', '{}')", [id]);

  it('When two test databases are open at once, Then each is migrated and neither sees the rows the other writes, statements interleaved or in a transaction', async () => {
    const a = await createPgliteTestDb();
    const b = await createPgliteTestDb();
    try {
      for (const t of [a, b]) expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBe(migrations);
      // Statements of both issued together: each must run on its own schema.
      await Promise.all(Array.from({ length: 10 }, (_, i) => [addJob(a, `a${i}`), addJob(b, `b${i}`)]).flat());
      let fromA: Promise<string[]> | undefined;
      await b.db.transaction(async (tx) => {
        await tx.query("INSERT INTO jobs (id, type, status, params) VALUES ('b-tx', 'probe', 'queued', '{}')");
        // A's statement, issued inside b's transaction, waits for it and then reads a's table.
        fromA = jobIds(a);
        expect((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs')).rows[0].n).toBe(11);
      });
      expect(await fromA).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`).sort());
      expect(await jobIds(a)).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`).sort());
      expect(await jobIds(b)).toEqual([...Array.from({ length: 10 }, (_, i) => `b${i}`), 'b-tx'].sort());
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }, 60_000);

  it('When a test database is disposed, Then its schema is gone, its Db answers as a closed PGlite, and the next test database works from an empty migrated schema', async () => {
    const first = await createPgliteTestDb();
    await addJob(first, 'old');
    const { rows } = await first.db.query<{ s: string }>('SELECT current_schema() AS s');
    await first.dispose();
    await expect(first.db.query('SELECT 1')).rejects.toThrow('PGlite is closed');

    const next = await createPgliteTestDb();
    try {
      expect(await jobIds(next)).toEqual([]);
      await addJob(next, 'new');
      expect(await jobIds(next)).toEqual(['new']);
      const left = await next.db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [rows[0].s]);
      expect(left.rows).toEqual([]);
    } finally {
      await next.dispose();
    }
  }, 60_000);
});
