import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../../src/data/db.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 0, 5, 9);
const at = (hours: number) => new Date(T0 + hours * H);
/** Tuning's windows: 9 hours back from just after the latest purchase the training read. */
const SPAN = 9 * H;

/** The database, running `before` (once) just before the statement that reads the returns and their pairs' purchases. */
function beforeReturnsRead(inner: Db, before: () => Promise<unknown>): Db {
  let done = false;
  return Object.assign(Object.create(inner) as Db, {
    query: async (sql: string, params?: unknown[]) => {
      if (!done && sql.includes('FROM return_events') && sql.includes('UNION ALL')) {
        done = true;
        await before();
      }
      return inner.query(sql, params);
    },
  });
}

async function readWithTuning(db: Db): Promise<{ rows: PurchaseRow[]; tuning: PurchaseRow[]; tuningEnd?: number }> {
  const rows: PurchaseRow[] = [];
  const tuning: PurchaseRow[] = [];
  let tuningEnd: number | undefined;
  for await (const b of createEventRepository(db).streamPurchaseRowsWithTuning({}, SPAN, 2)) {
    rows.push(...b.rows);
    tuning.push(...(b.tuning ?? b.rows));
    tuningEnd ??= b.tuningEnd;
  }
  return { rows, tuning, tuningEnd };
}

/**
 * streamPurchaseRowsWithTuning dates tuning's windows from a max(ts) read in a statement of its own, before the
 * returns and before the cursor. A purchase stored (live traffic) or a customer erased between those statements
 * makes the latest purchase the cursor gives another: the training's tuning would date its windows from that
 * (rolling-tune.ts foldEnds) and so away from the ones the returns were split at. The read says where it split
 * (`tuningEnd`), and training tunes with its windows ending there (train-with-tuning.test.ts).
 */
for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`tuning's returns split at windows the read names, on ${backend.name}`, () => {
    let t: TestDb;
    beforeEach(async () => {
      t = await backend.create();
    }, 240_000);
    afterEach(() => t.dispose());

    it('When a purchase is stored while the returns are read, Then the read names the windows it split the returns at', async () => {
      const events = createEventRepository(t.db);
      await events.insertPurchases([
        { userId: 'ann', itemId: 'shirt', quantity: 1, orderId: 'a1', ts: at(0) },
        { userId: 'bob', itemId: 'sock', quantity: 1, orderId: 'b1', ts: at(10) },
      ]);
      // Returned at hour 2: inside the windows of hours 1..10, before those of hours 3..12.
      await events.insertReturns([{ userId: 'ann', itemId: 'shirt', quantity: 1, orderId: 'a1', ts: at(2) }]);
      const late = () => events.insertPurchases([{ userId: 'cyd', itemId: 'hat', quantity: 1, orderId: 'c1', ts: at(12) }]);
      const { rows, tuning, tuningEnd } = await readWithTuning(beforeReturnsRead(t.db, late));
      // The purchases read end at hour 12 (cyd's hat), but the split was made at windows ending just after hour 10,
      // hours 1..10, which hold the return: it stays on tuning's purchases, and the read says where it split.
      expect(Math.max(...rows.map((r) => r.ts))).toBe(at(12).getTime());
      expect(tuningEnd).toBe(at(10).getTime() + 1);
      expect(tuning.map((r) => `${r.userId} ${r.itemId}`).sort()).toEqual(['ann shirt', 'bob sock', 'cyd hat']);
    });

    it('When the customer of the latest purchase is erased while the returns are read, Then the read names the windows it split the returns at', async () => {
      const events = createEventRepository(t.db);
      await events.insertPurchases([
        { userId: 'ann', itemId: 'shirt', quantity: 1, orderId: 'a1', ts: at(0) },
        { userId: 'cyd', itemId: 'hat', quantity: 1, orderId: 'c1', ts: at(8) },
        { userId: 'bob', itemId: 'sock', quantity: 1, orderId: 'b1', ts: at(10) },
      ]);
      // Returned at hour 0.5: before the windows of hours 1..10, inside those of hours -1..8.
      await events.insertReturns([{ userId: 'ann', itemId: 'shirt', quantity: 1, orderId: 'a1', ts: at(0.5) }]);
      const { rows, tuning, tuningEnd } = await readWithTuning(beforeReturnsRead(t.db, () => events.deleteUser('bob')));
      // The purchases read end at hour 8 (cyd's hat), but the split was made at windows ending just after hour 10
      // (bob's sock, erased since), hours 1..10: the return of hour 0.5 came before them and comes off tuning's
      // purchases, and the read says where it split, so tuning's windows are those.
      expect(Math.max(...rows.map((r) => r.ts))).toBe(at(8).getTime());
      expect(tuningEnd).toBe(at(10).getTime() + 1);
      expect(tuning.map((r) => `${r.userId} ${r.itemId}`).sort()).toEqual(['cyd hat']);
    });
  });
}
