/**
 * README "Erasure": an erasure recorded as asked that then fails for another reason than a store that did not answer
 * (here: EXPORT_DIR is a file, so the export files cannot be listed) is still owed and tried again by the service; its
 * 500 says so, as a 503's details do. Real Postgres (a schema of the shared test database), the in-process model store.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedShop, trainAndPublish } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('an erasure recorded that fails with a 500', () => {
  let t: TestApp;
  const dir = mkdtempSync(path.join(tmpdir(), 'erasure-internal-'));
  const notADirectory = path.join(dir, 'exports');
  beforeAll(async () => {
    writeFileSync(notADirectory, 'not a directory');
    t = await createTestApp({ createDb: () => createPostgresTestDb(), env: { EXPORT_DIR: notADirectory, ERASURE_REDRIVE_MS: '3600000' } });
    await seedShop(t.services);
    await trainAndPublish(t.services);
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

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
