/**
 * README "Erasure": once the service answered an erasure `503 ... recorded: true`, the customer gets no personal
 * answer: while it is owed (before the re-driver completes it), every recommendation path answers their id as it
 * answers an erased one, which is what a never-seen id gets: the process the DELETE was sent to at once, another
 * process at its next read of the erasures (ERASURE_REFRESH_MS). Real Postgres (a schema of the shared test database)
 * and a redis-server of the test's own, killed and started again from a snapshot (SAVE), as a Redis with persistence.
 */
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { auth, type TestApp } from '../../helpers/app.js';
import { owedErasureServers } from '../../helpers/owed-erasure-app.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { privateServerSupport } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndPublishShop } from '../serving/shop-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

/** What a storefront sees of an answer: its items in order, its label and whether it is a fallback. */
interface Seen {
  status: number;
  items: string[];
  strategy: string;
  fallback: boolean;
}

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('a customer whose erasure is owed, through HTTP', () => {
  // The follower's timer ten minutes too: `b` learns of the owed erasure at the read the test starts (erasureFollower.poll).
  const servers = owedErasureServers({ prefix: 'owed:', env: { ERASURE_REFRESH_MS: '600000' } });
  /** `a` is sent the DELETEs; `b` is another process on the same Postgres and Redis. Neither re-drives (an hour). */
  let a: TestApp;
  let b: TestApp;

  const seen = async (res: { statusCode: number; json(): unknown }): Promise<Seen> => {
    const body = res.json() as { items?: { itemId: string }[]; strategy: string; fallback: boolean };
    return { status: res.statusCode, items: (body.items ?? []).map((i) => i.itemId), strategy: body.strategy, fallback: body.fallback };
  };
  const userList = async (t: TestApp, id: string) => seen(await t.app.inject({ url: `/v1/users/${id}/recommendations?k=5`, headers: auth('read') }));
  const contextList = async (t: TestApp, id: string) =>
    seen(await t.app.inject({ method: 'POST', url: '/v1/recommendations', headers: auth('read'), payload: { userId: id, items: [], k: 5 } }));

  beforeAll(async () => {
    a = await servers.app();
    b = await servers.app();
    await seedAndPublishShop(a.services);
    await b.services.serving.refresh();
  }, 120_000);

  it('When the DELETE was answered 503 recorded, Then both processes answer the id as a never-seen or an erased id, before the erasure completes', async () => {
    const nobody = { user: await userList(a, 'never-seen-1'), context: await contextList(a, 'never-seen-1') };
    expect(nobody.user).toMatchObject({ status: 200, fallback: true });
    // Personal before: what the test shows is taken away.
    const before = await userList(a, 'g-user3');
    expect(before).toMatchObject({ status: 200, fallback: false });
    expect(before.items).not.toEqual(nobody.user.items);
    expect(await userList(b, 'g-user3')).toEqual(before);

    // An erasure that completes: what an erased id is answered, on both processes.
    expect((await a.app.inject({ method: 'DELETE', url: '/v1/users/g-user5', headers: auth('admin') })).statusCode).toBe(204);
    await waitUntil('b forgetting the erased customer', async () => (await userList(b, 'g-user5')).fallback);
    for (const t of [a, b]) {
      expect(await userList(t, 'g-user5')).toEqual(nobody.user);
      expect(await contextList(t, 'g-user5')).toEqual(nobody.context);
    }

    // The DELETE answered while Redis is away: recorded, owed, not completed.
    const client = new Redis(servers.redis.url, { lazyConnect: true });
    await client.connect();
    await client.save();
    client.disconnect();
    await servers.redis.kill();
    const res = await a.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') });
    expect(res.statusCode).toBe(503);
    expect((res.json() as { error: { details?: unknown[] } }).error.details).toEqual([expect.objectContaining({ path: 'erasure', recorded: true })]);
    await servers.redis.start();
    await waitUntil('the model store answering again', () => a.services.store.ping());
    const owed = await servers.db.query("SELECT 1 FROM erasure_requests WHERE user_id = 'g-user3'");
    expect(owed.rows).toHaveLength(1);

    // The process that recorded it: at once.
    expect(await userList(a, 'g-user3')).toEqual(nobody.user);
    expect(await contextList(a, 'g-user3')).toEqual(nobody.context);
    // Another process: from its next read of the erasures.
    await b.services.erasureFollower.poll();
    expect(await userList(b, 'g-user3')).toEqual(nobody.user);
    expect(await contextList(b, 'g-user3')).toEqual(nobody.context);
    // Still owed: nothing was completed for this, their purchases are in Postgres until the erasure is.
    const purchases = await servers.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE user_id = 'g-user3'");
    expect(purchases.rows[0].n).toBeGreaterThan(0);

    // Completed by the service: still answered as erased, and no longer owed.
    const pass = await a.services.erasureRedriver.pass();
    expect(pass.pending).toBe(1);
    await servers.db.query('UPDATE erasure_requests SET next_at = now()');
    expect((await a.services.erasureRedriver.pass()).redriven).toBe(1);
    expect(a.services.owedErasures.has('g-user3')).toBe(false);
    expect(await userList(a, 'g-user3')).toEqual(nobody.user);
    await b.services.erasureFollower.poll();
    expect(b.services.owedErasures.has('g-user3')).toBe(false);
    expect(await userList(b, 'g-user3')).toEqual(nobody.user);
  }, 120_000);
});
