import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataRowNumbers, readCsvRecords, sniffDelimiter } from '../data/importers/csv-source.js';
import { normalizeCustomerId, parseRetailDate, type DateOrder } from '../data/importers/field-parsers.js';
import { NotANumber, numberReader } from '../data/importers/number-cells.js';
import { detectDateOrder, detectOnlineRetailColumns, notANumberAt, numberRules } from '../data/importers/online-retail-importer.js';
import type { ReturnLine } from '../data/return-allocation.js';
import type { ItemInfo, PurchaseRow, UserInfo } from '../recommenders/dataset.js';

/** Where this repository's developers keep the file: beside the repository, in shared/ (see bench/README.md). */
export const DEFAULT_ONLINE_RETAIL_RELATIVE = '../shared/datasets/online-retail/online-retail.csv.gz';

/** The repository root (this file is src/cli/ or, built, dist/cli/). */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The UCI Online Retail file benchmarks and `npm run tune` read when no path is given:
 * `ONLINE_RETAIL_CSV` if set, else DEFAULT_ONLINE_RETAIL_RELATIVE resolved against the repository root.
 */
export function defaultOnlineRetailPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.ONLINE_RETAIL_CSV || path.resolve(REPO_ROOT, DEFAULT_ONLINE_RETAIL_RELATIVE);
}

/** defaultOnlineRetailPath() when this module was loaded. */
export const ONLINE_RETAIL_PATH = defaultOnlineRetailPath();

/** Most frequent value per key; the first seen wins a tie (as the importer does). */
function modes(counts: Map<string, Map<string, number>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, byValue] of counts) {
    let best = '';
    let n = 0;
    for (const [v, c] of byValue) if (c > n) [best, n] = [v, c];
    out.set(key, best);
  }
  return out;
}

function count(counts: Map<string, Map<string, number>>, key: string, value: string): void {
  let byValue = counts.get(key);
  if (!byValue) counts.set(key, (byValue = new Map()));
  byValue.set(value, (byValue.get(value) ?? 0) + 1);
}

/**
 * Reads UCI Online Retail into evaluation input straight from the CSV, with the importer's column
 * detection, field parsers and cleaning rules (no customer, cancelled, quantity or price <= 0,
 * non-product stock code), and the same catalogue: title = most frequent description, price = latest,
 * country = most frequent; slashed dates in the order the importer tells from the file (detectDateOrder).
 * Benchmarks use it so they need no database. `returns`: the cancellation lines the importer stores as returns
 * (customer, product stock code, a negative whole quantity, a date), for a benchmark to take off the purchases
 * (data/return-allocation.ts netOfReturns); `events` are gross of them.
 */
export async function loadOnlineRetail(path = ONLINE_RETAIL_PATH, order?: DateOrder): Promise<{ events: PurchaseRow[]; items: ItemInfo[]; users: UserInfo[]; returns: ReturnLine[] }> {
  // A `;` file (a spreadsheet saved in a locale writing 2,55) is read as the importer reads it, by its rules: a cell that
  // is not a number stops the reading at its row, as it stops the import (numberRules, the import's contract), rather
  // than tuning on a file the import would store only in part.
  const delimiter = await sniffDelimiter(path);
  const decimalComma = delimiter === ';';
  const num = numberReader(delimiter);
  const dateOrder = order ?? (await detectDateOrder(path, {}, delimiter));
  const events: PurchaseRow[] = [];
  const returns: ReturnLine[] = [];
  const titles = new Map<string, Map<string, number>>();
  const countries = new Map<string, Map<string, number>>();
  const latestPrice = new Map<string, { ts: number; price: number }>();
  let col: ReturnType<typeof detectOnlineRetailColumns> | null = null;
  let header: string[] = [];
  const rows = dataRowNumbers();
  let lastDateCell: string | undefined;
  let lastTs = Number.NaN;
  for await (const rec of readCsvRecords(path, { delimiter, onSkip: (readBefore) => void rows.skipped(readBefore) })) {
    const row = rows.next();
    if (!col) {
      col = detectOnlineRetailColumns(rec);
      header = rec;
      continue;
    }
    const invoice = rec[col.invoice]?.trim();
    const userId = normalizeCustomerId(rec[col.customer], decimalComma);
    // The rules checked before the numbers (malformed_row, missing_customer_id): the numbers of such a row are not read.
    if (rec.length !== header.length || !invoice || !userId) continue;
    let numbers;
    try {
      numbers = numberRules(rec, col, num, invoice.startsWith('C'));
    } catch (err) {
      if (!(err instanceof NotANumber)) throw err;
      throw notANumberAt(path, row, col, header, err, false, 'npm run import stops at this row, so nothing is read from the file: mend it, then import or tune on it');
    }
    if ('reject' in numbers) continue;
    const { quantity, price } = numbers;
    if (invoice.startsWith('C')) {
      const itemId = rec[col.stockCode].trim();
      if (!/^[0-9]/.test(itemId)) continue;
      const ts = parseRetailDate(rec[col.date], dateOrder)?.getTime();
      if (ts !== undefined) returns.push({ userId, itemId, quantity, orderId: null, ts });
      continue;
    }
    const itemId = rec[col.stockCode].trim();
    if (!/^[0-9]/.test(itemId)) continue;
    if (rec[col.date] !== lastDateCell) {
      lastDateCell = rec[col.date];
      lastTs = parseRetailDate(lastDateCell, dateOrder)?.getTime() ?? Number.NaN;
    }
    if (Number.isNaN(lastTs)) continue;
    events.push({ userId, itemId, orderId: invoice, ts: lastTs, quantity, price });
    const description = rec[col.description]?.trim();
    if (description) count(titles, itemId, description);
    const country = rec[col.country]?.trim();
    if (country) count(countries, userId, country);
    const last = latestPrice.get(itemId);
    if (!last || lastTs >= last.ts) latestPrice.set(itemId, { ts: lastTs, price });
  }
  const title = modes(titles);
  const country = modes(countries);
  const items: ItemInfo[] = [...latestPrice].map(([id, p]) => ({
    id, title: title.get(id) ?? '', description: null, categories: [], price: p.price, attributes: {}, available: true,
  }));
  const users: UserInfo[] = [...new Set(events.map((e) => e.userId))].map((id) => {
    const c = country.get(id);
    return { id, attributes: c ? { country: c } : {} };
  });
  return { events, items, users, returns };
}
