import { beforeAll, describe, expect, it } from 'vitest';
import { createPgDb } from '../../../src/data/db.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { migrate, MIGRATIONS_DIR } from '../../../src/data/migrate.js';
import { signRecommendationToken, userTag } from '../../../src/serving/recommendation-token.js';
import { POSTGRES_URL, randomPrefix, unmigratedBackends } from '../../helpers/services.js';

/** A database at the schema of migration `to` on each backend; `done` drops what it made. */
const BACKENDS = unmigratedBackends('m');

for (const backend of BACKENDS) {
  describe.skipIf(!(await backend.available()))(`migrations on ${backend.name}`, () => {
    beforeAll(async () => backend.prepare?.());
    it('When a database one migration behind is migrated, Then only the last is applied, and migrating again applies nothing', async () => {
      const { db, done } = await backend.open();
      try {
        const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
        expect(await migrate(db, { to: files[files.length - 2] })).toEqual(files.slice(0, -1));
        // One pending: handed to Umzug, which applies it.
        expect(await migrate(db)).toEqual(files.slice(-1));
        // Nothing pending: answered from the record alone (migrate.ts), as Umzug answered.
        expect(await migrate(db)).toEqual([]);
        const recorded = await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
        expect(recorded.rows.map((r) => r.name)).toEqual(files);
      } finally {
        await done();
      }
    });
    it('When jobs stored before 008 were updated after they were made, Then 008 numbers them in the order they were made, and new jobs come after', async () => {
      const { db, done } = await backend.open();
      try {
        await migrate(db, { to: '007_interaction_events.sql' });
        for (const [id, at] of [['a', '2026-01-01T00:00:01Z'], ['b', '2026-01-01T00:00:02Z'], ['c', '2026-01-01T00:00:03Z']]) {
          await db.query(`INSERT INTO jobs (id, type, status, created_at) VALUES ($1, 'train', 'queued', $2)`, [id, at]);
        }
        // Updates move a row on disk: the oldest job is now stored last.
        await db.query(`UPDATE jobs SET status = 'running', progress = 0.5 WHERE id = 'a'`);
        await db.query(`UPDATE jobs SET progress = 0.6 WHERE id = 'a'`);
        expect(await migrate(db, { to: '008_job_order.sql' })).toEqual(['008_job_order.sql']);
        const { rows } = await db.query<{ id: string; seq: string }>('SELECT id, seq FROM jobs ORDER BY seq');
        expect(rows.map((r) => r.id)).toEqual(['a', 'b', 'c']);
        await db.query(`INSERT INTO jobs (id, type, status) VALUES ('d', 'train', 'queued')`);
        const { rows: last } = await db.query<{ id: string }>('SELECT id FROM jobs ORDER BY seq DESC LIMIT 1');
        expect(last[0].id).toBe('d');
      } finally {
        await done();
      }
    });

    it('When factor-import reports written before 019 name customers, Then 019 empties those lists and leaves the rest of each report', async () => {
      const { db, done } = await backend.open();
      try {
        await migrate(db, { to: '018_erased_event_ids.sql' });
        const report = (users: string[]) => ({ version: 'v1', factorImport: { source: 'als', items: { unknown: 1, unknownSample: ['i-x'] }, users: { unknown: users.length, unknownSample: users } } });
        await db.query(`INSERT INTO jobs (id, type, status, result) VALUES ('f1', 'factor-import', 'succeeded', $1::jsonb)`, [JSON.stringify(report(['someone@example.com', 'c-42']))]);
        await db.query(`INSERT INTO jobs (id, type, status, result) VALUES ('f2', 'factor-import', 'failed', NULL)`);
        await db.query(`INSERT INTO jobs (id, type, status, result) VALUES ('t1', 'train', 'succeeded', $1::jsonb)`, [JSON.stringify({ version: 'v2' })]);
        expect(await migrate(db)).toContain('019_factor_reports_without_customers.sql');
        const { rows } = await db.query<{ id: string; result: unknown }>('SELECT id, result FROM jobs ORDER BY id');
        expect(rows).toEqual([
          { id: 'f1', result: { version: 'v1', factorImport: { source: 'als', items: { unknown: 1, unknownSample: ['i-x'] }, users: { unknown: 2, unknownSample: [] } } } },
          { id: 'f2', result: null },
          { id: 't1', result: { version: 'v2' } },
        ]);
      } finally {
        await done();
      }
    });

    it('When import jobs failed before 028 with errors quoting a first line or a column name, Then 028 takes the quotes out and leaves the rest', async () => {
      const { db, done } = await backend.open();
      try {
        await migrate(db, { to: '027_job_options.sql' });
        const errors: [string, string, string][] = [
          ['i1', 'import', 'not an Online Retail file: header is "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom", expected Online Retail: InvoiceNo,StockCode'],
          ['i2', 'import', 'users.csv: column "paris" appears twice; header is "c-42,Paris,paris", expected at least id'],
          ['i3', 'import', 'users.csv: attribute column "c-42 Some Long Note About Them That Goes..." is longer than 128 characters or holds a NUL'],
          ['i4', 'import', 'events.csv is not UTF-8: line 3 (byte 70) holds 0xE9'],
          ['t1', 'train', 'a training failed: header is "kept", expected'],
        ];
        for (const [id, type, error] of errors) await db.query(`INSERT INTO jobs (id, type, status, error) VALUES ($1, $2, 'failed', $3)`, [id, type, error]);
        expect(await migrate(db)).toContain('028_import_errors_without_rows.sql');
        const { rows } = await db.query<{ id: string; error: string }>('SELECT id, error FROM jobs ORDER BY id');
        expect(rows).toEqual([
          { id: 'i1', error: 'not an Online Retail file: first line not shown, expected Online Retail: InvoiceNo,StockCode' },
          { id: 'i2', error: 'users.csv: a column name appears twice; first line not shown, expected at least id' },
          { id: 'i3', error: 'users.csv: an attribute column name is longer than 128 characters or holds a NUL' },
          { id: 'i4', error: 'events.csv is not UTF-8: line 3 (byte 70) holds 0xE9' },
          { id: 't1', error: 'a training failed: header is "kept", expected' },
        ]);
      } finally {
        await done();
      }
    });

    it('When 029 reads the customer tag of recommendationIds, Then a personal list\'s token gives its tag and any other text none, never an error', async () => {
      const { db, done } = await backend.open();
      try {
        await migrate(db);
        const key = randomBytes(32);
        const tagOf = async (id: string) => (await db.query<{ t: string | null }>('SELECT recommendation_list_tag($1) AS t', [id])).rows[0].t;
        for (const customer of ['c1', 'someone@example.com']) {
          const token = signRecommendationToken(key, { strategy: 'hybrid', modelVersion: 'v1', experiment: { id: 'e', arm: 'b' }, userId: customer }, Date.UTC(2026, 0, 1));
          expect(await tagOf(token)).toBe(userTag(key, customer));
        }
        expect(await tagOf(signRecommendationToken(key, { strategy: 'similar', modelVersion: 'v1' }, Date.UTC(2026, 0, 1)))).toBeNull();
        const junk = ['', '=', 'ab=', randomUUID(), 'A'.repeat(49), 'A'.repeat(50), 'A'.repeat(51), '-_'.repeat(40), `Amx${'!'.repeat(60)}`, `${'Zm9v'.repeat(20)}=`, 'é'.repeat(60), 'x'.repeat(256)];
        for (const id of junk) expect(await tagOf(id)).toBeNull();
        // Stored as any client may send them: the index's expression runs on every insert and must not fail one.
        await db.query("INSERT INTO users (id) VALUES ('u')");
        await db.query("INSERT INTO items (id) VALUES ('i')");
        await db.query(`INSERT INTO feedback_events (event_id, user_id, item_id, type, recommendation_id, ts) SELECT 'e' || n, 'u', 'i', 'click', r, now() FROM unnest($1::text[]) WITH ORDINALITY AS t(r, n)`, [junk]);
      } finally {
        await done();
      }
    });
  });

  if (backend.name === 'postgres') {
    describe.skipIf(!(await backend.available()))('migrations from replicas starting together', () => {
      it('When two processes migrate a new database at the same moment, Then both start, the migrations are applied once, and the schema is whole', async () => {
        const schema = randomPrefix('m');
        const admin = createPgDb(POSTGRES_URL, { max: 1 });
        await admin.exec(`CREATE SCHEMA ${schema}`);
        // Two replicas: each its own pool, as each process has.
        const replicas = [createPgDb(POSTGRES_URL, { max: 2, schema }), createPgDb(POSTGRES_URL, { max: 2, schema })];
        try {
          const results = await Promise.allSettled(replicas.map((db) => migrate(db)));
          expect(results.map((r) => r.status), JSON.stringify(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')))).toEqual(['fulfilled', 'fulfilled']);
          const applied = results.map((r) => (r as PromiseFulfilledResult<string[]>).value);
          const all = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort();
          // One of them applied every migration; the other found them applied.
          expect([...applied].sort((a, b) => a.length - b.length)).toEqual([[], all]);
          const { rows } = await admin.query<{ name: string }>(`SELECT name FROM ${schema}.schema_migrations ORDER BY name`);
          expect(rows.map((r) => r.name)).toEqual(all);
        } finally {
          for (const db of replicas) await db.close();
          await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
          await admin.close();
        }
      });
    });
  }
}
