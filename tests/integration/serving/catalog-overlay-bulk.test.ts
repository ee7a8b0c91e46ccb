/**
 * The catalog overlay (serving/catalog-overlay.ts) re-reads, each pass, the changes of the minute before
 * its cursor, for transactions that committed after a pass passed their stamp. A catalog written in one
 * transaction (an import, a nightly sync) carries one stamp: every pass re-read all of it, every 2 s for
 * good (60,000 items of the fashion shop: the largest part of the serving thread's work in a profile).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createCatalogOverlay } from '../../../src/serving/catalog-overlay.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

const usePostgres = await serviceAvailable(POSTGRES_URL);

describe('the catalog overlay after a bulk catalog write', () => {
  let t: TestApp;
  let model: ServingModel;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-bulk');
    model = (await t.services.serving.activeModel())!;
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When the whole catalog was written in one transaction minutes ago, Then the passes after the first read none of it again, and a later change is still read', async () => {
    // The catalog as one import wrote it, five minutes ago (after the version's training window starts).
    await t.services.db.query(`UPDATE items SET updated_at = now() - interval '5 minutes'`);
    const itemCount = Number((await t.services.db.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0].n);
    let read = 0;
    const db = t.services.db;
    const counting = Object.assign(Object.create(Object.getPrototypeOf(db) as object) as Db, db, {
      query: (async (sql: string, params?: unknown[]) => {
        const r = await db.query(sql, params);
        if (sql.includes('FROM items')) read += r.rows.length;
        return r;
      }) as Db['query'],
    });
    const overlay = createCatalogOverlay({ db: counting });
    await overlay.refresh(model);
    expect(read).toBe(itemCount);
    read = 0;
    await overlay.refresh(model);
    await overlay.refresh(model);
    expect(read).toBe(0);
    // A change made now is read by the next pass and reaches the served arrays.
    const id = model.items.ids[0];
    const item = (await t.services.catalog.getItem(id))!;
    await t.services.catalog.upsertItems([{ ...item, id, available: false }]);
    await overlay.refresh(model);
    expect(read).toBe(1);
    expect(model.items.available[0]).toBe(0);
  });
});
