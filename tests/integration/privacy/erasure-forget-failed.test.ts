/**
 * README "Erasure": the process an erasure completes on forgets what it cached of the customer (entries, answers) after
 * the commit; a failure there does not fail the DELETE (the erasure follower forgets them at its next read). Meanwhile
 * the customer stays on this process's list of erasures owed (privacy/owed-erasures.ts), so they are answered as erased,
 * not from what it cached. Real Postgres (a schema of the shared test database), the in-process model store; the
 * forgetting made to fail by replacing serving's forgetUser for the DELETE.
 */
import { describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndPublishShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('an erasure whose forgetting in process fails', () => {
  // The follower's timer ten minutes, the re-driver's an hour: the test starts the follower's read itself.
  const t = owedErasureApp({ env: { ERASURE_REFRESH_MS: '600000' }, prepare: seedAndPublishShop });
  const list = async (id: string) => {
    const res = await t.app.inject({ url: `/v1/users/${id}/recommendations?k=5`, headers: auth('read') });
    const body = res.json() as { items: { itemId: string }[]; fallback: boolean };
    return { status: res.statusCode, items: body.items.map((i) => i.itemId), fallback: body.fallback };
  };

  it('When the erasure commits and this process fails to forget the customer, Then it answers them as erased until its follower forgets them', async () => {
    const nobody = await list('never-seen-2');
    expect(nobody).toMatchObject({ status: 200, fallback: true });
    // Served personally, so this process caches their entry and answer.
    const before = await list('g-user3');
    expect(before).toMatchObject({ status: 200, fallback: false });
    expect(before.items).not.toEqual(nobody.items);

    const { serving } = t.services;
    const forgetUser = serving.forgetUser;
    serving.forgetUser = async () => Promise.reject(new Error('forgetting failed'));
    try {
      expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/g-user3', headers: auth('admin') })).statusCode).toBe(204);
      expect(await list('g-user3')).toEqual(nobody);
    } finally {
      serving.forgetUser = forgetUser;
    }
    // The follower's read forgets them (erased_users), and only then leaves the list.
    await t.services.erasureFollower.poll();
    expect(t.services.owedErasures.has('g-user3')).toBe(false);
    expect(await list('g-user3')).toEqual(nobody);
  }, 60_000);
});
