/**
 * README "Erasure": after a DELETE /v1/users/:id is answered 204, nothing the customer had written before that answer
 * is left, even when another turn (another process's, or this process's for an earlier DELETE) completed the erasure
 * while this DELETE waited for its own; and a failed try notes only the rows of that try.
 *
 * Two erasure paths (createUserErasure on the real repositories, an in-process store each: two processes) on one real
 * Postgres (a schema of the shared test database), their turns held at a step by gates, as a slow turn or a queue
 * would hold them: no timing. The shop and its ingestion are a whole service's on the same database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErasureRepository } from '../../../src/data/erasure-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { erasureOwed, createUserErasure } from '../../../src/privacy/user-erasure.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { seedShop } from '../serving/shop-fixture.js';

/** A gate a turn waits at: `reached` once it is there, `open()` lets it through. */
function gate() {
  let open!: () => void;
  let arrive!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reached = new Promise<void>((resolve) => (arrive = resolve));
  return { open, reached, pass: async () => (arrive(), await opened) };
}

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a DELETE whose erasure another turn completed while it waited', () => {
  let testDb: TestDb;
  let shop: TestApp;
  const count = async (sql: string, id: string) => (await testDb.db.query<{ n: number }>(sql, [id])).rows[0].n;
  const purchases = (id: string) => count('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', id);
  const owed = (id: string) => count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1', id);
  const request = async (id: string) =>
    (await testDb.db.query<{ holder: string | null; attempts: number }>('SELECT holder, attempts FROM erasure_requests WHERE user_id = $1', [id])).rows;
  const buy = (id: string, orderId: string) =>
    shop.services.events.insertPurchases([{ userId: id, itemId: 'g1', quantity: 1, price: null, orderId, ts: new Date() }]);

  /**
   * A process's erasure path. `atTurn`: the gate its first turn waits at as it starts (before it reads the requests);
   * `inScrub`: the gate its first turn waits at in its scrub (after it read them, under the erasures' lock);
   * `failScrub`: its first turn's scrub fails (the model store did not answer).
   */
  async function process(opts: { atTurn?: ReturnType<typeof gate>; inScrub?: ReturnType<typeof gate>; failScrub?: boolean } = {}) {
    let turns = 0;
    let scrubs = 0;
    return createUserErasure({
      events: createEventRepository(testDb.db),
      erasures: createErasureRepository(testDb.db),
      store: await createMemoryModelStore({}),
      forget: async () => {},
      abandonedDrafts: async () => {
        if (turns++ === 0) await opts.atTurn?.pass();
        return [];
      },
      scrubExports: async () => {
        if (scrubs++ > 0) return;
        await opts.inScrub?.pass();
        if (opts.failScrub) throw new Error('the model store did not answer');
      },
    });
  }

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    shop = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }), env: { ERASURE_REDRIVE_MS: '3600000' } });
    await seedShop(shop.services);
  }, 120_000);

  afterAll(async () => {
    await shop?.dispose();
    await testDb?.dispose();
  });

  /**
   * A's turn is in its scrub (it read the request as its own) when B's DELETE records the same erasure and waits for
   * its turn; A completes, deleting the request B had asked again; the customer buys; then B's turn finds no request.
   */
  async function completedUnderB(id: string, b: { failScrub?: boolean } = {}) {
    await buy(id, `${id}-o1`);
    const inScrubA = gate();
    const atTurnB = gate();
    const a = await process({ inScrub: inScrubA });
    const pb = await process({ atTurn: atTurnB, failScrub: b.failScrub });
    const first = a.erase(id);
    await inScrubA.reached;
    const second = pb.erase(id);
    second.catch(() => {});
    await atTurnB.reached;
    inScrubA.open();
    expect(await first).toBe(true);
    expect(await purchases(id)).toBe(0);
    expect(await owed(id)).toBe(0);
    // Written after A's erasure and before B's answer.
    await buy(id, `${id}-o2`);
    expect(await purchases(id)).toBe(1);
    atTurnB.open();
    return second;
  }

  it('When another process completes the erasure while the DELETE waits, Then the DELETE erases what the customer wrote in between before its 204', async () => {
    const id = 'e5-between-1';
    expect(await completedUnderB(id)).toBe(true);
    expect(await purchases(id)).toBe(0);
    expect(await owed(id)).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM erased_users WHERE user_id = $1', id)).toBe(1);
  }, 60_000);

  it('When that erasure done again fails, Then it is recorded as owed again (the service completes it) and the DELETE is answered as owed', async () => {
    const id = 'e5-between-2';
    const err = await completedUnderB(id, { failScrub: true }).then(() => null, (e: unknown) => e);
    expect(erasureOwed(err)).toBe(true);
    // Nothing of B's turn was kept; the request is there again, noted as failed (a back-off, nobody holds it).
    expect(await purchases(id)).toBe(1);
    expect(await request(id)).toEqual([{ holder: null, attempts: 1 }]);
  }, 60_000);

  it('When a try fails while the same customer is asked again of the process, Then the later DELETE keeps its lease and completes in the next turn', async () => {
    const id = 'e5-again-1';
    await buy(id, `${id}-o1`);
    const atTurn = gate();
    const p = await process({ atTurn, failScrub: true });
    const first = p.erase(id);
    first.catch(() => {});
    await atTurn.reached;
    // Asked again (a retry of the DELETE) while the first turn waits: recorded under a later ask of this process.
    const second = p.erase(id);
    await waitUntil('the second ask recorded', async () => (await request(id))[0]?.holder?.endsWith(':2') === true);
    atTurn.open();
    expect(erasureOwed(await first.then(() => null, (e: unknown) => e))).toBe(true);
    // The failed try's note left the later ask's row alone: its turn finds it its own and completes it.
    expect(await second).toBe(true);
    expect(await purchases(id)).toBe(0);
    expect(await owed(id)).toBe(0);
  }, 60_000);
});
