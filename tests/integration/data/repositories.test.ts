import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`repositories on ${backend.name}`, () => {
    let t: TestDb;
    beforeAll(async () => {
      t = await backend.create();
    });
    afterAll(() => t.dispose());

    it('When events name unknown users and items, Then both are created and the events stored', async () => {
      const events = createEventRepository(t.db);
      const catalog = createCatalogRepository(t.db);
      const ts = new Date('2011-01-02T10:00:00Z');
      const result = await events.insertPurchases([
        { userId: 'u1', itemId: 'i1', quantity: 2, price: 1.5, orderId: 'o1', ts },
        { userId: 'u1', itemId: 'i1', quantity: 2, price: 1.5, orderId: 'o1', ts },
      ]);
      // Two identical lines are two rows of a file: both are kept, under different derived ids.
      expect(result.inserted).toBe(2);
      expect(await catalog.getUser('u1')).toMatchObject({ id: 'u1', attributes: {} });
      expect(await catalog.getItem('i1')).toMatchObject({ id: 'i1', title: '', available: true });
    });

    it('When the same batch is sent again, Then nothing is added twice', async () => {
      const events = createEventRepository(t.db);
      const ts = new Date('2011-01-02T10:00:00Z');
      const again = await events.insertPurchases([
        { userId: 'u1', itemId: 'i1', quantity: 2, price: 1.5, orderId: 'o1', ts },
        { userId: 'u1', itemId: 'i1', quantity: 2, price: 1.5, orderId: 'o1', ts },
      ]);
      expect(again).toMatchObject({ inserted: 0, duplicates: 2 });
      expect(await events.listUserPurchases('u1', { limit: 10, offset: 0 })).toHaveLength(2);
    });

    it('When purchases are bulk-imported, Then they get the ids insertPurchases gives and only counts come back', async () => {
      const events = createEventRepository(t.db);
      const ts = new Date('2011-01-03T10:00:00Z');
      const batch = [
        { userId: 'bulk-u1', itemId: 'bulk-i1', quantity: 1, price: 2, orderId: 'b1', ts },
        { userId: 'bulk-u1', itemId: 'bulk-i1', quantity: 1, price: 2, orderId: 'b1', ts },
        { userId: 'bulk-u2', itemId: 'bulk-i2', quantity: 3, price: null, orderId: null, ts },
      ];
      expect(await events.importPurchases(batch)).toEqual({ inserted: 3, duplicates: 0, erased: 0 });
      // The API sending the same events adds nothing: the ids are the same.
      expect(await events.insertPurchases(batch)).toMatchObject({ inserted: 0, duplicates: 3 });
      expect(await events.importPurchases(batch)).toEqual({ inserted: 0, duplicates: 3, erased: 0 });
      expect(await events.importPurchases([])).toEqual({ inserted: 0, duplicates: 0, erased: 0 });
      expect(await events.listUserPurchases('bulk-u1', { limit: 10, offset: 0 })).toHaveLength(2);
    });

    it('When users are listed for a dataset, Then only those with attributes are read, not rows made by feedback or purchases alone', async () => {
      const events = createEventRepository(t.db);
      const catalog = createCatalogRepository(t.db);
      await catalog.upsertUsers([{ id: 'listed-fr', attributes: { country: 'France' } }, { id: 'listed-none', attributes: {} }]);
      await events.insertFeedback([{ userId: 'listed-visitor', itemId: 'i1', type: 'impression', ts: new Date('2011-01-04T10:00:00Z') }]);
      await events.insertPurchases([{ userId: 'listed-buyer', itemId: 'i1', quantity: 1, price: 1, orderId: null, ts: new Date('2011-01-04T10:00:00Z') }]);
      expect(await catalog.getUser('listed-visitor')).not.toBeNull();
      const listed = (await catalog.listUsersWithAttributes()).filter((u) => u.id.startsWith('listed-'));
      expect(listed.map((u) => [u.id, u.attributes])).toEqual([['listed-fr', { country: 'France' }]]);
    });

    it('When an erased customer\'s old events are written again, Then none is stored and the customer is not re-created; what they do after the erasure is', async () => {
      const events = createEventRepository(t.db);
      const catalog = createCatalogRepository(t.db);
      const old = new Date('2011-02-01T10:00:00Z');
      const purchase = { userId: 'gone-1', itemId: 'gone-i1', quantity: 1, price: 2, orderId: 'g1', ts: old };
      const view = { userId: 'gone-1', itemId: 'gone-i1', type: 'view' as const, ts: old };
      const feedback = { userId: 'gone-1', itemId: 'gone-i1', type: 'click' as const, ts: old };
      await events.importPurchases([purchase]);
      await events.insertInteractions([view]);
      await events.insertFeedback([feedback]);
      expect(await events.deleteUser('gone-1')).toBe(true);

      // A re-import of the old file, the API replaying the batch, an interaction and feedback of then.
      const bystander = { ...purchase, userId: 'still-here', orderId: 'g2' };
      expect(await events.importPurchases([purchase, bystander])).toEqual({ inserted: 1, duplicates: 0, erased: 1 });
      expect(await events.insertPurchases([purchase])).toMatchObject({ inserted: 0, duplicates: 0, erased: 1 });
      expect(await events.importInteractions([{ ...view, eventId: 'gone-view' }])).toEqual({ inserted: 0, duplicates: 0, erased: 1 });
      expect(await events.insertFeedback([feedback])).toMatchObject({ inserted: 0, duplicates: 0, erased: 1, unknownItems: 0, unknownLabels: 0 });
      expect(await catalog.getUser('gone-1')).toBeNull();
      expect(await catalog.getUser('still-here')).not.toBeNull();

      // After the erasure, the id is a new customer's.
      // A second on: the erasure's time has microseconds, a Date only milliseconds.
      const later = { ...purchase, orderId: 'g3', ts: new Date(Date.now() + 1_000) };
      expect(await events.insertPurchases([later])).toMatchObject({ inserted: 1, duplicates: 0, erased: 0 });
      expect((await events.listUserPurchases('gone-1', { limit: 10, offset: 0 })).map((p) => p.orderId)).toEqual(['g3']);
    });

    it('When items are upserted with a repeated id in one batch, Then the last one wins', async () => {
      const catalog = createCatalogRepository(t.db);
      const r = await catalog.upsertItems([
        { id: 'i2', title: 'first', categories: ['a "quoted", one', 'b\\c'] },
        { id: 'i2', title: 'second', categories: ['a "quoted", one', 'b\\c'], price: 3 },
      ]);
      expect(r).toEqual({ created: 1, updated: 0 });
      expect(await catalog.getItem('i2')).toMatchObject({ title: 'second', price: 3, categories: ['a "quoted", one', 'b\\c'] });
      expect(await catalog.upsertItems([{ id: 'i2', title: 'third' }])).toEqual({ created: 0, updated: 1 });
    });

    it('When a user is deleted, Then their events and attributes are gone and other users keep theirs', async () => {
      const events = createEventRepository(t.db);
      const catalog = createCatalogRepository(t.db);
      await events.insertPurchases([{ userId: 'u2', itemId: 'i1', quantity: 1, ts: new Date() }]);
      expect(await events.deleteUser('u1')).toBe(true);
      expect(await catalog.getUser('u1')).toBeNull();
      expect(await events.listUserPurchases('u1', { limit: 10, offset: 0 })).toEqual([]);
      expect(await events.listUserPurchases('u2', { limit: 10, offset: 0 })).toHaveLength(1);
      // Erased before and not seen since: the erasure stands (an erasure sent again is answered as done).
      expect(await events.deleteUser('u1')).toBe(true);
      expect(await events.deleteUser('never-known')).toBe(false);
    });
  });
}
