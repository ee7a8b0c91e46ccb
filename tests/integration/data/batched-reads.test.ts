import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchedPurchases, batchedUsers, MAX_BATCH } from '../../../src/data/batched-reads.js';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import type { Db } from '../../../src/data/db.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import type { PurchaseRow } from '../../../src/recommenders/dataset.js';
import { createPgDb } from '../../../src/data/db.js';
import { queryTimeout, withoutQueryTimeout, withQueryTimeout } from '../../../src/data/query-timeout.js';
import { dependencyFailure } from '../../../src/errors.js';
import { DB_BACKENDS, type TestDb } from '../../helpers/services.js';
import { seedTwoShops } from '../training/purchase-fixture.js';

/** The database, counting the statements made through it and the statement limit each was made under. */
function counted(db: Db): { db: Db; statements: string[]; limits: (number | undefined)[] } {
  const statements: string[] = [];
  const limits: (number | undefined)[] = [];
  return {
    statements,
    limits,
    db: Object.assign(Object.create(db) as Db, {
      query: (sql: string, params?: unknown[]) => {
        statements.push(sql);
        limits.push(queryTimeout());
        return db.query(sql, params);
      },
    }),
  };
}

const key = (r: PurchaseRow) => `${r.itemId} ${r.ts} ${r.quantity} ${r.orderId} ${r.price}`;

for (const backend of DB_BACKENDS) {
  describe.skipIf(!(await backend.available()))(`per-customer reads made together on ${backend.name}`, () => {
    let t: TestDb;
    let buyers: string[];
    beforeAll(async () => {
      t = await backend.create();
      const catalog = createCatalogRepository(t.db);
      const events = createEventRepository(t.db);
      await seedTwoShops({ catalog, events });
      await catalog.upsertUsers([{ id: 'lurker', attributes: { country: 'Chile' } }]);
      buyers = [...new Set((await events.loadPurchaseRows()).map((r) => r.userId))].sort();
    });
    afterAll(() => t.dispose());

    it("When many customers' purchases are read at once, Then each gets their own, as read alone, net of their returns, in one statement", async () => {
      const events = createEventRepository(t.db);
      // The first buyer returns their first purchase whole: the batch's read nets it.
      const [returned] = await events.loadPurchaseRows({ userId: buyers[0] });
      await events.insertReturns([{ userId: buyers[0], itemId: returned.itemId, quantity: returned.quantity, orderId: returned.orderId, ts: new Date(returned.ts + 60_000) }]);
      const { db, statements } = counted(t.db);
      const purchases = batchedPurchases(createEventRepository(db));
      const asked = [...buyers, 'lurker', 'nobody', buyers[0]];
      const got = await Promise.all(asked.map((id) => purchases(id)));
      // The batch's purchases and returns in one statement (one round trip), for every customer asked.
      expect(statements).toHaveLength(1);
      expect(statements[0]).toContain('FROM purchase_events');
      expect(statements[0]).toContain('FROM return_events');
      const gross = await events.loadPurchaseRows({ userId: buyers[0], returnsBefore: new Date(0) });
      expect(got[0].map(key).sort()).toEqual(gross.filter((r) => key(r) !== key(returned)).map(key).sort());
      for (const [k, id] of asked.entries()) {
        const alone = await events.loadPurchaseRows({ userId: id });
        expect(got[k].map(key).sort(), id).toEqual(alone.map(key).sort());
        expect(got[k].every((r) => r.userId === id)).toBe(true);
      }
      expect(got.filter((rows) => rows.length > 0)).toHaveLength(buyers.length + 1);
    });

    it('When reads are made one after another, Then each is a statement of its own, seeing what is stored by then', async () => {
      const { db, statements } = counted(t.db);
      const events = createEventRepository(db);
      const purchases = batchedPurchases(events);
      const before = await purchases('lurker');
      await createEventRepository(t.db).insertPurchases([{ userId: 'lurker', itemId: (await purchases(buyers[0]))[0].itemId, quantity: 2, price: null, orderId: null, ts: new Date(Date.UTC(2011, 5, 1)) }]);
      const after = await purchases('lurker');
      expect(before).toEqual([]);
      expect(after).toHaveLength(1);
      expect(statements.filter((s) => s.includes('FROM purchase_events'))).toHaveLength(3);
    });

    it("When a storefront request and a job read at the same moment, Then each read is made under its own statement limit, not batched together", async () => {
      const { db, statements, limits } = counted(t.db);
      const purchases = batchedPurchases(createEventRepository(db));
      const [job, request, request2] = await Promise.all([
        withoutQueryTimeout(() => purchases(buyers[0])),
        withQueryTimeout(5_000, () => purchases(buyers[1])),
        withQueryTimeout(5_000, () => purchases(buyers[2])),
      ]);
      // Two batches, each one statement (its purchases and returns), under the batch's own limit.
      expect(statements.filter((s) => s.includes('FROM purchase_events'))).toHaveLength(2);
      expect(statements).toHaveLength(2);
      expect([...new Set(limits)].sort()).toEqual([5_000, undefined]);
      expect([job, request, request2].map((rows) => rows[0]?.userId)).toEqual(buyers.slice(0, 3));
    });

    it(`When more than ${MAX_BATCH} customers are asked at once, Then the reads are split into statements of at most ${MAX_BATCH}`, async () => {
      const { db, statements } = counted(t.db);
      const users = batchedUsers(createCatalogRepository(db));
      const ids = Array.from({ length: MAX_BATCH + 5 }, (_, k) => (k === 3 ? 'lurker' : `missing-${k}`));
      const got = await Promise.all(ids.map((id) => users(id)));
      expect(statements).toHaveLength(2);
      expect(got[3]).toMatchObject({ id: 'lurker', attributes: { country: 'Chile' } });
      expect(got.filter((u) => u !== null)).toHaveLength(1);
    });
  });
}

describe('per-customer reads made together, with Postgres unreachable', () => {
  it('When the batch cannot reach Postgres, Then every read in it fails as a dependency failure (the caller degrades its answer)', async () => {
    const db = createPgDb('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 500 });
    try {
      const purchases = batchedPurchases(createEventRepository(db));
      const users = batchedUsers(createCatalogRepository(db));
      const outcomes = await Promise.allSettled([purchases('a'), purchases('b'), users('a'), users('c')]);
      for (const o of outcomes) {
        expect(o.status).toBe('rejected');
        expect(dependencyFailure((o as PromiseRejectedResult).reason)).not.toBeNull();
      }
    } finally {
      await db.close();
    }
  });
});
