import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, createTestApp, type TestApp } from '../../helpers/app.js';
import { createPgliteTestDb } from '../../helpers/services.js';

/** Bytes this process has read so far (Linux: every read() and pread(), files and sockets alike). */
const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

const MiB = 1024 * 1024;

/**
 * The header check at POST /v1/imports reads a file's first record: a first line with no end (a file whose first
 * line opens a quote it never closes, a dump without line ends, a gzip that inflates to one endless line) was read
 * whole, inside the request: 50 MiB read and ~280 MB of memory for one submission of a 50 MiB file, 1 GB for a
 * 300 KB gzip. A header is short (the generic format's at most 100 attribute columns of 256 characters, Online
 * Retail's 8 names): the check must stop at a bound a header cannot pass, whatever the file's size.
 */
describe.skipIf(!existsSync('/proc/self/io'))('the header check of an import submission, on a first line with no end', () => {
  let t: TestApp;
  let root: string;
  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'import-header-bound-'));
    t = await createTestApp({ createDb: createPgliteTestDb, env: { IMPORT_ROOTS: root, JOB_RUNNER: 'worker' } });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('When a 32 MiB file opens a quote in its first line that it never closes, Then the submission is a 422 having read a bounded part of it, not the whole file', async () => {
    const row = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n';
    const file = path.join(root, 'quoted.csv');
    writeFileSync(file, `"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n${row.repeat(Math.ceil((32 * MiB) / row.length))}`);
    const before = bytesRead();
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: file } });
    const read = bytesRead() - before;
    expect(res.statusCode, res.body).toBe(422);
    expect(read, `${read} bytes read to check one header`).toBeLessThan(4 * MiB);
  });

  it('When a generic events.csv is one 32 MiB line, Then the submission is a 422 having read a bounded part of it', async () => {
    const dir = mkdtempSync(path.join(root, 'shop-'));
    writeFileSync(path.join(dir, 'events.csv'), `user_id,item_id,quantity,${'x'.repeat(32 * MiB)}`);
    const before = bytesRead();
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'generic', path: dir } });
    const read = bytesRead() - before;
    expect(res.statusCode, res.body).toBe(422);
    expect(read, `${read} bytes read to check one header`).toBeLessThan(4 * MiB);
  });

  // Without the bound this cost about 0.8 GB of memory and a minute; with it, the check reads a few hundred KB.
  it('When a 570 KB gzip file inflates to a first line longer than a JavaScript string can be, Then the submission is a 422 naming the file, not a 500', async () => {
    const file = path.join(root, 'endless.csv.gz');
    // Gzip members read one after the other as one stream: one member of 1 MiB of `a` compressed once and written
    // 560 times makes the file without compressing 560 MiB.
    const member = gzipSync(Buffer.alloc(MiB, 'a'), { level: 9 });
    writeFileSync(file, Buffer.concat([gzipSync('InvoiceNo,'), ...Array.from({ length: 560 }, () => member)]));
    const before = bytesRead();
    const res = await t.app.inject({ method: 'POST', url: '/v1/imports', headers: auth('admin'), payload: { format: 'online-retail', path: file } });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^endless\.csv\.gz/) });
    expect(bytesRead() - before, 'bytes read to check one header').toBeLessThan(4 * MiB);
  }, 300_000);
});
