import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../../src/data/importers/run-import.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/**
 * The order of an Online Retail file's slashed dates is told from the dates only one order reads (13/12/2010). A dotted
 * date (1.12.2010, as a German-locale spreadsheet or a hand typing it writes) is read day first whatever the order, and
 * tells nothing of the slashed ones: it ended the search, so a day-first file whose first row was dotted was read month
 * first, its 13/12/2010 refused as malformed and its 02/12/2010 stored on 12 February.
 */
describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the date order of an Online Retail file beginning with a dotted date', () => {
  let t: TestDb;
  let dir: string;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    dir = mkdtempSync(path.join(tmpdir(), 'date-order-dotted-'));
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When a dotted date comes before the slashed day-first ones, Then the search goes on to a telling date, and every date is read day first', async () => {
    const file = path.join(dir, 'retail.csv');
    writeFileSync(file, [
      'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country',
      '536365,85123A,WHITE HANGING HEART,6,1.12.2010 08:26,2.55,17850,United Kingdom',
      '536366,22633,HAND WARMER,6,02/12/2010 08:28,1.85,17850,United Kingdom',
      '536367,84879,ASSORTED BIRD,32,13/12/2010 08:34,1.69,13047,United Kingdom',
    ].join('\n'));
    const report = await runImport({ db: t.db }, { format: 'online-retail', path: file });
    expect(report).toMatchObject({ rowsRead: 3, accepted: 3, rejected: {} });
    const { rows } = await t.db.query<{ item_id: string; ts: Date }>('SELECT item_id, ts FROM purchase_events ORDER BY ts');
    expect(rows.map((r) => [r.item_id, r.ts.toISOString()])).toEqual([
      ['85123A', '2010-12-01T08:26:00.000Z'],
      ['22633', '2010-12-02T08:28:00.000Z'],
      ['84879', '2010-12-13T08:34:00.000Z'],
    ]);
  });
});
