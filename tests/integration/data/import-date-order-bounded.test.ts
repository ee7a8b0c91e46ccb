import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../../src/data/importers/run-import.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/**
 * The order of an Online Retail file's slashed dates is told from the dates only one order reads (13/12/2010). A file
 * none of whose first rows has one was read on to its end to find one, before the import read it again; and, had
 * none come, read month first. The search stops at DATE_SEARCH_ROWS rows: a file with no vote by then is refused,
 * asked for the order, as a day-first file may only show it further down (a shop whose first 12 days fill the bound).
 */
/** The bound (online-retail-importer.ts DATE_SEARCH_ROWS), as docs/import-formats.md states it. */
const DATE_SEARCH_ROWS = 100_000;

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('the date order of a long Online Retail file whose first dates tell none', () => {
  let t: TestDb;
  let dir: string;
  let file: string;
  beforeAll(async () => {
    t = await createPostgresTestDb();
    dir = mkdtempSync(path.join(tmpdir(), 'date-order-bounded-'));
    file = path.join(dir, 'retail.csv');
    // Day first: its first rows fall on the 1st to the 12th, the rows past the bound tell (13/12/2010).
    const lines = ['InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country'];
    for (let k = 0; k < DATE_SEARCH_ROWS + 2000; k++) {
      const date = k < DATE_SEARCH_ROWS + 1000 ? `${String((k % 12) + 1).padStart(2, '0')}/12/2010 08:26` : '13/12/2010 08:26';
      lines.push(`5${k},22633,HAND WARMER,1,${date},1.85,${20000 + (k % 500)},United Kingdom`);
    }
    writeFileSync(file, lines.join('\n'));
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('When no date of the first DATE_SEARCH_ROWS rows tells the order, Then the import is refused asking for it, and nothing is written', async () => {
    const failure = await runImport({ db: t.db }, { format: 'online-retail', path: file }).then(() => null, (err: unknown) => err);
    expect(failure).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^retail\.csv: none of the InvoiceDate values of its first 100000 rows tells.*nothing was written$/), details: [{ path: 'dateOrder' }] });
    const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM purchase_events');
    expect(rows[0].n).toBe(0);
  });
});
