import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { BUNDLED_SAMPLE_PATH } from '../../src/data/importers/run-import.js';

/**
 * Writes to `file` a slice of the bundled sample (sample/online-retail-sample.csv.gz), gzipped as it is, its lines
 * unaltered and in their order: every line a cleaning rule rejects (so each reason the sample holds is met: 958
 * without a customer, 214 non-product codes, 7 non-positive prices) and of the others those of the customers whose
 * CustomerID is a multiple of `every` (4: 9,165 of its 39,944 rows) dated on or after `from` (an ISO date: the
 * sample's InvoiceDate is written `2010-12-01 08:26:00`). Returns `file`.
 */
export function writeSampleSlice(file: string, { every = 4, from = '' }: { every?: number; from?: string } = {}): string {
  const lines = gunzipSync(readFileSync(BUNDLED_SAMPLE_PATH)).toString('utf8').split('\n');
  // One line per row in this file (no quoted line break): row k is line k + 1.
  const rows: string[][] = parse(lines.join('\n'));
  if (rows.length !== lines.filter((l) => l !== '').length) throw new Error('the bundled sample has a row over several lines: pick its rows otherwise');
  const kept = lines.filter((line, k) => {
    if (k === 0) return true;
    if (line === '') return false;
    const [invoice, code, , quantity, date, price, customer] = rows[k];
    const cancelled = invoice.startsWith('C');
    const rejected = !customer || (cancelled ? Number(quantity) >= 0 : Number(quantity) <= 0) || Number(price) <= 0 || !'0123456789'.includes(code[0]);
    return rejected || (Number(customer) % every === 0 && date >= from);
  });
  writeFileSync(file, gzipSync(kept.join('\n') + '\n'));
  return file;
}
