/**
 * An erasure keeps hashes of the ids of the events it deleted for ERASED_EVENT_IDS_DAYS (erased_event_ids,
 * migration 018), so that a replay dated after the erasure stays erased; then it forgets them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventRepository, ERASED_EVENT_IDS_DAYS, forgetErasedIds } from '../../../src/data/event-repository.js';
import { createFeedbackRecorder } from '../../../src/serving/record-purchases.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

const HOUR = 3_600_000;

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`hashed ids of erased events (${backend.name})`, () => {
    let t: TestDb;
    let events: ReturnType<typeof createEventRepository>;
    beforeEach(async () => {
      t = await backend.create();
      events = createEventRepository(t.db);
    });
    afterEach(async () => t.dispose());

    const stored = async (user: string) => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', [user])).rows[0].n;
    const purchase = (userId: string, eventId: string, ts: Date) => ({ eventId, userId, itemId: 'i1', quantity: 1, price: 2, orderId: `o-${eventId}`, ts });

    it.each([
      ['with', { eventId: 'fb-1' }],
      ['without', {}],
    ])('When a purchase feedback sent %s an eventId is split by an erasure (its purchase written after), Then the purchase is refused too', async (_, id) => {
      const ahead = new Date(Date.now() + 10 * HOUR);
      const recordFeedback = createFeedbackRecorder({
        events,
        // The purchase half runs after the feedback's transaction committed; the erasure lands in between.
        recordPurchases: async (p) => {
          await events.deleteUser('fb-user');
          return events.insertPurchases(p);
        },
        servedStrategies: () => new Set(),
        ids: { ready: async () => true, servedLabels: () => null },
      });
      await recordFeedback([{ ...id, userId: 'fb-user', itemId: 'i1', type: 'purchase', ts: ahead }], { purchasesToo: true });
      expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM feedback_events WHERE user_id = $1', ['fb-user'])).rows[0].n).toBe(0);
      expect(await stored('fb-user')).toBe(0);
    });

    it(`When ${ERASED_EVENT_IDS_DAYS} days have passed, Then the hashes are forgotten and the same id dated after the erasure is a new customer's`, async () => {
      const ahead = new Date(Date.now() + 5 * HOUR);
      expect((await events.insertPurchases([purchase('old-user', 'p-1', ahead)])).inserted).toBe(1);
      await events.deleteUser('old-user');
      expect(await events.insertPurchases([purchase('old-user', 'p-1', ahead)])).toMatchObject({ inserted: 0, erased: 1 });
      // A day later nothing is forgotten; eight days later the erasure's hashes are.
      expect(await forgetErasedIds(t.db, new Date(Date.now() + 24 * HOUR))).toBe(0);
      expect(await forgetErasedIds(t.db, new Date(Date.now() + (ERASED_EVENT_IDS_DAYS + 1) * 24 * HOUR))).toBe(1);
      expect(await events.insertPurchases([purchase('old-user', 'p-1', ahead)])).toMatchObject({ inserted: 1, erased: 0 });
    });
  });
}
