import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { readCsvRecords } from '../../src/data/importers/csv-source.js';
import { normalizeCustomerId } from '../../src/data/importers/field-parsers.js';
import { detectOnlineRetailColumns } from '../../src/data/importers/online-retail-importer.js';

const csvCell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * Writes `copies` disjoint copies of the Online Retail file as one gzip CSV: copy 0 as it is, copy c with
 * its customers, stock codes and invoices re-keyed. Rejected rows are copied too (re-keyed the same way,
 * so they are rejected for the same reason), so the importer does N times the work of one file.
 */
export async function writeCopies(source: string, copies: number, out: string): Promise<void> {
  const records: string[][] = [];
  for await (const rec of readCsvRecords(source)) records.push(rec);
  const header = records[0];
  const col = detectOnlineRetailColumns(header);
  const rekey = (rec: string[], c: number): string[] => {
    if (c === 0) return rec;
    const r = rec.slice();
    r[col.invoice] = `${rec[col.invoice].trim()}-c${c}`;
    r[col.stockCode] = `${rec[col.stockCode].trim()}-c${c}`;
    const customer = normalizeCustomerId(rec[col.customer]);
    r[col.customer] = customer ? `c${c}-${customer}` : '';
    return r;
  };
  const gzip = createGzip({ level: 1 });
  const file = createWriteStream(out);
  gzip.pipe(file);
  let buffer = `${header.map(csvCell).join(',')}\n`;
  const flush = async () => {
    if (!gzip.write(buffer)) await once(gzip, 'drain');
    buffer = '';
  };
  // Rows of one invoice are consecutive in the file: its copies follow each other, so the file stays in time order.
  let start = 1;
  while (start < records.length) {
    let end = start + 1;
    while (end < records.length && records[end][col.invoice] === records[start][col.invoice]) end++;
    for (let c = 0; c < copies; c++) {
      for (let r = start; r < end; r++) buffer += `${rekey(records[r], c).map(csvCell).join(',')}\n`;
    }
    if (buffer.length > 1 << 20) await flush();
    start = end;
  }
  await flush();
  gzip.end();
  await once(file, 'close');
}
