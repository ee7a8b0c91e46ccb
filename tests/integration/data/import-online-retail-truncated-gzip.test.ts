import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOnlineRetail } from '../../../src/data/importers/online-retail-importer.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

// A .csv.gz cut short (an interrupted download or copy) failed in gunzip with zlib's bare "unexpected end of
// file", rethrown at once: the batches written before it stayed untitled and unpriced, their customers without
// a country, and the rows still buffered were not written at all.
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('Online Retail import of a gzip file cut short', () => {
  let t: TestDb;
  let dir: string;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    dir = mkdtempSync(path.join(tmpdir(), 'or-gz-'));
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When the file ends inside its gzip stream, Then the import fails saying the file is cut short, and the products of the rows stored have their titles and prices', async () => {
    const header = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
    // Random-looking descriptions so the compressed stream is long enough to cut in the middle.
    const rows = Array.from({ length: 4000 }, (_, n) => `${600000 + n},${10000 + n},PRODUCT ${n} ${(n * 7919).toString(36)} ${(n * 104729).toString(36)},1,2010-12-01 08:26:00,${1 + (n % 50)},${20000 + (n % 300)},France`);
    const whole = gzipSync(`${[header, ...rows].join('\n')}\n`);
    const file = path.join(dir, 'cut.csv.gz');
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.7)));
    await expect(importOnlineRetail(t.db, file, undefined, { batchSize: 200 })).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^cut\.csv\.gz ends inside its compressed data: the file is cut short/) });
    const { rows: stored } = await t.db.query<{ n: number; untitled: number; unpriced: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE i.title = '')::int AS untitled, count(*) FILTER (WHERE i.price IS NULL)::int AS unpriced
       FROM items i WHERE EXISTS (SELECT 1 FROM purchase_events e WHERE e.item_id = i.id)`,
    );
    expect(stored[0].n).toBeGreaterThan(0);
    expect(stored[0]).toMatchObject({ untitled: 0, unpriced: 0 });
  });
});
