/**
 * README "Erasure": while an erasure is owed (recorded as asked, not completed), GET /v1/users/:id/profile answers the
 * customer as it answers an erased one (404, the same error), as the recommendation paths do: on a process from its
 * read of the erasures owed (ERASURE_REFRESH_MS; the one the DELETE was sent to at once). Their record and purchases
 * stay in Postgres until the erasure completes. Real Postgres (a schema of the shared test database), the real trainer
 * (its profiles artifact), the in-process model store.
 */
import { describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndTrainShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))("an owed erasure's customer profile", () => {
  // The re-driver waits an hour: nothing completes the owed erasure during the test.
  const t = owedErasureApp({ prepare: seedAndTrainShop });
  const profile = async (id: string) => {
    const res = await t.app.inject({ url: `/v1/users/${id}/profile`, headers: auth('read') });
    return { status: res.statusCode, error: (res.json() as { error?: { code: string; message: string } }).error };
  };

  it('When an erasure is owed, Then the profile answers 404 as for an erased customer, and their record is still stored', async () => {
    // Profiled before: what the test shows is taken away.
    for (const id of ['g-user4', 'g-user5']) expect(await profile(id)).toMatchObject({ status: 200, error: undefined });
    // An erased customer's profile: the answer an owed one's must match.
    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user5', headers: auth('admin') })).statusCode).toBe(204);
    expect(await profile('g-user5')).toEqual({ status: 404, error: { code: 'NOT_FOUND', message: 'user "g-user5" not found' } });

    // Owed: recorded as asked (by another process, say), not due for an hour; this process learns of it from its read.
    await t.services.db.query("INSERT INTO erasure_requests (user_id, next_at) VALUES ('g-user4', now() + interval '1 hour')");
    // A read that starts now: one a request started before the insert may still be running (poll would await that one).
    await t.services.erasureFollower.catchUp();
    expect(t.services.owedErasures.has('g-user4')).toBe(true);
    expect(await profile('g-user4')).toEqual({ status: 404, error: { code: 'NOT_FOUND', message: 'user "g-user4" not found' } });
    // Nothing was completed: their record and purchases are in Postgres until the erasure is.
    const { rows } = await t.services.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE user_id = 'g-user4'");
    expect(rows[0].n).toBeGreaterThan(0);
    // Another customer's profile is answered as before.
    expect(await profile('g-user6')).toMatchObject({ status: 200, error: undefined });
  }, 60_000);
});
