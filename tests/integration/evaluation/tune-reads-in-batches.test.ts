import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRepository, PurchaseInput } from '../../../src/data/event-repository.js';
import { readTuneInput } from '../../../src/cli/tune-command.js';
import { inputRows } from '../../../src/evaluation/splits.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const available = await serviceAvailable(POSTGRES_URL);

/**
 * `npm run tune` read every purchase as one query result (an object per line, then the rows copied for the
 * tuning sample): at ten times Online Retail most of the command's memory. It now streams them from a cursor
 * into columns, as an evaluation and a training read them; what it tunes on must be the purchases one read gives.
 */
describe.skipIf(!available)('npm run tune reading the purchases in batches', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    // 12 customers, 4 baskets each of 3 lines; every fifth line without an order id, every seventh without a price.
    const start = Date.UTC(2026, 2, 2, 9);
    const purchases: PurchaseInput[] = [];
    for (let n = 0; n < 144; n++) {
      const user = n % 12;
      const basket = Math.floor(n / 36);
      purchases.push({
        userId: `tb-${user}`,
        itemId: `tb-item-${(n * 7) % 23}`,
        quantity: 1 + (n % 3),
        price: n % 7 === 0 ? null : 1.25 + (n % 5),
        orderId: n % 5 === 0 ? null : `tb-${user}-${basket}`,
        ts: new Date(start + basket * 86_400_000 + user * 60_000 + (n % 3) * 1000),
      });
    }
    await t.services.events.insertPurchases(purchases);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('When the batches are smaller than the data, Then it tunes on the purchases one read gives, in the same order', async () => {
    const batches: number[] = [];
    const events: Pick<EventRepository, 'streamPurchaseRows' | 'purchaseRange' | 'owedAndLatest'> = {
      purchaseRange: t.services.events.purchaseRange,
      owedAndLatest: t.services.events.owedAndLatest,
      async *streamPurchaseRows(window, batchSize) {
        for await (const batch of t.services.events.streamPurchaseRows(window, batchSize)) {
          batches.push(batch.length);
          yield batch;
        }
      },
    };
    const input = await readTuneInput({ events, catalog: t.services.catalog }, 10);
    const oneRead = await t.services.events.loadPurchaseRows();
    expect(oneRead).toHaveLength(144);
    expect(inputRows(input)).toEqual(oneRead);
    expect(batches.length).toBeGreaterThanOrEqual(15);
    expect(Math.max(...batches)).toBeLessThanOrEqual(10);
    expect(input.items).toEqual(await t.services.catalog.listItems());
    expect(input.users).toEqual(await t.services.catalog.listUsersWithAttributes());
  });
});
