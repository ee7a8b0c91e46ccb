import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository, type CatalogRepository } from '../../../src/data/catalog-repository.js';
import { createEventRepository, type EventRepository } from '../../../src/data/event-repository.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

const pgAvailable = await serviceAvailable(POSTGRES_URL);

/**
 * Two writers upserting the same rows at once (two imports, or two catalog batches from a shop's feed and
 * its back office). Each upsert locks its rows one by one: in different orders, each can end up waiting
 * for a row the other holds, and Postgres then aborts one of them (deadlock detected).
 */
describe.skipIf(!pgAvailable)('concurrent upserts of the same rows on Postgres', () => {
  let t: TestDb;
  let catalog: CatalogRepository;
  let events: EventRepository;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    catalog = createCatalogRepository(t.db);
    events = createEventRepository(t.db);
  });
  afterAll(() => t?.dispose());

  const ids = Array.from({ length: 3000 }, (_, k) => `row-${String(k).padStart(5, '0')}`);
  // Each writer's batch in its own order, as files and feeds come.
  const orders = [ids, [...ids].reverse(), [...ids.slice(1500), ...ids.slice(0, 1500)]];

  it('When two writers upsert the same items in different orders, again and again, Then every upsert succeeds', async () => {
    for (let round = 0; round < 6; round++) {
      const [a, b] = [orders[round % 3], orders[(round + 1) % 3]];
      const results = await Promise.allSettled([
        catalog.upsertItems(a.map((id) => ({ id, title: `a${round}` }))),
        catalog.upsertItems(b.map((id) => ({ id, title: `b${round}` }))),
      ]);
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    }
  });

  it('When two writers upsert the same customers in different orders, again and again, Then every upsert succeeds', async () => {
    for (let round = 0; round < 6; round++) {
      const [a, b] = [orders[round % 3], orders[(round + 1) % 3]];
      const results = await Promise.allSettled([
        catalog.upsertUsers(a.map((id) => ({ id, attributes: { round: `a${round}` } }))),
        catalog.upsertUsers(b.map((id) => ({ id, attributes: { round: `b${round}` } })), { unlessErased: true }),
      ]);
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    }
  });

  it('When two writers insert the same events in different orders (a retried batch, an import beside the API), Then every insert succeeds and each event is stored once', async () => {
    const ts = new Date(Date.UTC(2024, 0, 1));
    for (let round = 0; round < 6; round++) {
      const [a, b] = [orders[round % 3], orders[(round + 1) % 3]];
      const purchase = (id: string) => ({ eventId: `p${round}-${id}`, userId: `u${id.slice(-2)}`, itemId: `i${id.slice(-3)}`, quantity: 1, ts });
      const view = (id: string) => ({ eventId: `v${round}-${id}`, userId: `u${id.slice(-2)}`, itemId: `i${id.slice(-3)}`, type: 'view' as const, ts });
      const results = await Promise.allSettled([
        events.insertPurchases(a.map(purchase)),
        events.importPurchases(b.map(purchase)),
        events.insertInteractions(a.map(view)),
        events.insertInteractions(b.map(view)),
      ]);
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    }
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE event_id LIKE 'p%'");
    expect(rows[0].n).toBe(6 * ids.length);
  });
});
