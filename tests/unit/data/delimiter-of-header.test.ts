import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sniffDelimiter } from '../../../src/data/importers/csv-source.js';

/**
 * A file's delimiter is told from its header line (`;` files of spreadsheets saved in a locale writing 2,55). A `,`
 * file a user imported before must be read as before: these are the `,` files whose lines hold a `;` too.
 */
describe('the delimiter told from a header line (sniffDelimiter)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sniff-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('When a , file quotes a ; in its header or rows, has one column, or a header with as many ; as , , Then it is read with ,', async () => {
    expect(await sniffDelimiter(file('quoted.csv', 'id,"size;colour",title\nm1,"L;red","Pot; clay"\n'))).toBe(',');
    expect(await sniffDelimiter(file('one.csv', 'id\nab;cd\n'))).toBe(',');
    expect(await sniffDelimiter(file('both.csv', 'id,title,size;colour;weight\nm1,Mug,L;red;300\n'))).toBe(',');
  });

  it('When a spreadsheet saved the header with ; (a BOM, CRLF, a quoted name, a , in a name), Then it is read with ;', async () => {
    expect(await sniffDelimiter(file('excel.csv', '\uFEFFid;title;price\r\nm1;"Mug; big";2,55\r\n'))).toBe(';');
    expect(await sniffDelimiter(file('quoted-names.csv', '"InvoiceNo";"StockCode";"Description"\r\n'))).toBe(';');
    expect(await sniffDelimiter(file('comma-name.csv', 'id;Name, first;country\nu1;Max;DE\n'))).toBe(';');
  });
});
