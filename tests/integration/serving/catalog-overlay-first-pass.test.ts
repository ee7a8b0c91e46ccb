/**
 * A version's first catalog-overlay pass (serving/catalog-overlay.ts) reads what the training's catalogue snapshot
 * (info.catalogSnapshot, taken before the training read the catalogue) could not see. It used to read by time, the
 * items stamped (updated_at, its transaction's start) since an hour and the training's steps before trainedAt: a long
 * sync that began before that and committed after the training read the catalogue was in neither the version's
 * arrays nor the window, and the passes after the first read only what the first pass's snapshot could not see. So
 * the item was served as it was until the next training.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogOverlay } from '../../../src/serving/catalog-overlay.js';
import type { ServingModel } from '../../../src/serving/serving-model.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { DB_BACKENDS } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from './shop-fixture.js';

for (const backend of DB_BACKENDS) {
  const available = await backend.available();
  describe.skipIf(!available)(`a version's first catalog overlay pass (${backend.name})`, () => {
    let t: TestApp;
    let model: ServingModel;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
      await seedShop(t.services);
      await trainAndPublish(t.services, `v-first-${backend.name}`);
      model = (await t.services.serving.activeModel())!;
    }, 120_000);
    afterAll(() => t?.dispose());

    it('When a sync that began two hours before the training commits after the training read the catalogue, Then the overlay reads it', async () => {
      const db = t.services.db;
      const at = model.items.available.indexOf(1);
      expect(at).toBeGreaterThanOrEqual(0);
      const synced = model.items.ids[at];
      // The training read the item as available; the sync, begun two hours before (its stamp), commits now.
      await db.query(`UPDATE items SET available = false, updated_at = now() - interval '2 hours' WHERE id = $1`, [synced]);
      const overlay = createCatalogOverlay({ db });
      await overlay.refresh(model);
      await overlay.refresh(model);
      expect(model.items.available[at]).toBe(0);
    });

    it('When a version trained by the trainer is first read after such a sync committed, Then the overlay reads it', async () => {
      const db = t.services.db;
      await db.query('UPDATE items SET available = true');
      await t.services.trainer.train({ tune: false });
      await t.services.serving.refresh();
      const trained = (await t.services.serving.activeModel())!;
      expect(trained.meta.version).not.toBe(model.meta.version);
      const at = trained.items.index.get('g3')!;
      expect(trained.items.available[at]).toBe(1);
      await db.query(`UPDATE items SET available = false, updated_at = now() - interval '2 hours' WHERE id = 'g3'`);
      // A process whose first pass of this version runs after the sync committed.
      const overlay = createCatalogOverlay({ db });
      await overlay.refresh(trained);
      await overlay.refresh(trained);
      expect(trained.items.available[at]).toBe(0);
    }, 120_000);
  });
}
