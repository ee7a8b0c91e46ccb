/**
 * README "Erasure": a customer whose erasure was asked must not be served by any process, not only by the one the
 * DELETE was sent to. Two processes of the service on one Postgres (a database of the test's own: the test holds the
 * erasures' lock, which is the database's) and a redis-server of the file's own. `b`'s timed read of the erasures is
 * ten minutes away, so what `b` learns in the test it learns from what `a` does, not from its timer.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ERASURE_SERIAL } from '../../../src/data/erasure-repository.js';
import { auth, type TestApp } from '../../helpers/app.js';
import { lockHeld } from '../../helpers/lock-waits.js';
import { owedErasureServers } from '../../helpers/owed-erasure-app.js';
import { privateServerSupport } from '../../helpers/private-servers.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { waitUntil } from '../../helpers/wait-until.js';
import { seedAndTrainShop } from '../serving/shop-fixture.js';

const support = await privateServerSupport();
if (!support.redis && process.env.REQUIRE_SERVICES === 'true') throw new Error(`this test needs ${support.missing.join(', ')} and REQUIRE_SERVICES=true`);

describe.skipIf(!support.redis || !(await serviceAvailable(POSTGRES_URL)))('an erasure asked of one process, seen from another', () => {
  const servers = owedErasureServers({ ownDb: true, prefix: 'owed-other:', env: { ERASURE_REFRESH_MS: '600000' } });
  /** `a` is sent the DELETEs; `b` is another process on the same Postgres and Redis. */
  let a: TestApp;
  let b: TestApp;

  const status = async (t: TestApp, url: string, scope: 'read' | 'admin' = 'read') => (await t.app.inject({ url, headers: auth(scope) })).statusCode;
  const personal = async (t: TestApp, id: string) =>
    !(await t.app.inject({ url: `/v1/users/${id}/recommendations?k=5`, headers: auth('read') })).json<{ fallback: boolean }>().fallback;
  const listed = async (t: TestApp, id: string) =>
    (await t.app.inject({ url: `/v1/users?q=${id}&limit=10`, headers: auth('admin') })).json<{ customers: { id: string }[] }>().customers.some((c) => c.id === id);
  const asked = async (id: string) => (await servers.db.query('SELECT 1 FROM erasure_requests WHERE user_id = $1', [id])).rows.length === 1;

  beforeAll(async () => {
    a = await servers.app();
    b = await servers.app();
    await seedAndTrainShop(a.services);
    await b.services.serving.refresh();
    // Each has read the erasures once (their first read), so the test's reads do not wait on a first read.
    await Promise.all([a.services.erasureFollower.poll(), b.services.erasureFollower.poll()]);
  }, 120_000);

  it('When an erasure asked of a is under way, Then b answers the customer as erased too, without waiting for its timed read', async () => {
    const id = 'g-user3';
    // Served in full before, by both.
    for (const t of [a, b]) {
      expect(await status(t, `/v1/users/${id}`)).toBe(200);
      expect(await status(t, `/v1/users/${id}/events`)).toBe(200);
      expect(await personal(t, id)).toBe(true);
      expect(await listed(t, id)).toBe(true);
    }
    // Another erasure holds the erasures' lock: `a` records this one as asked (erasure_requests) and waits for its turn.
    const unblock = await lockHeld(servers.db, ERASURE_SERIAL);
    const deleted = a.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') });
    try {
      await waitUntil('the erasure recorded as asked', () => asked(id));
      // The customer's record and purchases, read from Postgres: not served by b from the moment the ask is recorded.
      expect(await status(b, `/v1/users/${id}`)).toBe(404);
      expect(await status(b, `/v1/users/${id}/events`)).toBe(404);
      // What b answers from memory (recommendations) and the admin's search: once b has heard of the ask (a's message
      // through Redis, then b's read of the erasures owed), well before its timed read ten minutes away.
      await waitUntil('b putting the customer on its list of erasures owed', async () => b.services.owedErasures.has(id), 10_000);
      expect(await personal(b, id)).toBe(false);
      expect(await listed(b, id)).toBe(false);
      expect(await asked(id)).toBe(true);
    } finally {
      await unblock();
    }
    expect((await deleted).statusCode).toBe(204);
  }, 60_000);

  it('When the erasure became owed while Redis was away (no message can travel), Then b still refuses the record, the purchases, the profile and its row in the search at once', async () => {
    const id = 'g-user5';
    expect(await status(b, `/v1/users/${id}`)).toBe(200);
    expect(await status(b, `/v1/users/${id}/profile`)).toBe(200);
    expect(await listed(b, id)).toBe(true);
    await servers.redis.kill();
    try {
      const res = await a.app.inject({ method: 'DELETE', url: `/v1/users/${id}`, headers: auth('admin') });
      expect(res.statusCode).toBe(503);
      expect(await asked(id)).toBe(true);
      // Read from Postgres with the ask: no message needed.
      expect(await status(b, `/v1/users/${id}`)).toBe(404);
      expect(await status(b, `/v1/users/${id}/events`)).toBe(404);
      expect(await status(b, `/v1/users/${id}/profile`)).toBe(404);
      expect(await listed(b, id)).toBe(false);
      // b has not heard of it: what it answers from memory waits for its next read of the erasures (ERASURE_REFRESH_MS).
      expect(b.services.owedErasures.has(id)).toBe(false);
    } finally {
      await servers.redis.start();
    }
  }, 60_000);
});
