/**
 * The catalog overlay (serving/catalog-overlay.ts) keys on updated_at, its transaction's start time: a
 * write that began before another but committed after a pass read the other carries an older stamp than
 * the cursor. Until b5a42c4 each pass re-read the minute before the cursor, which caught such a write when
 * it began within a minute before the one that overtook it, however long it ran (a bulk catalog sync of
 * 70 s with a merchant's edit 5 s into it). Re-reading only the minute before the last pass began misses
 * it once it ran more than a minute: the item stays served as available until the next training.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogOverlay } from '../../../src/serving/catalog-overlay.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb, createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

const usePostgres = await serviceAvailable(POSTGRES_URL);

describe('the catalog overlay and a long write overtaken by a short one', () => {
  let t: TestApp;
  let model: ServingModel;
  beforeAll(async () => {
    t = await createTestApp({ createDb: usePostgres ? createPostgresTestDb : createPgliteTestDb });
    await seedShop(t.services);
    await trainAndPublish(t.services, 'v-late');
    model = (await t.services.serving.activeModel())!;
  }, 120_000);
  afterAll(() => t?.dispose());

  it('When a sync that began 70 s ago commits after an edit that began 5 s into it was read, Then the next pass still reads the sync', async () => {
    const db = t.services.db;
    // The catalog as an import wrote it ten minutes ago.
    await db.query(`UPDATE items SET updated_at = now() - interval '10 minutes'`);
    const overlay = createCatalogOverlay({ db });
    await overlay.refresh(model);
    const at = model.items.available.indexOf(1);
    const synced = model.items.ids[at];
    const edited = model.items.ids.find((id) => id !== synced)!;
    expect(at).toBeGreaterThanOrEqual(0);
    // The merchant's edit: its transaction began 65 s ago (5 s after the sync's) and committed first; a pass reads it.
    await db.query(`UPDATE items SET title = title || ' (edited)', updated_at = now() - interval '65 seconds' WHERE id = $1`, [edited]);
    await overlay.refresh(model);
    // The sync commits now, stamped with its start 70 s ago: the item is sold out.
    // (Stamped 5 s before the edit's own stamp, however long this test took between the two.)
    await db.query(`UPDATE items SET available = false, updated_at = (SELECT updated_at FROM items WHERE id = $2) - interval '5 seconds' WHERE id = $1`, [synced, edited]);
    await overlay.refresh(model);
    expect(model.items.available[at]).toBe(0);
  });
});
