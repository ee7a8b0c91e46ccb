import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

const TS = '2024-05-01T10:00:00Z';

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`views, carts and ratings through POST /v1/events on ${backend.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ createDb: backend.create });
    });
    afterAll(() => t.dispose());

    const post = (events: unknown[]) => t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events } });
    const stored = async (user: string) => ({
      views: await t.services.events.listUserInteractions(user, 'view', 100),
      carts: await t.services.events.listUserInteractions(user, 'add_to_cart', 100),
      ratings: await t.services.events.listUserInteractions(user, 'rating', 100),
      purchases: await t.services.events.listUserPurchases(user, { limit: 100, offset: 0 }),
      live: await t.services.store.getUserEvents(user),
    });

    it('When a batch mixes a purchase without type with a view, a cart and a rating, Then each is stored in its place and a retry adds nothing', async () => {
      const batch = [
        { userId: 'ann', itemId: 'mug', quantity: 1, orderId: 'o1', ts: TS },
        { type: 'view', userId: 'ann', itemId: 'vase', ts: TS },
        { type: 'add_to_cart', userId: 'ann', itemId: 'vase', ts: TS },
        { type: 'rating', userId: 'ann', itemId: 'mug', value: 5, ts: TS },
        { type: 'purchase', userId: 'ann', itemId: 'pot', quantity: 2, ts: TS },
      ];
      const first = await post(batch);
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ accepted: 5, inserted: 5, duplicates: 0, erased: 0 });
      expect((await post(batch)).json()).toEqual({ accepted: 5, inserted: 0, duplicates: 5, erased: 0 });
      const s = await stored('ann');
      expect(s.views).toEqual([{ itemId: 'vase', ts: '2024-05-01T10:00:00.000Z', value: null }]);
      expect(s.carts.map((c) => c.itemId)).toEqual(['vase']);
      expect(s.ratings.map((r) => r.value)).toEqual([5]);
      // Purchases-only state: the purchase list and the live purchases that buy-again reads hold no view or cart.
      expect(s.purchases.map((p) => p.itemId).sort()).toEqual(['mug', 'pot']);
      expect(s.live.map((e) => e.itemId).sort()).toEqual(['mug', 'pot']);
      const listed = await t.app.inject({ url: '/v1/users/ann/events', headers: auth('read') });
      expect(listed.json().events.map((e: { itemId: string }) => e.itemId).sort()).toEqual(['mug', 'pot']);
    });

    const bad: [string, unknown, RegExp][] = [
      ['an unknown type', { type: 'click', userId: 'bob', itemId: 'mug', ts: TS }, /type/],
      ['a rating without its value', { type: 'rating', userId: 'bob', itemId: 'mug', ts: TS }, /value/],
      ['a rating of 6 stars', { type: 'rating', userId: 'bob', itemId: 'mug', value: 6, ts: TS }, /value/],
      ['a view with a value', { type: 'view', userId: 'bob', itemId: 'mug', value: 3, ts: TS }, /value/],
      ['a view with a quantity', { type: 'view', userId: 'bob', itemId: 'mug', quantity: 1, ts: TS }, /quantity/],
      ['a view without time or id', { type: 'view', userId: 'bob', itemId: 'mug' }, /ts is required/],
      ['a typed purchase without quantity', { type: 'purchase', userId: 'bob', itemId: 'mug', ts: TS }, /quantity/],
    ];
    for (const [what, event, message] of bad) {
      it(`When a batch holds ${what}, Then 400 VALIDATION_FAILED names the field and nothing of the batch is stored`, async () => {
        const res = await post([{ type: 'view', userId: 'bob', itemId: 'pot', ts: TS }, event]);
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
        expect(res.json().error.message).toMatch(message);
        expect((await stored('bob')).views).toEqual([]);
      });
    }

    it('When a user who viewed and rated is erased, Then those events are gone too', async () => {
      expect((await post([{ type: 'view', userId: 'cat', itemId: 'mug', ts: TS }, { type: 'rating', userId: 'cat', itemId: 'mug', value: 2, ts: TS }])).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/cat', headers: auth('admin') })).statusCode).toBe(204);
      const s = await stored('cat');
      expect([s.views, s.ratings]).toEqual([[], []]);
    });
  });
}
