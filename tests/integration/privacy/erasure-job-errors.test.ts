import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, finishedJob, type TestApp } from '../../helpers/app.js';
import { createJobRunner } from '../../../src/jobs/job-runner.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable } from '../../helpers/services.js';

const HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
/** One customer's purchase line, as an Online Retail file holds it. */
const ROW = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom';

/**
 * A file sent without its header line: refused when the import is submitted (a 422), and, when the file lost its
 * header after the submission, by the job, whose error is kept. Once the customer of that first line is erased,
 * nothing the service serves may still name them.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('erasure and the errors of failed import jobs', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'erasure-job-errors-'));
    writeFileSync(path.join(root, 'with-header.csv'), `${HEADER}\n${ROW}\n`);
    writeFileSync(path.join(root, 'without-header.csv'), `${ROW}\n`);
    // JOB_RUNNER=worker: a job runs when the test runs it (runQueued), after the test has changed its file.
    t = await createTestApp({ createDb: createPostgresTestDb, env: { IMPORT_ROOTS: root, JOB_RUNNER: 'worker' } });
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const submit = (name: string) => t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: path.join(root, name) } });
  /** Runs the queued job as a worker would, `before` done first (the file changed between submission and run). */
  const importFile = async (name: string, before?: () => void) => {
    const res = await submit(name);
    expect(res.statusCode, res.body).toBe(202);
    before?.();
    const worker = createJobRunner({ ...t.services.jobRunnerOptions, mode: 'worker' });
    expect(await worker.runNext()).toBe(true);
    return finishedJob(t, `/v1/imports/${res.json().jobId}`);
  };

  it('When the customer of a row quoted by a refused or failed import is erased, Then neither the answer nor the import job names them', async () => {
    expect((await importFile('with-header.csv')).status).toBe('succeeded');
    const refused = await submit('without-header.csv');
    expect(refused.statusCode).toBe(422);
    expect(refused.body).not.toContain('17850');
    // The header checked at submission, gone when the job reads the file: the job checks it again.
    writeFileSync(path.join(root, 'losing-header.csv'), `${HEADER}\n${ROW}\n`);
    const failed = await importFile('losing-header.csv', () => writeFileSync(path.join(root, 'losing-header.csv'), `${ROW}\n`));
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^losing-header\.csv: not an Online Retail file/);

    expect((await t.app.inject({ method: 'DELETE', url: '/v1/users/17850', headers: auth('admin') })).statusCode).toBe(204);

    const job = await t.app.inject({ url: `/v1/imports/${failed.id}`, headers: auth('admin') });
    expect(job.statusCode).toBe(200);
    expect(job.body).not.toContain('17850');
    const list = await t.app.inject({ url: '/v1/imports?limit=100', headers: auth('admin') });
    expect(list.body).not.toContain('17850');
  });
});
