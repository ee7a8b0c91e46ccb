/**
 * README "Erasure": an export job (POST /v1/exports) reads the erasures owed as it begins and leaves those customers
 * out. When that read fails (a Postgres that stalls on erasure_requests, here a lock held past PG_QUERY_TIMEOUT_MS),
 * the job went on with the list of this process's last read: a customer whose erasure was asked since (through another
 * process) was written to the file. It now waits through the outage for the read (or fails), as `npm run export`
 * refuses. Real Postgres (a schema of the shared test database), the in-process model store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auth, finishedJob } from '../../helpers/app.js';
import { lockAwaited, lockHeld } from '../../helpers/lock-waits.js';
import { owedErasureApp } from '../../helpers/owed-erasure-app.js';
import { POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';
import { seedAndPublishShop } from '../serving/shop-fixture.js';

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('an export job whose read of the erasures owed fails', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'export-job-owed-'));
  const t = owedErasureApp({ env: { EXPORT_DIR: dir, PG_QUERY_TIMEOUT_MS: '500', ERASURE_REFRESH_MS: '600000' }, prepare: seedAndPublishShop });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('When the read fails as the job begins, Then the job waits for it and leaves the customer owed out', async () => {
    const { db } = t.services;
    // This process's last read is in place; then g-user1's erasure is asked through another process.
    await t.services.erasureFollower.poll();
    await db.query("INSERT INTO erasure_requests (user_id) VALUES ('g-user1')");
    const { rows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema');
    const release = await lockHeld(db, 'LOCK TABLE erasure_requests IN ACCESS EXCLUSIVE MODE');
    let jobId: string;
    try {
      const start = await t.app.inject({ method: 'POST', url: '/v1/exports', headers: auth('admin'), payload: { kind: 'recommendations', k: 3, format: 'csv' } });
      expect(start.statusCode, start.body).toBe(202);
      jobId = start.json().jobId;
      // The job's read waits for the lock, and is given up at the statement limit (four limits' time held).
      expect(await lockAwaited(db, rows[0].schema, 'erasure_requests')).toBe(true);
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      await release();
    }
    const job = await finishedJob(t, `/v1/exports/${jobId}`, 120_000);
    expect(job.status, JSON.stringify(job)).toBe('succeeded');
    const file = await t.app.inject({ url: `/v1/exports/${jobId}/file`, headers: auth('admin') });
    expect(file.statusCode).toBe(200);
    expect(file.body).toMatch(/g-user2/);
    expect(file.body).not.toMatch(/g-user1\b/);
  }, 180_000);
});
