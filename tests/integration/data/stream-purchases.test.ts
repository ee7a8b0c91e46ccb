import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createEventRepository, type PurchaseInput } from '../../../src/data/event-repository.js';
import { buildDataset, DatasetBuilder, type PurchaseRow } from '../../../src/recommenders/dataset.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { countData } from '../../../src/training/dataset-guard.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

/**
 * More purchases after the two shops, stored newest first (so the table is not in time order), with
 * ties in time, orders without an id and purchases without a price.
 */
function laterPurchases(): PurchaseInput[] {
  const out: PurchaseInput[] = [];
  const start = Date.UTC(2011, 2, 1, 9);
  for (let k = 29; k >= 0; k--) {
    const g = k % 2;
    out.push({
      userId: `g${g}-u${k % 6}`,
      itemId: `g${g}-i${(k * 3) % 5}`,
      quantity: 1 + (k % 4),
      price: k % 7 === 0 ? null : 1 + k / 10,
      orderId: k % 5 === 0 ? null : `late-${Math.floor(k / 3)}`,
      ts: new Date(start + Math.floor(k / 4) * 3_600_000),
    });
  }
  return out;
}

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`purchases streamed for training on ${backend.name}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await backend.create();
      const catalog = createCatalogRepository(t.db);
      const events = createEventRepository(t.db);
      await seedTwoShops({ catalog, events });
      await events.insertPurchases(laterPurchases());
      // A user and an item without purchases: the dataset still indexes them.
      await catalog.upsertUsers([{ id: 'lurker', attributes: { country: 'Chile' } }]);
      await catalog.upsertItems([{ id: 'unsold', title: 'never bought' }]);
    });
    afterAll(() => t.dispose());

    const collect = async (batches: AsyncIterable<PurchaseRow[]>, sizes: number[] = []) => {
      const rows: PurchaseRow[] = [];
      for await (const batch of batches) {
        sizes.push(batch.length);
        rows.push(...batch);
      }
      return rows;
    };

    it('yields the rows of loadPurchaseRows, in the same order, in batches of at most the size asked', async () => {
      const events = createEventRepository(t.db);
      const window = { from: new Date('2011-01-05T00:00:00Z'), to: new Date('2011-03-01T12:00:00Z') };
      for (const w of [{}, window]) {
        const sizes: number[] = [];
        const streamed = await collect(events.streamPurchaseRows(w, 7), sizes);
        expect(streamed).toEqual(await events.loadPurchaseRows(w));
        expect(streamed.length).toBeGreaterThan(14);
        if (backend.name === 'postgres') expect(Math.max(...sizes)).toBeLessThanOrEqual(7);
      }
    });

    it('When the streamed rows go into a DatasetBuilder, Then the dataset equals buildDataset over the loaded rows', async () => {
      const events = createEventRepository(t.db);
      const catalog = createCatalogRepository(t.db);
      const [items, users] = await Promise.all([catalog.listItems(), catalog.listUsersWithAttributes()]);
      const builder = new DatasetBuilder();
      for await (const batch of events.streamPurchaseRows({}, 5)) builder.addAll(batch);
      const streamed = builder.build({ items, users });
      const loaded = buildDataset({ events: await events.loadPurchaseRows(), items, users });
      expect(streamed).toEqual(loaded);
      expect(streamed.eventUser.length).toBe(84 + 30);
      expect(streamed.userIds).toContain('lurker');
      expect(streamed.itemIds).toContain('unsold');
      // The later purchases were stored newest first: the dataset is in time order all the same.
      for (let e = 1; e < streamed.eventTs.length; e++) expect(streamed.eventTs[e]).toBeGreaterThanOrEqual(streamed.eventTs[e - 1]);
    });

    it('When a reader stops early, Then its connection is given back (a pool of 4 serves many such readers)', async () => {
      const events = createEventRepository(t.db);
      for (let k = 0; k < 10; k++) {
        for await (const batch of events.streamPurchaseRows({}, 3)) {
          expect(batch.length).toBeGreaterThan(0);
          break;
        }
      }
      expect((await events.counts()).purchases).toBe(84 + 30);
    });

    it('When a model is trained, Then it learned from every streamed purchase', async () => {
      const events = createEventRepository(t.db);
      const catalog = createCatalogRepository(t.db);
      const store = await createMemoryModelStore({});
      try {
        const trainer = createTrainer({ events, catalog, store, defaultRecipe: 'default', isolation: 'inline', threads: 1 });
        const result = await trainer.train();
        const [rows, items, users] = await Promise.all([events.loadPurchaseRows(), catalog.listItems(), catalog.listUsersWithAttributes()]);
        expect(result.data).toEqual(countData(buildDataset({ events: rows, items, users })));
        expect((await store.getActive())?.version).toBe(result.version);
      } finally {
        await store.close();
      }
    });
  });
}
