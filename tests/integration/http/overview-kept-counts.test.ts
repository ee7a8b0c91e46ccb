import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomerRepository } from '../../../src/data/customer-repository.js';
import { runImport } from '../../../src/data/importers/run-import.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createServiceOverview, type ServiceOverviewReader } from '../../../src/training/service-overview.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

/**
 * The overview's counts are kept in the process (counting every purchase and distinct order takes seconds at
 * ten times our data): a call answers with counts at most OVERVIEW_COUNTS_MAX_AGE_MS old, saying when they were
 * counted, and counts again past that. Real Postgres; the overview reads the app's database with a clock the
 * test moves, and a wait long enough that a new count is always waited for (the large-store case, where the
 * last counts are answered while the new ones are read, is in tests/unit/data/kept-counts.test.ts).
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the overview counts, kept in the process', () => {
  let t: TestApp;
  let clock = Date.parse('2026-12-06T06:00:00Z');
  let overview: ServiceOverviewReader;
  const dir = mkdtempSync(path.join(tmpdir(), 'overview-counts-'));
  const counts = async () => {
    const { counts: c } = await overview();
    return { purchases: c.purchases, orders: c.orders, customers: c.customers, countedAt: c.countedAt, ageSeconds: c.ageSeconds };
  };
  const buy = (userId: string, orderId: string) =>
    t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('write'), payload: { events: [{ userId, itemId: 'mug', quantity: 1, orderId, ts: '2026-12-01T10:00:00Z' }] } });

  beforeAll(async () => {
    t = await createTestApp({ createDb: createPostgresTestDb });
    overview = createServiceOverview({
      customers: createCustomerRepository(t.services.db), store: await createMemoryModelStore({}), served: async () => null,
      now: () => clock, countsMaxAgeMs: 30_000, countsWaitMs: 60_000,
    });
    expect((await buy('ann', 'o1')).statusCode).toBe(200);
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When purchases are imported, Then the overview shows them once its counts are older than the stated age, saying when they were counted', async () => {
    expect(await counts()).toEqual({ purchases: 1, orders: 1, customers: 1, countedAt: '2026-12-06T06:00:00.000Z', ageSeconds: 0 });
    writeFileSync(path.join(dir, 'events.csv'), ['user_id,item_id,quantity,price,order_id,ts', 'bob,mug,1,2,o2,2026-12-01T11:00:00Z', 'bob,pot,1,3,o2,2026-12-01T11:00:00Z', 'cy,mug,2,2,o3,2026-12-02T09:00:00Z'].join('\n'));
    expect(await runImport({ db: t.services.db }, { format: 'generic', path: dir })).toMatchObject({ inserted: 3 });
    // Within the stated age the kept counts are answered, as old as they say.
    clock += 29_000;
    expect(await counts()).toMatchObject({ purchases: 1, orders: 1, countedAt: '2026-12-06T06:00:00.000Z', ageSeconds: 29 });
    // Past it, the call counts again.
    clock += 1_000;
    expect(await counts()).toEqual({ purchases: 4, orders: 3, customers: 3, countedAt: '2026-12-06T06:00:30.000Z', ageSeconds: 0 });
  });

  it('When a live purchase comes in, Then it is counted within the stated age', async () => {
    expect((await buy('dee', 'o4')).statusCode).toBe(200);
    clock += 10_000;
    expect(await counts()).toMatchObject({ purchases: 4, orders: 3, ageSeconds: 10 });
    clock += 20_000;
    expect(await counts()).toMatchObject({ purchases: 5, orders: 4, customers: 4, ageSeconds: 0 });
  });

  it('When a customer is erased, Then their purchases and orders leave the counts within the stated age', async () => {
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/bob', headers: auth('admin') })).statusCode).toBe(204);
    clock += 30_000;
    expect(await counts()).toMatchObject({ purchases: 3, orders: 3, customers: 3, ageSeconds: 0 });
  });

  it('When the app answers GET /v1/overview, Then its counts say when they were counted', async () => {
    const res = await t.app.inject({ url: '/v1/overview', headers: auth('admin') });
    expect(res.statusCode).toBe(200);
    expect(res.json().counts).toMatchObject({ purchases: 3, orders: 3, countedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), ageSeconds: 0 });
  });
});
