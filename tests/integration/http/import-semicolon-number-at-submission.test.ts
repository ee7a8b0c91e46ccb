import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * A file saved with `;` from a spreadsheet whose locale writes numbers in a way the import cannot read (a thousands
 * separator: 1.234,56) is refused when it is submitted, naming the row and column, rather than queued to fail.
 */
describe('a ; file with a number that is not one in its first rows, when it is submitted', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'import-semicolon-'));
    // JOB_RUNNER=worker: an accepted job stays queued, so the jobs table says what was queued.
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root, JOB_RUNNER: 'worker' } });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const queued = async () => Number((await t.services.db.query<{ n: string }>("SELECT count(*) AS n FROM jobs WHERE type = 'import'")).rows[0].n);

  it('When an Online Retail file writes 1.234,56, Then 422 names its data row and column, and no job is queued; the same file with 1234,56 is accepted', async () => {
    const header = '\uFEFFInvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country';
    const row = (price: string) => `536365;85123A;WHITE HANGING HEART T-LIGHT HOLDER;6;01.12.2010 08:26;${price};17850;United Kingdom`;
    const bad = path.join(root, 'bad.csv');
    writeFileSync(bad, [header, row('2,55'), row('1.234,56')].join('\r\n'));
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: bad } });
    expect(res.statusCode, res.body).toBe(422);
    const message = /^bad\.csv: data row 2, column 6 \(UnitPrice\) is not a number\. .*nothing was imported/;
    expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message), details: [{ path: 'path' }] });
    expect(await queued()).toBe(0);

    const good = path.join(root, 'good.csv');
    writeFileSync(good, [header, row('2,55'), row('1234,56')].join('\r\n'));
    const ok = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: good } });
    expect(ok.statusCode, ok.body).toBe(202);
    expect(await queued()).toBe(1);
  });
});
