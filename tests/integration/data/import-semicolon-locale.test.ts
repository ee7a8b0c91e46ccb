import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCatalogRepository } from '../../../src/data/catalog-repository.js';
import { checkImportInput, runImport } from '../../../src/data/importers/run-import.js';
import { createPostgresTestDb, POSTGRES_URL, serviceAvailable, type TestDb } from '../../helpers/services.js';

/**
 * Excel and LibreOffice in many European locales save CSV with `;` between fields and `,` as the decimal mark, often
 * with a UTF-8 BOM and CRLF line ends. Read with `,`, such a file's header is one column: every import refused it.
 */
const root = mkdtempSync(path.join(tmpdir(), 'import-semicolon-'));
let dirs = 0;
/** A spreadsheet's save: a BOM, then the lines ended by CRLF. */
const excel = (lines: string[]) => `\uFEFF${lines.join('\r\n')}\r\n`;
function directory(files: Record<string, string>): string {
  const dir = path.join(root, `d${dirs++}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
const failure = (p: Promise<unknown>) => p.then(() => ({ code: 'none', message: '' }), (err: { code?: string; message?: string }) => ({ code: err.code, message: err.message ?? '' }));

describe.skipIf(!(await serviceAvailable(POSTGRES_URL)))('a spreadsheet saved in a locale writing 2,55 (fields separated by ;)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createPostgresTestDb();
  });
  afterAll(async () => {
    await t?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('When a generic directory of ; files is imported, Then items, users and events are stored with their decimal commas read as numbers', async () => {
    const dir = directory({
      'items.csv': excel(['id;title;price;colour', 'sc-mug;Mug, large;2,55;blue', 'sc-pot;"Pot; clay";12;red', 'sc-vase;Vase;0,5;']),
      'users.csv': excel(['id;country;segment', 'sc-ann;DE;retail, north', 'sc-bob;FR;wholesale']),
      'events.csv': excel([
        'type;user_id;item_id;quantity;price;order_id;value;ts',
        'purchase;sc-ann;sc-mug;2;2,55;o-1;;2024-03-01T10:00:00Z',
        'purchase;sc-bob;sc-pot;1;12.5;o-2;;2024-03-02T10:00:00Z',
        'rating;sc-ann;sc-vase;;;;4,5;2024-03-03T10:00:00Z',
      ]),
    });
    const report = await runImport({ db: t.db }, { format: 'generic', path: dir });
    expect(report).toMatchObject({ rowsRead: 8, accepted: 8, rejected: {}, inserted: 3 });
    const catalog = createCatalogRepository(t.db);
    const items = Object.fromEntries((await catalog.getItems(['sc-mug', 'sc-pot', 'sc-vase'])).map((i) => [i.id, i]));
    expect(items['sc-mug']).toMatchObject({ title: 'Mug, large', price: 2.55, attributes: { colour: 'blue' } });
    expect(items['sc-pot']).toMatchObject({ title: 'Pot; clay', price: 12 });
    expect(items['sc-vase']).toMatchObject({ price: 0.5 });
    const users = Object.fromEntries((await catalog.getUsers(['sc-ann', 'sc-bob'])).map((u) => [u.id, u.attributes]));
    expect(users).toEqual({ 'sc-ann': { country: 'DE', segment: 'retail, north' }, 'sc-bob': { country: 'FR', segment: 'wholesale' } });
    const { rows: purchases } = await t.db.query<{ item_id: string; quantity: number; price: number }>(
      "SELECT item_id, quantity, price FROM purchase_events WHERE user_id IN ('sc-ann', 'sc-bob') ORDER BY item_id",
    );
    expect(purchases).toEqual([{ item_id: 'sc-mug', quantity: 2, price: 2.55 }, { item_id: 'sc-pot', quantity: 1, price: 12.5 }]);
    const { rows: ratings } = await t.db.query<{ value: number }>("SELECT value FROM interaction_events WHERE user_id = 'sc-ann'");
    expect(ratings).toEqual([{ value: 4.5 }]);
  });

  it('When an Online Retail file is saved from a German spreadsheet (;, 2,55, 01.12.2010 08:26), Then its purchases, prices, titles and countries are stored', async () => {
    const file = path.join(directory({}), 'retail.csv');
    writeFileSync(file, excel([
      'InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country',
      '536365;85123A;WHITE HANGING HEART T-LIGHT HOLDER;6;01.12.2010 08:26;2,55;17850,0;United Kingdom',
      '536365;71053;WHITE METAL LANTERN;6;01.12.2010 08:26;3,39;17850;United Kingdom',
      'C536379;85123A;WHITE HANGING HEART T-LIGHT HOLDER;-1;01.12.2010 09:41;2,55;17850;United Kingdom',
      '536366;22633;HAND WARMER UNION JACK;12;13.12.2010 08:28;1,85;13047;France',
    ]));
    const report = await runImport({ db: t.db }, { format: 'online-retail', path: file });
    expect(report).toMatchObject({ rowsRead: 4, accepted: 4, rejected: {}, returns: 1, users: 2, items: 3, orders: 2 });
    const { rows } = await t.db.query<{ user_id: string; item_id: string; quantity: number; price: number; ts: Date }>(
      "SELECT user_id, item_id, quantity, price, ts FROM purchase_events WHERE user_id IN ('17850', '13047') ORDER BY ts, item_id",
    );
    expect(rows.map((r) => ({ ...r, ts: r.ts.toISOString() }))).toEqual([
      { user_id: '17850', item_id: '71053', quantity: 6, price: 3.39, ts: '2010-12-01T08:26:00.000Z' },
      { user_id: '17850', item_id: '85123A', quantity: 6, price: 2.55, ts: '2010-12-01T08:26:00.000Z' },
      { user_id: '13047', item_id: '22633', quantity: 12, price: 1.85, ts: '2010-12-13T08:28:00.000Z' },
    ]);
    const catalog = createCatalogRepository(t.db);
    expect((await catalog.getItems(['22633']))[0]).toMatchObject({ title: 'HAND WARMER UNION JACK', price: 1.85 });
    expect((await catalog.getUsers(['13047']))[0].attributes).toEqual({ country: 'France' });
  });

  it('When an Online Retail file is saved with ; by pandas (points, 0.001 on a PADS row), Then it imports whole, the PADS row refused by its rule', async () => {
    // The real file saved so stopped at data row 157,196 (550193;PADS;...;0.001), its earlier rows stored.
    const file = path.join(directory({}), 'retail-pandas.csv');
    writeFileSync(file, [
      'InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country',
      '550190;22633;HAND WARMER UNION JACK;12;2011-04-15 09:20:00;1.85;13952.0;United Kingdom',
      '550193;PADS;PADS TO MATCH ALL CUSHIONS;1;2011-04-15 09:27:00;0.001;13952.0;United Kingdom',
      '550194;22634;HAND WARMER BIRD;2;2011-04-15 09:30:00;1234.567;13952.0;United Kingdom',
    ].join('\n'));
    const report = await runImport({ db: t.db }, { format: 'online-retail', path: file });
    expect(report).toMatchObject({ rowsRead: 3, accepted: 2, rejected: { non_product_stock_code: 1 } });
    const { rows } = await t.db.query<{ item_id: string; price: number }>("SELECT item_id, price FROM purchase_events WHERE user_id = '13952' ORDER BY item_id");
    expect(rows).toEqual([{ item_id: '22633', price: 1.85 }, { item_id: '22634', price: 1234.567 }]);
  });

  it('When a comma-separated file has a price that is not a number, Then the row is refused as before, and the rest imported', async () => {
    const dir = directory({ 'items.csv': ['id,title,price', 'cm-a,A,2.5', 'cm-b,B,"2,55"', 'cm-c,C,3'].join('\n') });
    const report = await runImport({ db: t.db }, { format: 'generic', path: dir });
    expect(report).toMatchObject({ accepted: 2, rejected: { 'items.bad_number': 1 }, rejectedRows: { 'items.bad_number': [2] } });
  });

  it('When a ; file writes a number with a thousands separator in its first rows, Then the submission check refuses it naming the row and column, and nothing is stored', async () => {
    const dir = directory({ 'items.csv': excel(['id;title;price', 'ts-a;A;2,55', 'ts-b;B;1.234,56', 'ts-c;C;3']) });
    const message = /^items\.csv: data row 2, column 3 \(price\) is not a number\. .*nothing was imported/;
    expect(await failure(checkImportInput({ format: 'generic', path: dir }))).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message) });
    expect(await failure(runImport({ db: t.db }, { format: 'generic', path: dir }))).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(message) });
    expect(await createCatalogRepository(t.db).getItems(['ts-a', 'ts-b', 'ts-c'])).toEqual([]);
  });

  it('When a ; events file has a price that is not a number past the rows checked first, Then the import stops at its row: the rows before it are stored, none from it on', async () => {
    const good = Array.from({ length: 30 }, (_, k) => `late-u${k};late-i;1;2,5;2024-03-01T10:00:00Z`);
    const dir = directory({
      'events.csv': excel(['user_id;item_id;quantity;price;ts', ...good, 'late-bad;late-i;1;2,50 €;2024-03-01T10:00:00Z', 'late-after;late-i;1;2,5;2024-03-01T10:00:00Z']),
    });
    await expect(checkImportInput({ format: 'generic', path: dir })).resolves.toBeUndefined();
    const outcome = await failure(runImport({ db: t.db }, { format: 'generic', path: dir }, undefined));
    expect(outcome).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^events\.csv: data row 31, column 4 \(price\) is not a number\. .*the rows before it are imported, none from it on/) });
    const { rows } = await t.db.query<{ user_id: string; price: number }>("SELECT user_id, price FROM purchase_events WHERE item_id = 'late-i'");
    expect(rows).toHaveLength(30);
    expect(new Set(rows.map((r) => r.price))).toEqual(new Set([2.5]));
    expect(rows.map((r) => r.user_id)).not.toContain('late-after');
  });

  it('When a ; Online Retail file has a quantity that is not a number, Then the import names its row and column, and stores the rows before it only', async () => {
    const file = path.join(directory({}), 'retail-bad.csv');
    const good = Array.from({ length: 25 }, (_, k) => `58${String(k).padStart(4, '0')};22633;HAND WARMER;1;01.12.2010 08:26;1,85;4${String(k).padStart(4, '0')};France`);
    writeFileSync(file, excel([
      'Invoice;StockCode;Description;Quantity;InvoiceDate;Price;Customer ID;Country',
      ...good,
      '589999;22633;HAND WARMER;1.000;01.12.2010 08:26;1,85;49999;France',
      '589998;22633;HAND WARMER;1;01.12.2010 08:26;1,85;49998;France',
    ]));
    const outcome = await failure(runImport({ db: t.db }, { format: 'online-retail', path: file }));
    expect(outcome).toMatchObject({ code: 'UNPROCESSABLE', message: expect.stringMatching(/^retail-bad\.csv: data row 26, column 4 \(Quantity\) is not a number/) });
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE user_id LIKE '4%' AND item_id = '22633'");
    expect(rows[0].n).toBe(25);
    // The rows before it have their product and customer described, as for a line the import cannot read.
    expect((await createCatalogRepository(t.db).getItems(['22633']))[0]).toMatchObject({ price: 1.85 });
  });
  it('When a ; Online Retail row refused for its quantity has a UnitPrice that is not a number, Then the row is counted refused and the import goes on', async () => {
    // A row is refused under the first rule it breaks: its UnitPrice is read only once its Quantity passed. One such row
    // within the rows checked before the import, one past them (the import's own reading).
    const file = path.join(directory({}), 'retail-refused-price.csv');
    const good = Array.from({ length: 25 }, (_, k) => `57${String(k).padStart(4, '0')};22633;HAND WARMER;1;01.12.2010 08:26;1,85;3${String(k).padStart(4, '0')};France`);
    writeFileSync(file, excel([
      'InvoiceNo;StockCode;Description;Quantity;InvoiceDate;UnitPrice;CustomerID;Country',
      '579990;22633;HAND WARMER;0;01.12.2010 08:26;n/a;39990;France',
      ...good,
      'C579991;22633;HAND WARMER;2;01.12.2010 09:26;2,50 €;39991;France',
      '579992;22633;HAND WARMER;2000000;01.12.2010 09:26;1.234,56;39992;France',
      '579993;22633;HAND WARMER;3;01.12.2010 10:26;1,85;39993;France',
    ]));
    await expect(checkImportInput({ format: 'online-retail', path: file })).resolves.toBeUndefined();
    const report = await runImport({ db: t.db }, { format: 'online-retail', path: file });
    expect(report).toMatchObject({ rowsRead: 29, accepted: 26, rejected: { non_positive_quantity: 1, cancelled_invoice: 1, quantity_too_large: 1 } });
    const { rows } = await t.db.query<{ n: number }>("SELECT count(*)::int AS n FROM purchase_events WHERE user_id LIKE '3%' AND item_id = '22633'");
    expect(rows[0].n).toBe(26);
  });
  // The delimiter was told from the header line alone, by the one that splits it into more fields (a tie: `,`). A
  // header whose names hold the other delimiter was read with the wrong one, and refused as lacking its columns.
  it('When a , file has a column name holding more ; than its header has , (size; colour; fit; care), Then the rows below tell , and it imports', async () => {
    const dir = directory({
      'items.csv': ['id,title,size; colour; fit; care', 'sd-m1,Shirt,L / red / slim / 30 C', 'sd-m2,"Trousers, linen",M / blue / wide / 40 C', 'sd-m3,Scarf,one size'].join('\n'),
    });
    await expect(checkImportInput({ format: 'generic', path: dir })).resolves.toBeUndefined();
    const report = await runImport({ db: t.db }, { format: 'generic', path: dir });
    expect(report).toMatchObject({ accepted: 3, rejected: {}, attributeColumns: [{ file: 'items.csv', column: 3, name: 'size; colour; fit; care' }] });
    const items = Object.fromEntries((await createCatalogRepository(t.db).getItems(['sd-m1', 'sd-m2'])).map((i) => [i.id, i]));
    expect(items['sd-m1']).toMatchObject({ title: 'Shirt', attributes: { 'size; colour; fit; care': 'L / red / slim / 30 C' } });
    expect(items['sd-m2']).toMatchObject({ title: 'Trousers, linen' });
  });

  it('When a ; file has a column name holding a , (as many , as ;), Then the rows below tell ; and it imports', async () => {
    const dir = directory({ 'users.csv': excel(['id;Name, first;country', 'sd-u1;Max;DE', 'sd-u2;Anna;AT']) });
    const dir2 = directory({ 'users.csv': excel(['id;Name, first', 'sd-u3;Max', 'sd-u4;Anna']) });
    for (const d of [dir, dir2]) await expect(checkImportInput({ format: 'generic', path: d })).resolves.toBeUndefined();
    expect(await runImport({ db: t.db }, { format: 'generic', path: dir })).toMatchObject({ accepted: 2, rejected: {} });
    expect(await runImport({ db: t.db }, { format: 'generic', path: dir2 })).toMatchObject({ accepted: 2, rejected: {} });
    const users = await createCatalogRepository(t.db).getUsers(['sd-u1', 'sd-u4']);
    expect(Object.fromEntries(users.map((u) => [u.id, u.attributes]))).toEqual({ 'sd-u1': { 'Name, first': 'Max', country: 'DE' }, 'sd-u4': { 'Name, first': 'Anna' } });
  });

  // ad2fc5fe told a header splitting both ways by its first 20 rows, taking the other delimiter as soon as one row read
  // with the header's had another length: a file that imported (its odd row refused alone) was refused whole for lacking
  // its columns. The rows overrule the header only when its delimiter misreads most of them.
  it('When a header splits both ways and one row below has another length, Then the header\'s delimiter stands and the file imports', async () => {
    // A ; file (decimal commas) whose second row lacks its trailing cell (refused alone): read with , every row has 2 fields.
    const semicolon = directory({ 'items.csv': excel(['id;title;price;Size, EU', 'sr-m1;Shirt;2,55;42', 'sr-m2;Scarf;3,10', 'sr-m3;Hat;1,50;40']) });
    // A , file with one row holding a field too many: read with ; every row has 2 fields.
    const comma = directory({ 'items.csv': ['id,title,size; colour', 'sr-m4,Shirt,M; blue', 'sr-m5,Scarf,one; size', 'sr-m6,Hat,S; red,extra', 'sr-m7,Mug,L; red'].join('\n') });
    for (const d of [semicolon, comma]) await expect(checkImportInput({ format: 'generic', path: d })).resolves.toBeUndefined();
    expect(await runImport({ db: t.db }, { format: 'generic', path: semicolon })).toMatchObject({ accepted: 2, rejected: { 'items.malformed_row': 1 } });
    expect(await runImport({ db: t.db }, { format: 'generic', path: comma })).toMatchObject({ accepted: 3, rejected: { 'items.malformed_row': 1 } });
    const items = Object.fromEntries((await createCatalogRepository(t.db).getItems(['sr-m1', 'sr-m4', 'sr-m7'])).map((i) => [i.id, i]));
    expect(items['sr-m1']).toMatchObject({ title: 'Shirt', price: 2.55, attributes: { 'Size, EU': '42' } });
    expect(items['sr-m4']).toMatchObject({ title: 'Shirt', attributes: { 'size; colour': 'M; blue' } });
    expect(items['sr-m7']).toMatchObject({ title: 'Mug' });
  });
});
