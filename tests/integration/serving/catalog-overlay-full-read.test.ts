/**
 * After Postgres restarted or recovered (a crash, a killed backend, a failover: transaction ids handed out again), the
 * catalog overlay's next pass reads the whole catalogue once (serving/catalog-overlay.ts). That read is paged, 5,000
 * rows a page; each page must be found through an index. Keyset on (updated_at, id), which no index covers, every page
 * scanned and sorted the whole items table: 605,420 items took 55 s (121 scans), during which no catalogue change
 * reached serving (one pass runs at a time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createCatalogOverlay } from '../../../src/serving/catalog-overlay.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

const backend = DB_BACKENDS.find((b) => b.name === 'postgres')!;
const available = await backend.available();

describe.skipIf(!available)('the catalog overlay reading the whole catalogue after Postgres restarted', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ createDb: backend.create });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-full-read');
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When the run of Postgres that took the version\'s snapshot is gone, Then every page of the full read is found through an index, not a scan and sort of the items table', async () => {
    const db = t.services.db;
    const trained = (await t.services.serving.activeModel())!;
    const taken = trained.meta.info.catalogSnapshot as { snapshot: string; server: string };
    // The same version as a process reads it after Postgres restarted: its training's snapshot names another run.
    const model = { ...trained, meta: { ...trained.meta, info: { ...trained.meta.info, catalogSnapshot: { ...taken, server: 'a run before a crash' } } } } as ServingModel;
    const reads: { sql: string; params: unknown[] }[] = [];
    const recording: Db = {
      ...db,
      kind: db.kind,
      async query<T>(sql: string, params?: unknown[]) {
        if (/FROM items/.test(sql)) reads.push({ sql, params: params ?? [] });
        return db.query<T>(sql, params);
      },
    };
    const passes: number[] = [];
    await createCatalogOverlay({ db: recording, onRowsRead: (n) => passes.push(n) }).refresh(model);
    const itemCount = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0].n);
    expect(passes, 'the whole catalogue read once').toEqual([itemCount]);
    expect(reads.length).toBeGreaterThan(0);
    for (const { sql, params } of reads) {
      // With whole-table and bitmap scans priced out (the test's table is small), a query that an index serves in
      // order is planned on it; one no index serves still scans and sorts the table.
      const plan = await db.transaction(async (tx) => {
        await tx.query('SET LOCAL enable_seqscan = off');
        await tx.query('SET LOCAL enable_bitmapscan = off');
        return JSON.stringify((await tx.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows);
      });
      expect(plan, sql).not.toMatch(/"Seq Scan"|"Sort"/);
    }
  });
});
