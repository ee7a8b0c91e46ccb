/**
 * README "Erasure": an erasure recorded as asked that then fails for another reason than a store that did not answer
 * (here: EXPORT_DIR is a file, so the export files cannot be listed) is still owed and tried again by the service; its
 * 500 says so, as a 503's details do. Real Postgres (a schema of the shared test database), the in-process model store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auth } from '../../helpers/app.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndPublishShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('an erasure recorded that fails with a 500', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'erasure-internal-'));
  const notADirectory = path.join(dir, 'exports');
  writeFileSync(notADirectory, 'not a directory');
  const t = owedErasureApp({ env: { EXPORT_DIR: notADirectory }, prepare: seedAndPublishShop });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('When it fails otherwise than for a store, Then the 500 says it was recorded, and it stays owed, its failed try noted', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/v1/users/k-user2', headers: auth('admin') });
    expect(res.statusCode).toBe(500);
    const body = res.json() as { error: { code: string; details?: unknown[] } };
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.details).toEqual([expect.objectContaining({ path: 'erasure', recorded: true })]);
    const { rows } = await t.services.db.query<{ attempts: number }>("SELECT attempts FROM erasure_requests WHERE user_id = 'k-user2'");
    expect(rows).toEqual([{ attempts: 1 }]);
    // And answered as erased meanwhile, as any erasure owed.
    expect(t.services.owedErasures.has('k-user2')).toBe(true);
  }, 60_000);
});
