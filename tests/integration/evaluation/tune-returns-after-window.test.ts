import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTuneInput } from '../../../src/cli/tune-command.js';
import { inputRows } from '../../../src/evaluation/splits.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const available = await serviceAvailable(POSTGRES_URL);
const DAY = 86_400_000;

/**
 * docs/DESIGN.md: "An evaluation's training side is net of the returns before its cutoff only." Tuning (`npm run tune
 * --end`, and training's own tuning, which reads the same net stream) scores rolling validation windows that end at
 * `end`; every window's training side is the purchases before the window. `readTuneInput` reads the purchases net of
 * every return before `end`, so a return made inside the last validation window takes a purchase bought long before
 * it out of that window's training side: the fold is trained on a fact of its own test period.
 */
describe.skipIf(!available)('npm run tune --end, a return inside the last validation window', () => {
  let t: TestApp;
  const end = new Date(Date.UTC(2026, 5, 1));

  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    await t.services.events.insertPurchases([
      { userId: 'eve', itemId: 'lamp', quantity: 1, price: 30, orderId: 'o1', ts: new Date(end.getTime() - 60 * DAY) },
      { userId: 'eve', itemId: 'rug', quantity: 1, price: 80, orderId: 'o1', ts: new Date(end.getTime() - 60 * DAY) },
    ]);
    // Returned an hour before `end`: inside the last validation window whatever the folds' length.
    await t.services.events.insertReturns([{ userId: 'eve', itemId: 'lamp', quantity: 1, orderId: 'o1', ts: new Date(end.getTime() - 3_600_000) }]);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('When tuning reads up to end, Then the lamp bought 60 days before is still in the data the folds train on', async () => {
    const input = await readTuneInput({ events: t.services.events, catalog: t.services.catalog }, undefined, end.toISOString());
    expect(inputRows(input).map((r) => r.itemId).sort()).toEqual(['lamp', 'rug']);
  });
});
