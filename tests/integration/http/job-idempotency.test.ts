import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { ONE_DB_BACKEND } from '../../helpers/services.js';

/**
 * A job submission named by an Idempotency-Key: a client that did not get its answer (a timeout; a 503
 * while Postgres was frozen, whose insert landed once Postgres went on) sends it again and finds the job
 * the first attempt queued, instead of a second job, or a 409 from its own training.
 */
for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`job submissions with an Idempotency-Key (${backend.name})`, () => {
    let t: TestApp;
    const roots = mkdtempSync(path.join(tmpdir(), 'idempotency-'));
    const file = path.join(roots, 'orders.csv');
    writeFileSync(file, 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n');
    beforeAll(async () => {
      // Jobs stay queued: this process's runner only sweeps.
      t = await createTestApp({ createDb: backend.create, env: { IMPORT_ROOTS: roots, JOB_RUNNER: 'worker' } });
    });
    afterAll(() => t?.dispose());

    const submit = (url: string, payload: object, key?: string) =>
      t.app.inject({ method: 'POST', url, headers: { ...auth('admin'), ...(key === undefined ? {} : { 'idempotency-key': key }) }, payload });
    const jobsOfType = async (type: string) => (await t.services.jobs.list({ type, limit: 100 })).length;

    it('When an import is sent twice with one key, Then both answers name the same job and one job is queued', async () => {
      const first = await submit('/v1/imports', { format: 'online-retail', path: file }, 'import-2026-12-04-a');
      expect(first.statusCode, first.body).toBe(202);
      const again = await submit('/v1/imports', { format: 'online-retail', path: file }, 'import-2026-12-04-a');
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json()).toEqual(first.json());
      expect(again.headers.location).toBe(`/v1/imports/${first.json().jobId}`);
      expect(await jobsOfType('import')).toBe(1);
      // Without a key, or with another, a new job.
      expect((await submit('/v1/imports', { format: 'online-retail', path: file })).json().jobId).not.toBe(first.json().jobId);
      expect((await submit('/v1/imports', { format: 'online-retail', path: file }, 'import-2026-12-04-b')).json().jobId).not.toBe(first.json().jobId);
      expect(await jobsOfType('import')).toBe(3);
    });

    it('When a retry comes after what the request names has changed (the file moved away), Then it still gets its job, not the 422 a new request would', async () => {
      const moving = path.join(roots, 'moving.csv');
      writeFileSync(moving, 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n');
      const first = await submit('/v1/imports', { path: moving, format: 'online-retail' }, 'import-moving');
      expect(first.statusCode, first.body).toBe(202);
      rmSync(moving);
      expect((await submit('/v1/imports', { format: 'online-retail', path: moving })).statusCode).toBe(422);
      // The same request (its fields in another order) under the same key.
      const again = await submit('/v1/imports', { format: 'online-retail', path: moving }, 'import-moving');
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().jobId).toBe(first.json().jobId);
    });

    it('When a key is sent again with another request, Then 409 CONFLICT names the job it was used for, and nothing is queued', async () => {
      const first = await submit('/v1/imports', { format: 'online-retail', path: file }, 'reused-key');
      const before = await jobsOfType('import');
      for (const [url, body] of [
        ['/v1/imports', { format: 'generic', path: roots }],
        ['/v1/evaluations', { split: { kind: 'leave-last-order' } }],
      ] as const) {
        const res = await submit(url, body, 'reused-key');
        expect(res.statusCode, res.body).toBe(409);
        expect(res.json().error).toMatchObject({ code: 'CONFLICT', message: expect.stringContaining(`Idempotency-Key "reused-key" was sent with another request (job ${first.json().jobId}`) });
      }
      expect(await jobsOfType('import')).toBe(before);
      expect(await jobsOfType('evaluate')).toBe(0);
    });

    it('When a training is sent again with its key while it is queued, Then the answer names it instead of a 409 for its own job', async () => {
      const first = await submit('/v1/training-jobs', { tune: false }, 'nightly-2026-12-04');
      expect(first.statusCode, first.body).toBe(202);
      const again = await submit('/v1/training-jobs', { tune: false }, 'nightly-2026-12-04');
      expect(again.statusCode, again.body).toBe(202);
      expect(again.json().jobId).toBe(first.json().jobId);
      // Another submission is still refused while it is queued.
      const other = await submit('/v1/training-jobs', { tune: false }, 'nightly-2026-12-04-retry-with-a-new-key');
      expect(other.statusCode).toBe(409);
      expect(other.json().error).toMatchObject({ code: 'JOB_ALREADY_RUNNING', details: [{ jobId: first.json().jobId }] });
      expect(await jobsOfType('train')).toBe(1);
    });

    it('When a key comes again more than a day after its job, Then it names a new job (a nightly script sending a fixed key still queues each night)', async () => {
      const first = await submit('/v1/imports', { format: 'online-retail', path: file }, 'every-night');
      expect(first.statusCode, first.body).toBe(202);
      // Within the day: the same job, and another request under the key is a conflict.
      await t.services.db.query(`UPDATE jobs SET created_at = now() - interval '23 hours' WHERE id = $1`, [first.json().jobId]);
      expect((await submit('/v1/imports', { format: 'online-retail', path: file }, 'every-night')).json().jobId).toBe(first.json().jobId);
      expect((await submit('/v1/imports', { format: 'generic', path: roots }, 'every-night')).statusCode).toBe(409);
      // A day on: a new job, for the same request or another; the old job is kept as it was.
      await t.services.db.query(`UPDATE jobs SET created_at = now() - interval '25 hours' WHERE id = $1`, [first.json().jobId]);
      const next = await submit('/v1/imports', { format: 'online-retail', path: file }, 'every-night');
      expect(next.statusCode, next.body).toBe(202);
      expect(next.json().jobId).not.toBe(first.json().jobId);
      expect((await submit('/v1/imports', { format: 'online-retail', path: file }, 'every-night')).json().jobId).toBe(next.json().jobId);
      expect((await t.app.inject({ url: `/v1/imports/${first.json().jobId}`, headers: auth('admin') })).statusCode).toBe(200);
    });

    it('When the key is empty, too long or not visible ASCII, Then 400 names the header and nothing is queued', async () => {
      const before = await jobsOfType('import');
      for (const key of ['', 'x'.repeat(256), 'with space', 'ключ']) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/v1/imports',
          headers: { ...auth('admin'), 'idempotency-key': encodeURIComponent(key) === key ? key : Buffer.from(key).toString('latin1') },
          payload: { format: 'online-retail', path: file },
        });
        expect(res.statusCode, `${JSON.stringify(key)}: ${res.body}`).toBe(400);
        expect(res.json().error.message).toMatch(/^headers\.idempotency-key: 1 to 255 visible ASCII characters/);
      }
      expect(await jobsOfType('import')).toBe(before);
    });
  });
}
