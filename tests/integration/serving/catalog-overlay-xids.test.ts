/**
 * The catalog overlay (serving/catalog-overlay.ts) after its first pass reads the rows written by the
 * transactions the last pass could not see (still in flight, or begun after it), not the rows of a time
 * window: so a long catalogue sync that commits after a pass is read by the next one, however old its
 * updated_at, and a quiet catalogue (one bulk import, one updated_at for every row) is not read again.
 * Rows read are counted by the overlay itself (`onRowsRead`, the recsvc_serving_catalog_overlay_rows_total metric).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createCatalogOverlay } from '../../../src/serving/catalog-overlay.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

for (const backend of DB_BACKENDS) {
  const available = await backend.available();
  describe.skipIf(!available)(`the catalog overlay reads by transaction (${backend.name})`, () => {
    let t: TestApp;
    let model: ServingModel;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      await seedShop(t.services);
      await trainAndPublish(t.services, `v-xids-${backend.name}`);
      model = (await t.services.serving.activeModel())!;
    }, 120_000);
    afterAll(() => t?.dispose());

    it('When the whole catalogue was written in one transaction, Then the passes after the first read none of it again, and a later change is read by the next pass', async () => {
      const db = t.services.db;
      // The catalogue as one import wrote it, five minutes ago (after the version's training window starts).
      await db.query(`UPDATE items SET updated_at = now() - interval '5 minutes'`);
      const itemCount = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0].n);
      const passes: number[] = [];
      const overlay = createCatalogOverlay({ db, onRowsRead: (n) => passes.push(n) });
      await overlay.refresh(model);
      expect(passes).toEqual([itemCount]);
      await overlay.refresh(model);
      await overlay.refresh(model);
      expect(passes).toEqual([itemCount, 0, 0]);
      // A change made now is read by the next pass and reaches the served arrays.
      const id = model.items.ids[0];
      const item = (await t.services.catalog.getItem(id))!;
      await t.services.catalog.upsertItems([{ ...item, id, available: false }]);
      await overlay.refresh(model);
      expect(passes).toEqual([itemCount, 0, 0, 1]);
      expect(model.items.available[0]).toBe(0);
      // Read once: the pass after it reads nothing.
      await overlay.refresh(model);
      expect(passes).toEqual([itemCount, 0, 0, 1, 0]);
    });

    // PGlite has one connection: no transaction stays open while another statement runs.
    it.skipIf(backend.name === 'pglite')(
      'When a sync stamped 70 s back is still open while a pass reads a later edit, and commits after it, Then the next pass reads the sync',
      async () => {
        const db = t.services.db;
        await db.query(`UPDATE items SET updated_at = now() - interval '10 minutes', available = true`);
        const passes: number[] = [];
        const overlay = createCatalogOverlay({ db, onRowsRead: (n) => passes.push(n) });
        await overlay.refresh(model);
        const at = model.items.available.indexOf(1);
        expect(at).toBeGreaterThanOrEqual(0);
        const synced = model.items.ids[at];
        const edited = model.items.ids.find((id) => id !== synced)!;
        let commit!: () => void;
        const committing = new Promise<void>((resolve) => (commit = resolve));
        let written!: () => void;
        const wrote = new Promise<void>((resolve) => (written = resolve));
        // The nightly sync: its transaction began 70 s ago (its stamp says so) and is still open.
        const sync = db.transaction(async (tx) => {
          const item = (await createCatalogRepository(tx).getItem(synced))!;
          await createCatalogRepository(tx).upsertItems([{ ...item, id: synced, available: false }]);
          await tx.query(`UPDATE items SET updated_at = now() - interval '70 seconds' WHERE id = $1`, [synced]);
          // And more new products than one page of the overlay's reads (5,000).
          await tx.query(`INSERT INTO items (id, title) SELECT 'sync-new-' || n, 'new' FROM generate_series(1, 5001) AS n`);
          written();
          await committing;
        });
        await wrote;
        // The merchant's edit, a short transaction that commits at once; a pass reads it while the sync is open.
        const item = (await t.services.catalog.getItem(edited))!;
        await t.services.catalog.upsertItems([{ ...item, id: edited, title: `${item.title} (edited)` }]);
        await overlay.refresh(model);
        expect(model.items.titles[model.items.index.get(edited)!]).toMatch(/\(edited\)$/);
        expect(model.items.available[at]).toBe(1);
        // The sync commits after that pass: the next pass reads it, all of it, and the pass after reads nothing.
        commit();
        await sync;
        passes.length = 0;
        await overlay.refresh(model);
        expect(model.items.available[at]).toBe(0);
        await overlay.refresh(model);
        expect(passes).toEqual([5002, 0]);
      },
      60_000,
    );

    // PGlite has one connection, as above.
    it.skipIf(backend.name === 'pglite')(
      "When a big sync stays open across passes, Then no pass's reads cover its rows while it is in flight, and the pass after its commit reads all of it",
      async () => {
        const db = t.services.db;
        // The overlay's reads of items, as sent (whatever the overlay's queries are).
        const reads: { sql: string; params: unknown[] }[] = [];
        const counting: typeof db = {
          ...db,
          query: ((sql: string, params?: unknown[]) => {
            if (/FROM items/.test(sql)) reads.push({ sql, params: params ?? [] });
            return db.query(sql, params);
          }) as typeof db.query,
        };
        const passes: number[] = [];
        const overlay = createCatalogOverlay({ db: counting, onRowsRead: (n) => passes.push(n) });
        await overlay.refresh(model);
        let commit!: () => void;
        const committing = new Promise<void>((resolve) => (commit = resolve));
        let written!: (tx: typeof db) => void;
        const wrote = new Promise<typeof db>((resolve) => (written = resolve));
        const SYNC_ROWS = 3000;
        const sync = db.transaction(async (tx) => {
          await tx.query(`INSERT INTO items (id, title) SELECT 'big-sync-' || n, 'new' FROM generate_series(1, ${SYNC_ROWS}) AS n`);
          written(tx as typeof db);
          await committing;
        });
        const tx = await wrote;
        passes.length = 0;
        reads.length = 0;
        for (let k = 0; k < 4; k++) await overlay.refresh(model);
        expect(passes).toEqual([0, 0, 0, 0]);
        // The sync's rows each of those reads covered: run as sent inside the sync, where its rows are visible. The
        // reader does not see them, but Postgres steps over every one of them (index entry and row) to find that out.
        let covered = 0;
        for (const r of reads) covered += (await tx.query<{ id: string }>(r.sql, r.params)).rows.filter((row) => row.id.startsWith('big-sync-')).length;
        expect(covered).toBe(0);
        commit();
        await sync;
        await overlay.refresh(model);
        await overlay.refresh(model);
        expect(passes).toEqual([0, 0, 0, 0, SYNC_ROWS, 0]);
        expect(model.items.index.has('big-sync-1')).toBe(false);
      },
      60_000,
    );

    // PGlite has one connection, as above.
    it.skipIf(backend.name === 'pglite')(
      "When a big sync is open and a short edit commits after its first write, Then no pass's reads step over the sync's rows, and the pass after its commit reads all of it",
      async () => {
        const db = t.services.db;
        const reads: { sql: string; params: unknown[] }[] = [];
        const counting: typeof db = {
          ...db,
          query: ((sql: string, params?: unknown[]) => {
            if (/FROM items/.test(sql)) reads.push({ sql, params: params ?? [] });
            return db.query(sql, params);
          }) as typeof db.query,
        };
        const passes: number[] = [];
        const overlay = createCatalogOverlay({ db: counting, onRowsRead: (n) => passes.push(n) });
        await overlay.refresh(model);
        let commit!: () => void;
        const committing = new Promise<void>((resolve) => (commit = resolve));
        let written!: (tx: typeof db) => void;
        const wrote = new Promise<typeof db>((resolve) => (written = resolve));
        const SYNC_ROWS = 3000;
        const sync = db.transaction(async (tx) => {
          await tx.query(`INSERT INTO items (id, title) SELECT 'gap-sync-' || n, 'new' FROM generate_series(1, ${SYNC_ROWS}) AS n`);
          written(tx as typeof db);
          await committing;
        });
        const tx = await wrote;
        try {
          // A merchant's edit that commits while the sync is open: its id is past the sync's, so the sync's id is
          // below the next pass's xmax (in its xip list), as on any shop where events and edits keep committing.
          const edited = model.items.ids[0];
          const item = (await t.services.catalog.getItem(edited))!;
          await t.services.catalog.upsertItems([{ ...item, id: edited, title: `${item.title} (gap edit)` }]);
          passes.length = 0;
          reads.length = 0;
          for (let k = 0; k < 4; k++) await overlay.refresh(model);
          expect(passes).toEqual([1, 0, 0, 0]);
          expect(model.items.titles[0]).toMatch(/\(gap edit\)$/);
          // The rows each read stepped over (index entries fetched, then returned or filtered out), counted inside
          // the sync where its rows are visible, with whole-table and bitmap scans priced out (the table is small).
          let stepped = 0;
          await tx.query('SAVEPOINT counting');
          await tx.query('SET LOCAL enable_seqscan = off');
          await tx.query('SET LOCAL enable_bitmapscan = off');
          for (const r of reads) {
            const plan = (await tx.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${r.sql}`, r.params)).rows[0]['QUERY PLAN'];
            JSON.stringify(plan, (key, value) => {
              if (key === 'Actual Rows' || key === 'Rows Removed by Filter') stepped += Number(value);
              return value;
            });
          }
          await tx.query('ROLLBACK TO SAVEPOINT counting');
          // The edit's one row (returned, and again by the Limit above its scan); none of the sync's 3,000.
          expect(stepped).toBeLessThan(10);
        } finally {
          // A failed assertion must not leave the sync open (the suite's teardown would wait for it).
          commit();
          await sync;
        }
        await overlay.refresh(model);
        await overlay.refresh(model);
        expect(passes).toEqual([1, 0, 0, 0, SYNC_ROWS, 0]);
      },
      60_000,
    );
  });
}
