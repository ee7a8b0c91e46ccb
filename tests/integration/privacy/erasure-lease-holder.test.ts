/**
 * README "Erasure": the lease on an erasure owed names its holder (migration 039), so a process whose lease ran out
 * under it (its renewals missed for a whole lease: a Postgres stall of 45 s or more, a paused process) and was taken
 * by another process does not run the erasure as well. Before 039 it did, after the other had completed it: a
 * customer who came back in between (new purchases) lost them to an erasure they had not asked for again.
 *
 * Two processes on one real Postgres (a schema of the shared test database): A is the erasure path alone
 * (createUserErasure on the real repositories and an in-process store), whose turn waits at its first step (the look
 * for abandoned drafts) as a paused process would; B is a whole service, whose re-driver takes the erasure once A's
 * lease is out. The lease is run out by moving next_at back, which is what the missed renewals leave: no timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createErasureRepository, ERASURE_SERIAL } from '../../../src/data/erasure-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { createErasureRedriver } from '../../../src/privacy/erasure-redriver.js';
import { createUserErasure } from '../../../src/privacy/user-erasure.js';
import { createMemoryModelStore } from '../../../src/store/memory-model-store.js';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { seedShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the holder of an erasure lease', () => {
  let testDb: TestDb;
  let b: TestApp;
  const count = async (sql: string, id: string) => (await testDb.db.query<{ n: number }>(sql, [id])).rows[0].n;
  const purchases = (id: string) => count('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', id);
  const owed = (id: string) => count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1', id);
  /** What three missed renewals leave: the lease is out by Postgres's clock (the holder is not touched). */
  const leaseOut = (id: string) => testDb.db.query("UPDATE erasure_requests SET next_at = now() - interval '1 second' WHERE user_id = $1", [id]);

  /** Process A: the erasure path, its turn held at its first step until `open()`. */
  async function processA() {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const erasure = createUserErasure({
      events: createEventRepository(testDb.db),
      erasures: createErasureRepository(testDb.db),
      store: await createMemoryModelStore({}),
      forget: async () => {},
      abandonedDrafts: async () => (await gate, []),
    });
    return { erasure, open };
  }

  beforeAll(async () => {
    testDb = await createPostgresTestDb();
    b = await createTestApp({ createDb: async () => ({ db: testDb.db, dispose: async () => {} }), env: { ERASURE_REDRIVE_MS: '3600000' } });
    await seedShop(b.services);
  }, 120_000);

  afterAll(async () => {
    await b?.dispose();
    await testDb?.dispose();
  });

  it("When a re-driven erasure's lease runs out under its process and another completes it, Then the first does not erase the customer who came back since", async () => {
    // A re-driven erasure has no caller waiting on it: the other's completion answered it, and what the customer did
    // since is theirs (tests/integration/privacy/erasure-answered-after-another-turn.test.ts: a DELETE's is erased).
    const id = 'g-user3';
    expect(await purchases(id)).toBeGreaterThan(0);
    const a = await processA();
    const redriver = createErasureRedriver({
      requests: createErasureRepository(testDb.db), holder: a.erasure.nextHolder, erase: (userId, opts) => a.erasure.erase(userId, opts),
      storeTakesWrites: async () => true,
    });
    // Owed and due (a DELETE answered 503 earlier); A's pass takes it and its turn stalls.
    await testDb.db.query('INSERT INTO erasure_requests (user_id) VALUES ($1)', [id]);
    const pass = redriver.pass();
    await waitUntil('A taking the erasure', async () => (await count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1 AND holder IS NOT NULL', id)) === 1);
    await leaseOut(id);
    // B's re-driver takes it and completes it.
    expect(await b.services.erasureRedriver.pass()).toEqual({ pending: 1, redriven: 1, failed: 0 });
    expect(await purchases(id)).toBe(0);
    // The customer comes back.
    await b.services.events.insertPurchases([{ userId: id, itemId: 'g1', quantity: 1, price: null, orderId: 'back-o1', ts: new Date() }]);
    expect(await purchases(id)).toBe(1);
    // A wakes up: its turn finds the erasure completed by another, and deletes nothing.
    a.open();
    expect(await pass).toMatchObject({ failed: 0 });
    expect(await purchases(id)).toBe(1);
    expect(await owed(id)).toBe(0);
  }, 60_000);

  it("When a DELETE's lease runs out under its process and another completes the erasure, Then the DELETE erases what the customer wrote since before its 204", async () => {
    const id = 'k-user2';
    expect(await purchases(id)).toBeGreaterThan(0);
    const a = await processA();
    // A is asked (recorded, held) and stalls before its turn does anything.
    const first = a.erasure.erase(id);
    await waitUntil('A recording the erasure', async () => (await owed(id)) === 1);
    await leaseOut(id);
    expect(await b.services.erasureRedriver.pass()).toEqual({ pending: 1, redriven: 1, failed: 0 });
    await b.services.events.insertPurchases([{ userId: id, itemId: 'g1', quantity: 1, price: null, orderId: 'back-o2', ts: new Date() }]);
    expect(await purchases(id)).toBe(1);
    // A wakes up: its caller is owed an answer that holds for everything written before it.
    a.open();
    expect(await first).toBe(true);
    expect(await purchases(id)).toBe(0);
    expect(await owed(id)).toBe(0);
  }, 60_000);

  it('When a lease runs out under its process and another takes the erasure, Then the first stops (owed: the other completes it) and only the other erases', async () => {
    const id = 'k-user4';
    expect(await purchases(id)).toBeGreaterThan(0);
    const a = await processA();
    const first = a.erasure.erase(id);
    await waitUntil('A recording the erasure', async () => (await owed(id)) === 1);
    await leaseOut(id);
    // B takes it (its claim), and has not run it yet.
    const repo = b.services.erasureRepository;
    const { rows: before } = await testDb.db.query<{ holder: string | null }>('SELECT holder FROM erasure_requests WHERE user_id = $1', [id]);
    const claimed = await repo.claimErasures(10, 600_000, 'process-b:1');
    expect(claimed).toEqual([id]);
    // A wakes up: the erasure is another's now; A deletes nothing and says it is owed.
    a.open();
    await expect(first).rejects.toMatchObject({ status: 503 });
    expect(await purchases(id)).toBeGreaterThan(0);
    const { rows } = await testDb.db.query<{ holder: string; attempts: number; late: boolean }>(
      "SELECT holder, attempts, next_at > now() + interval '5 minutes' AS late FROM erasure_requests WHERE user_id = $1", [id],
    );
    // Its lease and its count of tries are B's, as B's claim left them.
    expect(rows).toEqual([{ holder: 'process-b:1', attempts: 0, late: true }]);
    expect(before[0].holder).not.toBe('process-b:1');
  }, 60_000);

  it('When a DELETE finds at its turn that another process took its erasure, Then it is answered 503 with Retry-After and the recorded detail, and the erasure completes once that process is gone (its lease runs out)', async () => {
    // Reviewer r1, fifty-seventh session: the answer of a DELETE whose erasure another process took, over HTTP (the
    // error shape README "Erasure" promises a client: `details` say it is recorded, so it need not be sent again), and
    // the erasure still finishing when the process that took it dies without running it.
    const id = 'g-user6';
    expect(await purchases(id)).toBeGreaterThan(0);
    let answer!: Awaited<ReturnType<typeof b.app.inject>>;
    // The erasures' lock held here, so B's turn waits for it after B recorded the erasure (as behind another turn).
    await testDb.db.transaction(async (tx) => {
      await tx.query(ERASURE_SERIAL);
      const sent = b.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') }).then((r) => (answer = r));
      await waitUntil('B recording the erasure', async () => (await owed(id)) === 1);
      // Another process takes it meanwhile (B's lease ran out under it), and dies before its turn.
      await testDb.db.query("UPDATE erasure_requests SET holder = 'process-c:1' WHERE user_id = $1", [id]);
      void sent;
    });
    await waitUntil('the DELETE answered', async () => answer !== undefined);
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['retry-after']).toBeDefined();
    const body = answer.json() as { error: { code: string; message: string; details: unknown[] } };
    // Its own code (fifty-eighth session: it was the generic UNAVAILABLE), which the OpenAPI of eraseUser names.
    expect(body.error.code).toBe('ERASURE_HELD_ELSEWHERE');
    expect(body.error.details).toContainEqual(expect.objectContaining({ path: 'erasure', recorded: true }));
    expect(await purchases(id)).toBeGreaterThan(0);
    expect(await owed(id)).toBe(1);
    // Process C is gone: its lease runs out, and B's re-driver completes the erasure.
    await leaseOut(id);
    expect(await b.services.erasureRedriver.pass()).toMatchObject({ redriven: 1, failed: 0 });
    expect(await purchases(id)).toBe(0);
    expect(await owed(id)).toBe(0);
    expect((await b.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') })).statusCode).toBe(204);
  }, 60_000);

  it("When A's re-driver took an erasure and lost it to another before its turn, Then its pass counts no failure (nothing failed, no back-off) and erases nothing", async () => {
    const id = 'g-user5';
    expect(await purchases(id)).toBeGreaterThan(0);
    const a = await processA();
    const logged: string[] = [];
    const redriver = createErasureRedriver({
      requests: createErasureRepository(testDb.db), holder: a.erasure.nextHolder, erase: (userId, opts) => a.erasure.erase(userId, opts),
      storeTakesWrites: async () => true, log: { info: () => {}, warn: (_obj, msg) => void logged.push(msg) },
    });
    // Owed and due (a DELETE answered 503 earlier); A's pass takes it and its turn stalls.
    await testDb.db.query('INSERT INTO erasure_requests (user_id) VALUES ($1)', [id]);
    const pass = redriver.pass();
    await waitUntil('A taking the erasure', async () => (await count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1 AND holder IS NOT NULL', id)) === 1);
    await leaseOut(id);
    expect(await b.services.erasureRepository.claimErasures(10, 600_000, 'process-b:2')).toEqual([id]);
    a.open();
    // (The erasure the test before left to B is owed too: pending counts it.)
    expect(await pass).toMatchObject({ redriven: 0, failed: 0 });
    expect(logged).toEqual([]);
    expect(await purchases(id)).toBeGreaterThan(0);
    const { rows } = await testDb.db.query<{ holder: string; attempts: number }>('SELECT holder, attempts FROM erasure_requests WHERE user_id = $1', [id]);
    expect(rows).toEqual([{ holder: 'process-b:2', attempts: 0 }]);
  }, 60_000);
});
