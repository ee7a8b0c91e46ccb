/**
 * Migration 037 keeps the ids whose erasure request was deleted (erasure_requests_settled) a day, for the reads of
 * what changed; each deletion drops those older. With no deletion for longer (no erasure completed), the last ones
 * stayed for good: the re-driver's pass (every ERASURE_REDRIVE_MS) drops them too. Real Postgres (a schema of the
 * shared test database).
 */
import { describe, expect, it } from 'vitest';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the settled erasure ids past their day', () => {
  // The re-driver's own timer an hour away: the test's pass is the one that prunes.
  const t = owedErasureApp();

  it('When no erasure completed for more than a day, Then the next re-driver pass drops the settled ids past their day, and keeps the newer', async () => {
    await t.services.db.query(
      "INSERT INTO erasure_requests_settled (user_id, settled_at) VALUES ('settled-old', now() - interval '25 hours'), ('settled-new', now() - interval '23 hours')",
    );
    const pass = await t.services.erasureRedriver.pass();
    expect(pass).toEqual({ pending: 0, redriven: 0, failed: 0 });
    const { rows } = await t.services.db.query<{ user_id: string }>('SELECT user_id FROM erasure_requests_settled ORDER BY user_id');
    expect(rows.map((r) => r.user_id)).toEqual(['settled-new']);
  }, 30_000);
});
