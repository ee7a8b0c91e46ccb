import path, { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataRowNumbers, readCsvRecords, sniffDelimiter, withDelimiterHint, type CsvDelimiter } from '../data/importers/csv-source.js';
import type { DateOrder } from '../data/importers/field-parsers.js';
import { detectDateOrder, detectDateOrderUnlessDotted, detectOnlineRetailColumns, onlineRetailRowRules, type DateOrderHolder, type OnlineRetailRowRules } from '../data/importers/online-retail-importer.js';
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
 * Reads UCI Online Retail into evaluation input straight from the CSV, by the import's rules for each row
 * (onlineRetailRowRules: the same column detection, parsers and refusals, numbers, ids, NUL, text lengths and dates
 * alike), and the same catalogue: title = most frequent description, price = latest, country = most frequent; slashed
 * dates in the order the importer tells from the file (detectDateOrder), or `order`; fields separated by `delimiter`,
 * else as the importer tells them (sniffDelimiter). Benchmarks and `npm run tune` use it so they need no database.
 * `returns`: the cancellation lines the importer stores as returns (customer, product stock code, a negative whole
 * quantity, a date), for a benchmark to take off the purchases (data/return-allocation.ts netOfReturns); `events` are
 * gross of them.
 */
export async function loadOnlineRetail(path = ONLINE_RETAIL_PATH, order?: DateOrder, given?: CsvDelimiter): Promise<{ events: PurchaseRow[]; items: ItemInfo[]; users: UserInfo[]; returns: ReturnLine[] }> {
  // A `;` file (a spreadsheet saved in a locale writing 2,55) is read as the importer reads it, by its rules: a cell that
  // is not a number stops the reading at its row, as it stops the import (the import's contract), rather than tuning on
  // a file the import would store only in part.
  const delimiter = given ?? (await sniffDelimiter(path));
  const events: PurchaseRow[] = [];
  const returns: ReturnLine[] = [];
  const titles = new Map<string, Map<string, number>>();
  const countries = new Map<string, Map<string, number>>();
  const latestPrice = new Map<string, { ts: number; price: number }>();
  let rules: OnlineRetailRowRules | undefined;
  const dates: DateOrderHolder = { order };
  const rows = dataRowNumbers();
  for await (const rec of readCsvRecords(path, { delimiter, onSkip: (readBefore) => void rows.skipped(readBefore) })) {
    const row = rows.next();
    if (!rules) {
      let col;
      try {
        col = detectOnlineRetailColumns(rec, basename(path));
      } catch (err) {
        // As the import says it: a header read with the wrong delimiter names the one to give.
        throw withDelimiterHint(err, rec, delimiter, given !== undefined, (other) => `--delimiter "${other}" for npm run tune (and npm run import)`);
      }
      // Its dates' order once its header is known to be one (told after a header read wrong, it would lack the hint).
      dates.order = order ?? (await detectDateOrderUnlessDotted(path, {}, delimiter));
      rules = onlineRetailRowRules(path, rec, col, delimiter, dates, 'npm run import stops at this row, so nothing is read from the file: mend it, then import or tune on it');
      continue;
    }
    let r = rules(rec, row);
    if ('undecided' in r) {
      // A slashed date after the dotted ones: the order the importer would tell here.
      dates.order = await detectDateOrder(path, {}, delimiter);
      r = rules(rec, row);
    }
    if ('reject' in r || 'undecided' in r) continue;
    const { userId, itemId, quantity, price } = r;
    const ts = r.ts.getTime();
    if (r.cancellation) {
      returns.push({ userId, itemId, quantity, orderId: null, ts });
      continue;
    }
    events.push({ userId, itemId, orderId: r.invoice, ts, quantity, price });
    if (r.description) count(titles, itemId, r.description);
    if (r.country) count(countries, userId, r.country);
    const last = latestPrice.get(itemId);
    if (!last || ts >= last.ts) latestPrice.set(itemId, { ts, price });
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
