import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/**
 * A header refused at submission is refused before anything is imported: its message must not say that "the import
 * stopped there" and that "rows already imported are not added twice" (the job's words, after rows were written),
 * nor call the header line a data row.
 */
describe('the refusal of an import whose header line cannot be read, at submission', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'import-header-wording-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root, JOB_RUNNER: 'worker' } });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  const submit = (file: string) => t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: file } });

  it('When the header line holds a closing quote followed by more text, Then the 422 calls it the header line and says nothing was imported', async () => {
    const file = path.join(root, 'quoted.csv');
    writeFileSync(file, '"Invoice"No,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n536365,85123A,MUG,6,12/1/2010 8:26,2.55,17850,United Kingdom\n');
    const res = await submit(file);
    expect(res.statusCode, res.body).toBe(422);
    const { message } = res.json().error as { message: string };
    expect(message).toMatch(/^quoted\.csv: the record at line 1 \(the header line\)/);
    expect(message).toMatch(/nothing was imported/i);
    expect(message).not.toContain('already imported');
  });

  it('When the header line holds a byte that is not UTF-8, Then the 422 says nothing was imported', async () => {
    const file = path.join(root, 'latin1.csv');
    writeFileSync(file, Buffer.concat([Buffer.from('InvoiceNo,StockCode,Descripci'), Buffer.from([0xf3]), Buffer.from('n,Quantity\n')]));
    const res = await submit(file);
    expect(res.statusCode, res.body).toBe(422);
    const { message } = res.json().error as { message: string };
    expect(message).toMatch(/^latin1\.csv is not UTF-8: line 1/);
    expect(message).toMatch(/nothing was imported/i);
    expect(message).not.toContain('already imported');
  });
});
