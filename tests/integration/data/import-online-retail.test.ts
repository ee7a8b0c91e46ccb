import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { createEventRepository } from '../../../src/data/event-repository.js';
import { importGeneric } from '../../../src/data/importers/generic-importer.js';
import { RECORD_MAX_CHARS } from '../../../src/data/importers/csv-source.js';
import { importOnlineRetail } from '../../../src/data/importers/online-retail-importer.js';
import { runImport, type ImportReport } from '../../../src/data/importers/run-import.js';
import { AppError } from '../../../src/errors.js';
import type { Db } from '../../../src/data/db.js';
import { writeSampleSlice } from '../../helpers/sample-slice.js';
import { ONE_DB_BACKEND, type TestDb } from '../../helpers/services.js';

/**
 * What the importer should report for a slice of the bundled sample, worked out here straight from the raw rows
 * with the protocol's rules written as a plain filter (first failing rule wins).
 */
function expectedFromSample(file: string) {
  const rows: Record<string, string>[] = parse(gunzipSync(readFileSync(file)), { columns: true });
  const rejected: Record<string, number> = {};
  // A cancellation (C...) is a return of the units its negative quantity names, otherwise checked as a purchase.
  const isReturn = (r: Record<string, string>) => r.InvoiceNo.startsWith('C');
  const accepted = rows.filter((r) => {
    const reason = !r.CustomerID
      ? 'missing_customer_id'
      : isReturn(r) && Number(r.Quantity) >= 0
        ? 'cancelled_invoice'
        : !isReturn(r) && Number(r.Quantity) <= 0
          ? 'non_positive_quantity'
          : Number(r.UnitPrice) <= 0
            ? 'non_positive_price'
            : !'0123456789'.includes(r.StockCode[0])
              ? 'non_product_stock_code'
              : null;
    if (reason) rejected[reason] = (rejected[reason] ?? 0) + 1;
    return reason === null;
  });
  const kept = accepted.filter((r) => !isReturn(r));
  const returns = accepted.length - kept.length;
  const descriptions = new Map<string, Map<string, number>>();
  for (const r of accepted) {
    const m = descriptions.get(r.StockCode) ?? new Map<string, number>();
    m.set(r.Description.trim(), (m.get(r.Description.trim()) ?? 0) + 1);
    descriptions.set(r.StockCode, m);
  }
  return {
    rowsRead: rows.length,
    accepted: accepted.length,
    purchases: kept.length,
    returns,
    rejected,
    users: new Set(accepted.map((r) => r.CustomerID)).size,
    items: new Set(accepted.map((r) => r.StockCode)).size,
    orders: new Set(kept.map((r) => r.InvoiceNo)).size,
    kept,
    descriptions,
  };
}

const UCI_HEADER = 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country';
const II_HEADER = 'Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country';

// What the sample tests below import: a slice of the bundled sample (writeSampleSlice: every line a cleaning rule rejects
// and every line of the customers whose CustomerID is a multiple of 4, 9,165 of its 39,944 rows). What is checked (the
// rules applied to the raw rows, every kept row stored once, the most frequent title, progress, a re-import adding none)
// does not depend on the file's size, and the slice still fills two 5,000-row batches and three 64 KiB reads; the whole
// sample took a quarter of the suite's import time (four imports of 40,000 rows). The whole sample is imported by the
// Quick start's test (tests/e2e/server-start.test.ts).
// The slice and what the rules make of it, once for both backends (each made it for itself: about a second of reading,
// parsing and gzipping the whole bundled sample, twice).
const sliceDir = mkdtempSync(path.join(tmpdir(), 'import-or-slice-'));
const SAMPLE = writeSampleSlice(path.join(sliceDir, 'online-retail-sample-slice.csv.gz'));
const expected = expectedFromSample(SAMPLE);
afterAll(() => rmSync(sliceDir, { recursive: true, force: true }));

for (const backend of ONE_DB_BACKEND) {
  describe.skipIf(!(await backend.available()))(`Online Retail import on ${backend.name}`, () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'import-or-'));
    const write = (name: string, text: string) => {
      const file = path.join(dir, name);
      writeFileSync(file, text);
      return file;
    };
    // One database for the small files below; each uses its own customers and products and checks
    // what it changed, so they do not see each other.
    let small: TestDb;
    beforeAll(async () => {
      small = await backend.create();
    });
    afterAll(async () => {
      await small.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
    const counts = async (db: Db) => ({ ...(await createEventRepository(db).counts()), ...(await createCatalogRepository(db).counts()) });

    describe('the bundled sample', () => {
      let t: TestDb;
      let first: ImportReport;
      const progress: number[] = [];
      beforeAll(async () => {
        t = await backend.create();
        first = await runImport({ db: t.db }, { format: 'online-retail', path: SAMPLE }, (f) => progress.push(f));
      }, 180_000); // ~9,000 rows into PGlite on a busy two-core machine
      afterAll(() => t.dispose());

      it('When the sample is imported, Then accepted and rejected rows match the cleaning rules applied to the raw rows', () => {
        // toMatchObject would let extra reasons through: compare the rejections whole.
        expect(first.rejected).toEqual(expected.rejected);
        expect(first).toMatchObject({
          rowsRead: expected.rowsRead,
          accepted: expected.accepted,
          returns: expected.returns,
          inserted: expected.accepted,
          duplicates: 0,
          users: expected.users,
          items: expected.items,
          orders: expected.orders,
        });
      });

      it('When the sample is imported, Then the database holds every kept row, customer, product and invoice', async () => {
        expect(await createEventRepository(t.db).counts()).toMatchObject({ purchases: expected.purchases, orders: expected.orders });
        const { rows } = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM return_events');
        expect(rows[0].n).toBe(expected.returns);
        expect(await createCatalogRepository(t.db).counts()).toEqual({ users: expected.users, items: expected.items });
      });

      it('When a product had several descriptions, Then its title is the most frequent one', async () => {
        // Products whose descriptions disagree, with one clear winner, checked against counts made above.
        const contested = [...expected.descriptions].filter(([, m]) => {
          const counts = [...m.values()].sort((a, b) => b - a);
          return counts.length > 1 && counts[0] > counts[1];
        });
        expect(contested.length).toBeGreaterThan(0);
        const items = await createCatalogRepository(t.db).getItems(contested.map(([id]) => id));
        for (const item of items) {
          const [winner] = [...expected.descriptions.get(item.id)!].sort((a, b) => b[1] - a[1])[0];
          expect(item.title).toBe(winner);
        }
      });

      it('When the sample is imported, Then a customer keeps their country and a purchase its invoice, price and UTC time', async () => {
        const row = expected.kept[0];
        expect(await createCatalogRepository(t.db).getUser(row.CustomerID)).toMatchObject({ attributes: { country: row.Country } });
        const purchases = await createEventRepository(t.db).listUserPurchases(row.CustomerID, { limit: 100_000, offset: 0 });
        expect(purchases).toContainEqual(
          expect.objectContaining({ itemId: row.StockCode, orderId: row.InvoiceNo, quantity: Number(row.Quantity), price: Number(row.UnitPrice), ts: `${row.InvoiceDate.replace(' ', 'T')}.000Z` }),
        );
      });

      it('When the sample is imported, Then progress rises to 1', () => {
        expect(progress.length).toBeGreaterThan(1);
        expect(progress.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= progress[i - 1]))).toBe(true);
        expect(progress.at(-1)).toBe(1);
      });

      it('When the same file is imported again, Then no event is added', { timeout: 120_000 }, async () => {
        const second = await runImport({ db: t.db }, { format: 'online-retail', path: SAMPLE });
        expect(second).toMatchObject({ accepted: expected.accepted, inserted: 0, duplicates: expected.accepted });
        expect((await createEventRepository(t.db).counts()).purchases).toBe(expected.purchases);
      });
    });

    it('When identical lines fall into different batches, Then each is kept once and a re-import adds none', async () => {
      const db = small.db;
      const line = '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom';
      const file = write('dupes.csv', [UCI_HEADER, line, line, line, line, line].join('\n'));
      const first = await importOnlineRetail(db, file, undefined, { batchSize: 2 });
      expect(first).toMatchObject({ accepted: 5, inserted: 5, duplicates: 0 });
      const again = await importOnlineRetail(db, file, undefined, { batchSize: 3 });
      expect(again).toMatchObject({ inserted: 0, duplicates: 5 });
      expect(await createEventRepository(db).listUserPurchases('17850', { limit: 10, offset: 0 })).toHaveLength(5);
    });

    it('When the file uses Online Retail II names, float customer ids and xlsx dates, Then it imports the same way', async () => {
      const db = small.db;
      const before = await counts(db);
      const file = write(
        'retail-ii.csv',
        [
          II_HEADER,
          '489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,12/1/2009 7:45,6.95,13085.0,United Kingdom',
          '489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085.0,United Kingdom',
          '489435,22350,CAT BOWL ,12,12/1/2009 7:46,2.55,,United Kingdom', // no customer
          'C489449,22087,PAPER BUNTING WHITE LACE,-12,12/1/2009 10:33,2.95,16321.0,Australia', // cancelled: a return of 12
          'C489450,22087,PAPER BUNTING WHITE LACE,12,12/1/2009 10:34,2.95,16321.0,Australia', // a cancellation taking nothing back
          '489436,22111,SCOTTIE DOG HOT WATER BOTTLE,0,12/1/2009 9:06,4.95,13078.0,United Kingdom', // quantity 0
          '489436,22112,CHOCOLATE HOT WATER BOTTLE,2,12/1/2009 9:06,0,13078.0,United Kingdom', // price 0
          '489436,POST,POSTAGE,1,12/1/2009 9:06,18,13078.0,United Kingdom', // fee
          '489436,22113,GREY HEART HOT WATER BOTTLE,two,12/1/2009 9:06,3.75,13078.0,United Kingdom', // not a number
          '489436,22114,HOT WATER BOTTLE TEA AND SYMPATHY,1.5,12/1/2009 9:06,3.95,13078.0,United Kingdom', // not whole
          '489436,22115,METAL SIGN EMPIRE TEA,1,13/13/2009 9:06,2.95,13078.0,United Kingdom', // month 13 read either way
          '489437,22117,METAL SIGN FUTURE,1,2099-01-01 09:06:00,2.95,13078.0,United Kingdom', // a wrong clock
          '489438,22118,METAL SIGN PAST,1,0001-01-01 00:00:00,2.95,13078.0,United Kingdom', // a default value
          '489436,22116,METAL SIGN CUPCAKE,1,12/1/2009 9:06,2.95,13078.0', // a field short
        ].join('\r\n'),
      );
      const report = await runImport({ db }, { format: 'online-retail', path: file });
      expect(report.rejected).toEqual({
          missing_customer_id: 1,
          cancelled_invoice: 1,
          non_positive_quantity: 1,
          non_positive_price: 1,
          non_product_stock_code: 1,
          malformed_number: 2,
          malformed_date: 1,
          future_date: 1,
          ancient_date: 1,
          malformed_row: 1,
      });
      expect(report).toMatchObject({
        rowsRead: 14,
        accepted: 3,
        returns: 1,
        users: 2,
        items: 3,
        orders: 1,
      });
      const { rows: returned } = await db.query("SELECT user_id, item_id, quantity, order_id FROM return_events WHERE user_id = '16321'");
      expect(returned).toEqual([{ user_id: '16321', item_id: '22087', quantity: 12, order_id: null }]);
      const purchases = await createEventRepository(db).listUserPurchases('13085', { limit: 10, offset: 0 });
      expect(purchases.map((p) => [p.itemId, p.ts, p.price]).sort()).toEqual([
        ['79323P', '2009-12-01T07:45:00.000Z', 6.75],
        ['85048', '2009-12-01T07:45:00.000Z', 6.95],
      ]);
      expect(await createCatalogRepository(db).getItem('85048')).toMatchObject({ title: '15CM CHRISTMAS GLASS BALL 20 LIGHTS', price: 6.95 });
      const after = await counts(db);
      expect([after.users - before.users, after.items - before.items, after.purchases - before.purchases]).toEqual([2, 3, 2]);
    });

    it('When the file switches from CRLF to LF line ends (two exports concatenated), Then the LF rows are read as rows, not lost as one malformed record', async () => {
      const row = (i: number) => `6${String(i).padStart(5, '0')},2${String(i).padStart(4, '0')},THING ${i},1,2011-01-05 10:00:00,1.5,3${i},United Kingdom`;
      const crlf = [UCI_HEADER, row(1), row(2)].join('\r\n') + '\r\n';
      const lf = Array.from({ length: 100 }, (_, k) => row(k + 3)).join('\n') + '\n';
      const report = await importOnlineRetail(small.db, write('mixed-ends.csv', crlf + lf));
      expect(report).toMatchObject({ rowsRead: 102, accepted: 102, rejected: {}, inserted: 102 });
      expect(await createCatalogRepository(small.db).getItem('20102')).toMatchObject({ title: 'THING 102' });
    });

    it('When a purchases file is imported after the catalogue and customers were described, Then it sets only titles, prices and countries it carries (a discontinued item stays unavailable; categories, description, attributes and segments survive)', async () => {
      const catalog = createCatalogRepository(small.db);
      const described = mkdtempSync(path.join(dir, 'described-'));
      writeFileSync(path.join(described, 'items.csv'), 'id,title,description,categories,price,available,brand\n22901,Tea mug,A big mug,kitchen|mugs,3.5,false,Acme\n22902,Tea pot,Round,kitchen,9,true,Acme\n');
      writeFileSync(path.join(described, 'users.csv'), 'id,country,segment\n92901,France,vip\n92902,Spain,new\n');
      await importGeneric(small.db, described);
      // The next month's purchases: 92901's rows have no Country (the file's quirk), 92902 moved; 22901 a new price, 22902 no description.
      const file = write('next-month.csv', [UCI_HEADER, '590001,22901,TEA MUG,2,2011-01-05 10:00:00,3.75,92901,', '590002,22902,,1,2011-01-06 10:00:00,9.5,92902,Portugal'].join('\n') + '\n');
      await importOnlineRetail(small.db, file);
      expect(await catalog.getItem('22901')).toMatchObject({ title: 'TEA MUG', price: 3.75, available: false, categories: ['kitchen', 'mugs'], description: 'A big mug', attributes: { brand: 'Acme' } });
      expect(await catalog.getItem('22902')).toMatchObject({ title: 'Tea pot', price: 9.5, available: true, categories: ['kitchen'], description: 'Round', attributes: { brand: 'Acme' } });
      expect((await catalog.getUser('92901'))?.attributes).toEqual({ country: 'France', segment: 'vip' });
      expect((await catalog.getUser('92902'))?.attributes).toEqual({ country: 'Portugal', segment: 'new' });
    });

    it('When the file writes dates day first (a UK-locale export: 01/12/2010 is 1 December), Then a date only that order reads tells it before anything is written, and every purchase is on its day', async () => {
      const file = write('day-first.csv', [UCI_HEADER, '591001,85199A,HEART,6,01/12/2010 08:26,2.55,93001,United Kingdom', '591002,85199A,HEART,6,13/12/2010 09:00,2.55,93001,United Kingdom'].join('\n') + '\n');
      const report = await importOnlineRetail(small.db, file);
      expect(report).toMatchObject({ rowsRead: 2, accepted: 2, rejected: {} });
      const purchases = await createEventRepository(small.db).listUserPurchases('93001', { limit: 10, offset: 0 });
      expect(purchases.map((p) => p.ts).sort()).toEqual(['2010-12-01T08:26:00.000Z', '2010-12-13T09:00:00.000Z']);
    });

    it('When a month-first file holds one date with a typo (13/1/2011) before its other dates, Then most dates decide the order: the typo is refused as a malformed date and every other purchase is on its day', async () => {
      const rows = Array.from({ length: 150 }, (_, n) => `5913${String(n).padStart(2, '0')},85199D,HEART,1,12/${13 + (n % 18)}/2010 08:26,2.55,934${String(n % 10).padStart(2, '0')},United Kingdom`);
      const file = write('month-first-typo.csv', [UCI_HEADER, '591300,85199D,HEART,1,13/1/2011 08:26,2.55,93499,United Kingdom', '591399,85199D,HEART,1,12/1/2010 08:26,2.55,93499,United Kingdom', ...rows].join('\n') + '\n');
      const report = await importOnlineRetail(small.db, file);
      expect(report).toMatchObject({ rowsRead: 152, accepted: 151, rejected: { malformed_date: 1 } });
      const purchases = await createEventRepository(small.db).listUserPurchases('93499', { limit: 10, offset: 0 });
      expect(purchases.map((p) => p.ts)).toEqual(['2010-12-01T08:26:00.000Z']);
    });

    it("When a file's dates read both ways, Then the import is refused asking for the order, before anything is written", async () => {
      const before = await counts(small.db);
      const file = write('mixed-dates.csv', [UCI_HEADER, '591501,85199E,HEART,1,12/13/2010 08:26,2.55,93501,United Kingdom', '591502,85199E,HEART,1,13/12/2010 08:26,2.55,93502,United Kingdom', '591503,85199E,HEART,1,12/14/2010 08:26,2.55,93503,United Kingdom', '591504,85199E,HEART,1,14/12/2010 08:26,2.55,93504,United Kingdom'].join('\n') + '\n');
      const failure = await importOnlineRetail(small.db, file).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(AppError);
      expect((failure as AppError).code).toBe('UNPROCESSABLE');
      expect((failure as AppError).message).toMatch(/both ways.*dateOrder/);
      expect(await counts(small.db)).toEqual(before);
    });

    it('When the date order is given, Then it is used whatever the dates say: a file none of whose dates tells is read as told, and a date the order cannot read is malformed', async () => {
      const ambiguous = write('ambiguous.csv', [UCI_HEADER, '591101,85199B,HEART,1,01/12/2010 08:26,2.55,93101,United Kingdom', '591102,85199B,HEART,1,07/12/2010 08:26,2.55,93101,United Kingdom'].join('\n') + '\n');
      await importOnlineRetail(small.db, ambiguous, undefined, { dateOrder: 'dmy' });
      const purchases = await createEventRepository(small.db).listUserPurchases('93101', { limit: 10, offset: 0 });
      expect(purchases.map((p) => p.ts).sort()).toEqual(['2010-12-01T08:26:00.000Z', '2010-12-07T08:26:00.000Z']);
      const told = write('told-mdy.csv', [UCI_HEADER, '591201,85199C,HEART,1,12/1/2010 08:26,2.55,93201,United Kingdom', '591202,85199C,HEART,1,13/12/2010 09:00,2.55,93201,United Kingdom'].join('\n') + '\n');
      const report = await runImport({ db: small.db }, { format: 'online-retail', path: told, dateOrder: 'mdy' });
      expect(report).toMatchObject({ rowsRead: 2, accepted: 1, rejected: { malformed_date: 1 } });
    });

    // Before, the rows read before the broken line were stored, but their products were left untitled and
    // unpriced and their customers without a country (those are written at the end).
    // The parser fails on the record before it reaches the database (32 MiB through csv-parse, 2.4 s of CPU a backend),
    // and what the import then writes is what it writes after any line it cannot read past (the same catch), which the
    // quote never closed below checks too.
    it('When a line has no end for more than any row can hold, Then the import fails naming it instead of reading the rest of the file as one field, and the rows before it are stored', async () => {
      const endless = `592013,85211C,${'X'.repeat(RECORD_MAX_CHARS + 10)}`;
      const file = write('endless-line.csv', [UCI_HEADER, '592011,85211A,BLUE ENAMEL BOWL,2,2010-12-01 08:26:00,3.25,93711,France', endless, '592012,85211B,RED BOWL,1,2010-12-02 09:00:00,7.5,93712,Spain'].join('\n') + '\n');
      await expect(importOnlineRetail(small.db, file)).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^endless-line\.csv: the record at line 3 \(data row 2\) is longer than a record may be/) });
      const items = await createCatalogRepository(small.db).getItems(['85211A', '85211B']);
      expect(items.map((i) => [i.id, i.title])).toEqual([['85211A', 'BLUE ENAMEL BOWL']]);
    }, 120_000); // 32 MiB through csv-parse: 2.2-2.5 s of CPU, past 30 s of wall at load 27-33

    it('When a line cannot be read (a quote never closed), Then the import fails naming it, and the rows before it are stored with their titles, prices and countries', async () => {
      const file = write(
        'broken-quote.csv',
        [UCI_HEADER, '592001,85201A,BLUE ENAMEL MUG,2,2010-12-01 08:26:00,3.25,93701,France', '592002,85201B,RED ENAMEL JUG,1,2010-12-02 09:00:00,7.5,93702,Germany', '592003,85201C,"GREEN POT,1,2010-12-03 10:00:00,4,93703,Spain'].join('\n') + '\n',
      );
      await expect(importOnlineRetail(small.db, file)).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/line 4.*never closed/) });
      const catalog = createCatalogRepository(small.db);
      const items = await catalog.getItems(['85201A', '85201B', '85201C']);
      expect(items.map((i) => [i.id, i.title, i.price]).sort()).toEqual([
        ['85201A', 'BLUE ENAMEL MUG', 3.25],
        ['85201B', 'RED ENAMEL JUG', 7.5],
      ]);
      const users = await catalog.getUsers(['93701', '93702', '93703']);
      expect(users.map((u) => [u.id, u.attributes.country]).sort()).toEqual([
        ['93701', 'France'],
        ['93702', 'Germany'],
      ]);
    });

    it('When the header is not an Online Retail header, Then the import fails naming the expected columns and writes nothing', async () => {
      const db = small.db;
      const before = await counts(db);
      const file = write('wrong.csv', 'order,sku,qty\n536365,85123A,6\n');
      const failure = await runImport({ db }, { format: 'online-retail', path: file }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(AppError);
      expect(failure).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringContaining('InvoiceNo,StockCode') });
      expect(await counts(db)).toEqual(before);
    });

    it('When the file has no header line, Then the error names the columns it lacks and how many fields its first line has, and no value of that line', async () => {
      const db = small.db;
      const before = await counts(db);
      const file = write('headless.csv', '536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n');
      const failure = (await runImport({ db }, { format: 'online-retail', path: file }).catch((e: unknown) => e)) as AppError;
      expect(failure).toMatchObject({ code: 'UNPROCESSABLE' });
      expect(failure.message).toContain('its first line (8 fields) lacks the columns InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country of Online Retail');
      for (const value of ['536365', '85123A', 'WHITE HANGING', '17850', 'United Kingdom']) expect(failure.message).not.toContain(value);
      // A header with a column missing: only that one is named for the layout it is closest to.
      const partial = write('no-country.csv', 'InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n536365,85123A,MUG,6,12/1/2010 8:26,2.55,17850\n');
      await expect(runImport({ db }, { format: 'online-retail', path: partial })).rejects.toThrow(/lacks the columns Country of Online Retail; Invoice, Price, Country of Online Retail II/);
      expect(await counts(db)).toEqual(before);
    });

    it('When the header names the columns otherwise, Then the error says the first line must be a header with the expected names, points at the likely columns by place, and quotes no name of that line', async () => {
      const file = write('renamed.csv', 'Invoice No,Stock Code,Description,Qty,Invoice Date,Unit Price,Customer,Country\n536365,85123A,MUG,6,12/1/2010 8:26,2.55,17850,United Kingdom\n');
      const failure = (await runImport({ db: small.db }, { format: 'online-retail', path: file }).catch((e: unknown) => e)) as AppError;
      expect(failure).toMatchObject({ code: 'UNPROCESSABLE' });
      expect(failure.message).not.toContain('header line missing');
      expect(failure.message).toMatch(/^renamed\.csv: not an Online Retail file: its first line \(8 fields\) lacks the columns Quantity, CustomerID of Online Retail; .*; it must be a header naming at least /);
      expect(failure.message).toContain('add that line if the file begins with a data row, or rename the columns holding them (column 4 may be Quantity, column 7 CustomerID)');
      for (const name of ['Qty', 'Customer,', 'Unit Price', 'Invoice No', 'Stock Code']) expect(failure.message).not.toContain(name);
    });

    it('When the path is missing or a directory, Then the import fails saying so', async () => {
      await expect(runImport({ db: small.db }, { format: 'online-retail', path: path.join(dir, 'nope.csv') })).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringContaining('does not exist') });
      await expect(runImport({ db: small.db }, { format: 'online-retail', path: dir })).rejects.toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringContaining('is not a file') });
    });

    it('When the file is empty, Then the import fails with a clear message', async () => {
      const db = small.db;
      const before = await counts(db);
      const file = write('empty.csv', '');
      await expect(runImport({ db }, { format: 'online-retail', path: file })).rejects.toThrow(/empty/);
      expect(await counts(db)).toEqual(before);
    });
  });
}
