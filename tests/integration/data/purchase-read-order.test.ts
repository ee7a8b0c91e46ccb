import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventRepository, type EventRepository, type PurchaseInput } from '../../../src/data/event-repository.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const pgAvailable = await serviceAvailable(POSTGRES_URL);

/**
 * Trainings, evaluations and tunes read the purchases and order them by time, keeping the read order among
 * purchases of one timestamp (an invoice's lines share one). Read without ORDER BY, that order is wherever
 * Postgres's scan starts and where the rows lie in the table: another scan of purchase_events running at
 * the same time (synchronize_seqscans) or an update that moved rows gave another order, and tuned weights
 * that differed in the 4th decimal. The order read is the same however the table's rows lie.
 */
describe.skipIf(!pgAvailable)('the order purchases are read in', () => {
  let t: TestDb;
  let events: EventRepository;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    events = createEventRepository(t.db);
    // Invoices of 4 lines each, all lines of an invoice at one time.
    const rows: PurchaseInput[] = [];
    for (let o = 0; o < 30; o++) {
      for (let l = 0; l < 4; l++) rows.push({ userId: `u${o % 7}`, itemId: `i${(o * 5 + l * 3) % 17}`, orderId: `o${o}`, quantity: 1 + l, price: 2, ts: new Date(Date.UTC(2011, 0, 1 + (o % 10))) });
    }
    await events.insertPurchases(rows);
  });
  afterAll(() => t?.dispose());

  const read = async (stream: AsyncIterable<PurchaseRow[]>) => {
    const out: PurchaseRow[] = [];
    for await (const batch of stream) out.push(...batch);
    return out;
  };

  it('When the rows of the table move (an update rewrites half of them at its end), Then the purchases are read in the same order as before', async () => {
    const before = await read(events.streamPurchaseRows({}, 7));
    const loaded = await events.loadPurchaseRows();
    expect(loaded).toEqual(before);
    // The first half of the table, as a scan meets it, rewritten: those rows now lie after the others.
    await t.db.exec('UPDATE purchase_events SET quantity = quantity WHERE event_id IN (SELECT event_id FROM purchase_events ORDER BY ctid LIMIT 60)');
    expect(await read(events.streamPurchaseRows({}, 7))).toEqual(before);
    expect(await events.loadPurchaseRows()).toEqual(before);
    // And by time, as the readers want them.
    expect(before.map((r) => r.ts)).toEqual([...before.map((r) => r.ts)].sort((a, b) => a - b));
  });
});
