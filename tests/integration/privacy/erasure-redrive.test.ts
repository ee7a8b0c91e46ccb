/**
 * README "Erasure": an erasure asked for is finished by the service. A DELETE /v1/users/:id answered 503 because the
 * model store did not answer is recorded first (erasure_requests), and once the store answers the service completes
 * it without the caller sending it again; meanwhile a training does not learn the customer; and no two processes
 * drive one erasure. Real Postgres (a schema of the shared test database) and a redis-server of the test's own,
 * killed and started again from a snapshot (SAVE) that holds the trained version, as a Redis with persistence does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USERS_TABLE } from '../../../src/serving/user-entry.js';
import { createTrainer } from '../../../src/training/train-model.js';
import { auth, type TestApp } from '../../helpers/app.js';
import { owedErasureServers } from '../../helpers/owed-erasure-app.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { privateServerSupport } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { SHOP_RECIPE, seedAndPublishShop } from '../serving/shop-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('an erasure answered 503 while Redis is away', () => {
  const servers = owedErasureServers({ prefix: 'redrive:' });
  /** Two processes of the service on one Postgres and one Redis, whose own re-driver waits an hour (tests call its pass). */
  let a: TestApp;
  let b: TestApp;
  let version: string;
  let recipesDir: string;
  const count = async (sql: string, id: string) => (await servers.db.query<{ n: number }>(sql, [id])).rows[0].n;
  const purchases = (id: string) => count('SELECT count(*)::int AS n FROM purchase_events WHERE user_id = $1', id);
  const owed = (id: string) => count('SELECT count(*)::int AS n FROM erasure_requests WHERE user_id = $1', id);
  const erased = (id: string) => count('SELECT count(*)::int AS n FROM erased_users WHERE user_id = $1', id);

  /**
   * Redis saves a snapshot (the trained version in it) and is killed; `t` is sent the DELETE, answered while it is
   * away; then Redis starts again from the snapshot and `t`'s store answers. Returns the answer.
   */
  async function deleteWhileRedisAway(t: TestApp, id: string) {
    const client = new Redis(servers.redis.url, { lazyConnect: true });
    await client.connect();
    await client.save();
    client.disconnect();
    await servers.redis.kill();
    const res = await t.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') });
    await servers.redis.start();
    await waitUntil('the model store answering again', () => t.services.store.ping());
    return res;
  }

  beforeAll(async () => {
    a = await servers.app();
    b = await servers.app();
    version = await seedAndPublishShop(a.services);
    recipesDir = mkdtempSync(path.join(tmpdir(), 'redrive-recipes-'));
    writeFileSync(path.join(recipesDir, 'serving-test.json'), JSON.stringify(SHOP_RECIPE));
  }, 120_000);

  afterAll(async () => {
    if (recipesDir) rmSync(recipesDir, { recursive: true, force: true });
  });

  it('When the DELETE is answered 503 and Redis comes back, Then the service completes the erasure with no second DELETE', async () => {
    // A process whose re-driver looks every 200 ms.
    const c = await servers.app({ ERASURE_REDRIVE_MS: '200' });
    try {
      expect(await purchases('g-user3')).toBeGreaterThan(0);
      expect((await c.services.store.getEntries(version, USERS_TABLE, ['g-user3']))[0]).not.toBeNull();
      const res = await deleteWhileRedisAway(c, 'g-user3');
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      const body = res.json() as { error: { code: string; message: string; details?: { path?: string; recorded?: boolean }[] } };
      expect(body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
      expect(body.error.details).toEqual([expect.objectContaining({ path: 'erasure', recorded: true })]);

      await waitUntil('the erasure recorded in erased_users', async () => (await erased('g-user3')) === 1);
      expect(await purchases('g-user3')).toBe(0);
      expect(await owed('g-user3')).toBe(0);
      // The version the store came back with is scrubbed of them.
      expect((await c.services.store.getEntries(version, USERS_TABLE, ['g-user3']))[0]).toBeNull();
      const metrics = await c.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/^recsvc_erasure_redriven_total 1$/m);
      expect(metrics.body).toMatch(/^recsvc_erasure_requests_pending 0$/m);
    } finally {
      await c.dispose();
    }
  }, 120_000);

  it('When a training runs while an erasure is owed, Then it does not learn the customer, whose data Postgres still holds', async () => {
    const res = await deleteWhileRedisAway(a, 'k-user4');
    expect(res.statusCode).toBe(503);
    expect(await owed('k-user4')).toBe(1);
    const theirs = await purchases('k-user4');
    expect(theirs).toBeGreaterThan(0);
    const all = (await servers.db.query<{ events: number; users: number }>('SELECT count(*)::int AS events, count(DISTINCT user_id)::int AS users FROM purchase_events')).rows[0];

    const trained = await createTrainer({
      events: a.services.events, catalog: a.services.catalog, store: a.services.store, defaultRecipe: 'serving-test', recipesDir, isolation: 'inline', threads: 1, erasures: a.services.erasure,
    }).train();
    // Read without their purchases, not only scrubbed of their rows after.
    expect(trained.data.users).toBe(all.users - 1);
    expect(trained.data.events).toBe(all.events - theirs);
    expect((await a.services.store.getEntries(trained.version, USERS_TABLE, ['k-user4']))[0]).toBeNull();
    expect((await a.services.store.getEntries(trained.version, USERS_TABLE, ['k-user5']))[0]).not.toBeNull();
    // Still owed: Postgres holds them until the erasure completes.
    expect(await purchases('k-user4')).toBe(theirs);
    expect(await owed('k-user4')).toBe(1);
  }, 120_000);

  it('When two processes look for erasures owed at once, Then each erasure is driven by one of them, once', async () => {
    const res = await deleteWhileRedisAway(b, 'k-user6');
    expect(res.statusCode).toBe(503);
    // k-user6 is owed (and k-user4, from the test before); their back-off (an hour here) is over.
    await servers.db.query('UPDATE erasure_requests SET next_at = now()');
    const owedIds = (await servers.db.query<{ user_id: string }>('SELECT user_id FROM erasure_requests ORDER BY user_id')).rows.map((r) => r.user_id);
    expect(owedIds).toContain('k-user6');

    const [pa, pb] = await Promise.all([a.services.erasureRedriver.pass(), b.services.erasureRedriver.pass()]);
    expect(pa.redriven + pb.redriven).toBe(owedIds.length);
    expect(pa.failed + pb.failed).toBe(0);
    for (const id of owedIds) {
      expect(await erased(id)).toBe(1);
      expect(await purchases(id)).toBe(0);
      expect(await owed(id)).toBe(0);
    }
    // A pass with nothing owed does nothing.
    expect(await a.services.erasureRedriver.pass()).toEqual({ pending: 0, redriven: 0, failed: 0 });
  }, 120_000);
});
