import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
/** One customer's purchase line, as an Online Retail file holds it. */
const ROW = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom';

/**
 * A file sent without its header line: the import fails, and its error is kept with the job. Once the
 * customer of that first line is erased, nothing the service serves may still name them.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('erasure and the errors of failed import jobs', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'erasure-job-errors-'));
    writeFileSync(path.join(root, 'with-header.csv'), `${HEADER}\n${ROW}\n`);
    writeFileSync(path.join(root, 'without-header.csv'), `${ROW}\n`);
    t = await createTestApp({ createDb: createPostgresTestDb, env: { IMPORT_ROOTS: root } });
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const importFile = async (name: string) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: path.join(root, name) } });
    expect(res.statusCode).toBe(202);
    return finishedJob(t, `/v1/imports/${res.json().jobId}`);
  };

  it('When the customer of a row quoted by a failed import is erased, Then the import job no longer names them', async () => {
    expect((await importFile('with-header.csv')).status).toBe('succeeded');
    const failed = await importFile('without-header.csv');
    expect(failed.status).toBe('failed');

    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/17850', headers: auth('admin') })).statusCode).toBe(204);

    const job = await t.app.inject({ url: `/v1/imports/${failed.id}`, headers: auth('admin') });
    expect(job.statusCode).toBe(200);
    expect(job.body).not.toContain('17850');
    const list = await t.app.inject({ url: '/v1/imports?limit=100', headers: auth('admin') });
    expect(list.body).not.toContain('17850');
  });
});
