/**
 * An erasure keeps hashes of the ids of the events it deleted for ERASED_EVENT_IDS_DAYS (erased_event_ids,
 * migration 018), so that a replay dated after the erasure stays erased; then it forgets them.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INGEST_LOCK } from '../../../src/data/erasure-repository.js';
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
        ids: { ready: async () => true, claimsOf: () => ({ servedLabels: () => null, personalSince: () => null, modelVersion: () => null, madeForAnother: () => false }) },
      });
      await recordFeedback([{ ...id, userId: 'fb-user', itemId: 'i1', type: 'purchase', ts: ahead }], { purchasesToo: true });
      expect((await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM feedback_events WHERE user_id = $1', ['fb-user'])).rows[0].n).toBe(0);
      expect(await stored('fb-user')).toBe(0);
    });

    it("When another customer's erasure kept the same id days before, Then this erasure keeps it for its own full time", async () => {
      const ahead = new Date(Date.now() + 5 * HOUR);
      const click = { eventId: 'shared-1', userId: 'second-user', itemId: 'i1', type: 'click' as const, ts: ahead };
      // Ids are unique per table: one customer's purchase and another's feedback may share one.
      expect((await events.insertPurchases([purchase('first-user', 'shared-1', ahead)])).inserted).toBe(1);
      await events.deleteUser('first-user');
      await t.db.query("UPDATE erased_event_ids SET erased_at = now() - interval '6 days'");
      expect((await events.insertFeedback([click])).inserted).toBe(1);
      await events.deleteUser('second-user');
      // Two days on, the first erasure's days are over, the second's are not: its replay stays erased.
      await forgetErasedIds(t.db, new Date(Date.now() + 2 * 24 * HOUR));
      expect(await events.insertFeedback([click])).toMatchObject({ inserted: 0, erased: 1 });
    });

    it.skipIf(backend.name === 'pglite')('When ingestion begun long before an erasure commits while its first pass runs, Then its events stay erased', async () => {
      const ahead = new Date(Date.now() + 5 * HOUR);
      let erasing: Promise<boolean> | undefined;
      let waited = false;
      // A writer that began 11 minutes ago (its rows carry its start) and commits only once the erasure has
      // hashed what it saw and waits for the lock ingestion holds.
      await t.db.transaction(async (tx) => {
        await tx.query(INGEST_LOCK);
        await tx.query("INSERT INTO users (id) VALUES ('slow-user')");
        await tx.query("INSERT INTO items (id) VALUES ('i1') ON CONFLICT DO NOTHING");
        await tx.query(
          "INSERT INTO purchase_events (event_id, user_id, item_id, quantity, ts, created_at) VALUES ('slow-1', 'slow-user', 'i1', 1, $1, now() - interval '11 minutes')",
          [ahead.toISOString()],
        );
        erasing = events.deleteUser('slow-user');
        // Erasures of every test file share ERASURE_SERIAL (an advisory lock of the database): allow for theirs.
        for (let i = 0; i < 1_000 && !waited; i++) {
          // This schema's erased_users, waited for (other test files' erasures run beside).
          const { rows } = await t.db.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = 'erased_users' AND c.relnamespace = current_schema()::regnamespace",
          );
          waited = rows[0].n > 0;
          if (!waited) await new Promise((r) => setTimeout(r, 20));
        }
      });
      expect(waited).toBe(true);
      expect(await erasing).toBe(true);
      expect(await events.insertPurchases([purchase('slow-user', 'slow-1', ahead)])).toMatchObject({ inserted: 0, erased: 1 });
    });

    it.skipIf(backend.name === 'pglite')('When the hourly forgetting runs while an erasure dates old hashes anew, Then neither waits for the other (no deadlock) and the hashes stay', async () => {
      const until = async (sql: string) => {
        // Erasures of every test file share ERASURE_SERIAL (an advisory lock of the database): allow for theirs.
        for (let i = 0; i < 2_000; i++) {
          if ((await t.db.query<{ n: number }>(sql)).rows[0].n > 0) return true;
          await new Promise((r) => setTimeout(r, 10));
        }
        return false;
      };
      // An erasure a bit over 7 days ago (the hourly delete has not run since) kept the hashes of ids 'b' and 'a'.
      const hash = (id: string) => createHash('sha256').update(id, 'utf8').digest('hex');
      await t.db.query(
        "INSERT INTO erased_event_ids (id_hash, erased_at) VALUES (decode($1, 'hex'), now() - interval '7 days 40 minutes'), (decode($2, 'hex'), now() - interval '7 days 20 minutes')",
        [hash('b'), hash('a')],
      );
      // Another customer has a view 'a' (ids are unique per kind of event only); a write of their view 'b' is in
      // progress when they are erased: the first pass dates 'a' anew, the second (after the write) 'b'.
      await events.insertInteractions([{ eventId: 'a', userId: 'x', itemId: 'i1', type: 'view', ts: new Date() }]);
      let erasing: Promise<string> | undefined;
      let forgetting: Promise<string> | undefined;
      await t.db.transaction(async (tx) => {
        await tx.query(INGEST_LOCK);
        await tx.query("INSERT INTO interaction_events (event_id, user_id, item_id, type, ts) VALUES ('b', 'x', 'i1', 1, now())");
        erasing = events.deleteUser('x').then(() => 'erased', (e: Error) => e.message);
        expect(
          await until("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE NOT l.granted AND c.relname = 'erased_users' AND c.relnamespace = current_schema()::regnamespace"),
        ).toBe(true);
        // The hourly delete, while the erasure holds 'a' and waits for this write.
        forgetting = forgetErasedIds(t.db).then((n) => `forgot ${n}`, (e: Error) => e.message);
        await Promise.race([forgetting, new Promise((r) => setTimeout(r, 1_200))]);
      });
      // It skipped 'a' (the erasure's) and deleted 'b', which the erasure's second pass then kept anew.
      expect(await Promise.all([erasing, forgetting])).toEqual(['erased', 'forgot 1']);
      const { rows } = await t.db.query<{ h: string }>("SELECT encode(id_hash, 'hex') AS h FROM erased_event_ids WHERE erased_at > now() - interval '1 hour' ORDER BY 1");
      expect(rows.map((r) => r.h)).toEqual([hash('a'), hash('b')].sort());
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
