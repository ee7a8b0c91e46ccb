import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

const RETAIL_HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const RETAIL_ROW = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom';

/**
 * A data team's walkthrough: a file with the wrong header was accepted (202) and became a failed job, found
 * only by polling it. The header is the import's to check when it is submitted: a 422 naming the file and
 * what its header lacks, and no job queued. (The job checks it again: the file may change in between.)
 */
describe('an import whose file has the wrong header, when it is submitted', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'import-header-'));
    // JOB_RUNNER=worker: an accepted job stays queued, so the jobs table says what was queued.
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root, JOB_RUNNER: 'worker' } });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const submit = (payload: object) => t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload });
  const queued = async () => Number((await t.services.db.query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE type = 'import'")).rows[0].n);
  const file = (name: string, content: string | Buffer) => {
    const at = path.join(root, name);
    writeFileSync(at, content);
    return at;
  };
  const directory = (files: Record<string, string | Buffer>) => {
    const dir = mkdtempSync(path.join(root, 'shop-'));
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    return dir;
  };
  /** Submits, expects a 422 in the error shape whose message matches, and that nothing was queued. */
  const refused = async (payload: object, message: RegExp) => {
    const before = await queued();
    const res = await submit(payload);
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message), details: [{ path: 'path', message: expect.stringMatching(message) }] });
    expect(await queued()).toBe(before);
    return res.json().error.message as string;
  };

  it('When an Online Retail file has another header, plain or gzip, Then 422 names the file and the columns it lacks, and no job is queued', async () => {
    await refused({ format: 'online-retail', path: file('orders.csv', 'order,sku,qty\n1,a,2\n') }, /^orders\.csv: not an Online Retail file: its first line \(3 fields\) lacks the columns/);
    await refused({ format: 'online-retail', path: file('orders.csv.gz', gzipSync('order,sku,qty\n1,a,2\n')) }, /^orders\.csv\.gz: not an Online Retail file/);
    await refused({ format: 'online-retail', path: file('empty.csv', '') }, /empty\.csv is empty: expected a CSV header row/);
  });

  it('When an Online Retail file begins with a data row, Then the 422 quotes nothing of that row', async () => {
    const message = await refused({ format: 'online-retail', path: file('headless.csv', `${RETAIL_ROW}\n`) }, /^headless\.csv: not an Online Retail file/);
    expect(message).not.toMatch(/17850|536365|HEART/);
  });

  it('When a generic file lacks required columns or is a catalogue without describing columns, plain or gzip, Then 422 names the file and the problem, and no job is queued', async () => {
    await refused({ format: 'generic', path: directory({ 'events.csv': 'user_id,item_id,ts\nu,i,2024-01-01\n' }) }, /^events\.csv: missing column\(s\) quantity/);
    await refused({ format: 'generic', path: directory({ 'events.csv.gz': gzipSync('customer,item_id,quantity,ts\nu,i,1,2024-01-01\n') }) }, /^events\.csv\.gz: missing column\(s\) user_id/);
    await refused({ format: 'generic', path: directory({ 'users.csv': 'country,segment\nFR,vip\n' }) }, /^users\.csv: missing column\(s\) id/);
    await refused({ format: 'generic', path: directory({ 'items.csv': 'id,product_name,aisle\nmilk,Whole milk,dairy\n' }) }, /^items\.csv: none of the columns title, description, categories/);
    // One wrong file of three refuses the import whole, named.
    await refused(
      { format: 'generic', path: directory({ 'items.csv': 'id,title\ni,Mug\n', 'users.csv': 'id\nu\n', 'events.csv': 'user_id,item_id,qty,ts\nu,i,1,2024-01-01\n' }) },
      /^events\.csv: missing column\(s\) quantity/,
    );
    await refused({ format: 'generic', path: directory({ 'orders.csv': 'user_id,item_id,quantity,ts\n' }) }, /has none of items\.csv, users\.csv, events\.csv/);
  });

  it('When the headers are right, Then the import is queued as before', async () => {
    const before = await queued();
    expect((await submit({ format: 'online-retail', path: file('good.csv', `${RETAIL_HEADER}\n${RETAIL_ROW}\n`) })).statusCode).toBe(202);
    expect((await submit({ format: 'online-retail', path: file('good.csv.gz', gzipSync(`${RETAIL_HEADER}\n${RETAIL_ROW}\n`)) })).statusCode).toBe(202);
    const shop = directory({ 'items.csv': 'id,title\ni,Mug\n', 'events.csv.gz': gzipSync('user_id,item_id,quantity,ts\nu,i,1,2024-01-01\n') });
    expect((await submit({ format: 'generic', path: shop })).statusCode).toBe(202);
    expect(await queued()).toBe(before + 3);
  });

  it('When a file is missing, Then the answer is the 422 it was before', async () => {
    await refused({ format: 'online-retail', path: path.join(root, 'gone.csv') }, /nothing readable at this path on the server/);
  });

  // Root reads every file whatever its mode: only another user can see the refusal.
  it.skipIf(process.getuid?.() === 0)('When a file of a directory cannot be read by the service, Then 422 names it, not a 500', async () => {
    const dir = directory({ 'events.csv': 'user_id,item_id,quantity,ts\n' });
    chmodSync(path.join(dir, 'events.csv'), 0o000);
    await refused({ format: 'generic', path: dir }, /events\.csv is not readable by the service \(permission denied\)/);
  });
});
