import { basename } from 'node:path';
import type { Db } from '../db.js';
import { INPUT_LIMITS, longerThan } from '../input-limits.js';
import { AppError } from '../../errors.js';
import { createCatalogRepository, type UserInput } from '../catalog-repository.js';
import { dataRowNumbers, HEADER_MAX_CHARS, readCsvRecords, fileSize, sniffDelimiter, withDelimiterHint, type CsvDelimiter } from './csv-source.js';
import type { ReadScope } from '../import-roots.js';
import { createEventBatchWriter, DEFAULT_BATCH_SIZE, throughOutage } from './event-batch-writer.js';
import { tooFarAhead, tooFarBack } from '../event-time.js';
import { dateOrderOf, normalizeCustomerId, parseRetailDate, type DateOrder } from './field-parsers.js';
import { NotANumber, notANumber, numberReader, wholeNumber, type NumberReader } from './number-cells.js';
import { ReportCounter, type ImportReport, type ImporterOptions, type ProgressCallback } from './import-report.js';
import { createByteProgress } from './progress-tracker.js';
import { addOrRenameAdvice } from './column-hints.js';

/** Rejection reasons, in the order the rules are checked; a row counts under the first it fails. */
export const ONLINE_RETAIL_REJECTIONS = [
  'malformed_row', // wrong number of fields, unreadable CSV, or no invoice number
  'missing_customer_id',
  'malformed_number', // quantity or price that is not a number (quantity must be whole)
  'cancelled_invoice', // a cancellation (invoice starting with C) whose quantity is not negative: it returns nothing
  'non_positive_quantity',
  'quantity_too_large', // over 1,000,000 (the API's limit, data/input-limits.ts)
  'non_positive_price',
  'price_too_large', // over 1,000,000,000
  'non_product_stock_code', // POST, M, DOT, BANK CHARGES, ...: fees and postage, not products
  'id_too_long', // a customer id, stock code or invoice over 256 characters
  'nul_character',
  'text_too_long', // a Description (the item's title) or Country over 1,000 characters
  'malformed_date',
  'future_date',
  'ancient_date', // before 1970-01-01: a default value, not a sale
] as const;

type Field = 'invoice' | 'stockCode' | 'description' | 'quantity' | 'date' | 'price' | 'customer' | 'country';

/** Column names of UCI "Online Retail" and of "Online Retail II", compared without case, spaces or underscores. */
const VARIANTS: { name: string; columns: Record<Field, string> }[] = [
  {
    name: 'Online Retail',
    columns: { invoice: 'InvoiceNo', stockCode: 'StockCode', description: 'Description', quantity: 'Quantity', date: 'InvoiceDate', price: 'UnitPrice', customer: 'CustomerID', country: 'Country' },
  },
  {
    name: 'Online Retail II',
    columns: { invoice: 'Invoice', stockCode: 'StockCode', description: 'Description', quantity: 'Quantity', date: 'InvoiceDate', price: 'Price', customer: 'Customer ID', country: 'Country' },
  },
];

const canonical = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Column index of each field, from whichever variant the header matches; throws naming both layouts otherwise.
 * The error names the expected columns the first line lacks and how many fields it has, never what it holds:
 * a file sent without its header begins with a customer's purchase, and a failed job keeps its error (and the
 * log its line) where no erasure reaches.
 */
export function detectOnlineRetailColumns(header: string[], file?: string): Record<Field, number> {
  const positions = new Map(header.map((h, i) => [canonical(h), i]));
  for (const variant of VARIANTS) {
    const entries = Object.entries(variant.columns).map(([field, col]) => [field, positions.get(canonical(col))] as const);
    if (entries.every(([, i]) => i !== undefined)) return Object.fromEntries(entries) as Record<Field, number>;
  }
  const missing = VARIANTS.map((v) => Object.values(v.columns).filter((c) => !positions.has(canonical(c))));
  const lacking = VARIANTS.map((v, k) => `${missing[k].join(', ')} of ${v.name}`).join('; ');
  const expected = VARIANTS.map((v) => `${Object.values(v.columns).join(',')} (${v.name})`).join(' or ');
  // The likely columns are pointed at for the layout the line is closest to (the first on a tie).
  const closest = missing.reduce((best, m) => (m.length < best.length ? m : best));
  const known = new Set(VARIANTS.flatMap((v) => Object.values(v.columns).map(canonical)));
  const advice = addOrRenameAdvice(header, closest, (i) => known.has(canonical(header[i])));
  throw new AppError(
    'UNPROCESSABLE',
    `${file ? `${file}: ` : ''}not an Online Retail file: its first line (${header.length} field${header.length === 1 ? '' : 's'}) lacks the columns ${lacking}; it must be a header naming at least ${expected}: ${advice}`,
  );
}

/**
 * Checks the header of an Online Retail file (plain or gzip) as the import reads it: by the import job, and by
 * its submission, so that a file of another shape is a 422 then, not a failed job. Throws AppError UNPROCESSABLE.
 * `given`: the file's delimiter as the request gives it; told from the file (sniffDelimiter) when absent.
 */
export async function checkOnlineRetailHeader(path: string, scope: ReadScope = {}, given?: CsvDelimiter): Promise<CsvDelimiter> {
  const delimiter = given ?? (await sniffDelimiter(path, scope));
  let col: Record<Field, number> | null = null;
  let header: string[] = [];
  let chars = 0;
  const rows = dataRowNumbers();
  const num = numberReader(delimiter);
  // Bounded: a first line with no end is refused once past what a header can be, not read whole. A `;` file's first
  // rows are read too (as many and within the bound of users.csv's check): a number its locale writes otherwise
  // (1.234,56) is refused now, before anything is written.
  let bad: AppError | undefined;
  try {
    const onSkip = (readBefore: number) => void rows.skipped(readBefore);
    for await (const rec of readCsvRecords(path, { ...scope, delimiter, onSkip, maxRecordChars: HEADER_MAX_CHARS, beforeImport: true })) {
      const row = rows.next();
      if (!col) {
        try {
          col = detectOnlineRetailColumns(rec, basename(path));
        } catch (err) {
          throw withDelimiterHint(err, rec, delimiter, given !== undefined);
        }
        header = rec;
        if (delimiter === ',') return delimiter;
        continue;
      }
      try {
        readNumbers(rec, col, header.length, num);
      } catch (err) {
        if (!(err instanceof NotANumber)) throw err;
        bad = notANumberAt(path, row, col, header, err, true);
        break;
      }
      chars += rec.reduce((n, cell) => n + cell.length, 0);
      if (row >= SAMPLE_ROWS || chars >= HEADER_MAX_CHARS) break;
    }
  } catch (err) {
    // A fault in a row after the header ends the check there (the import reports it, by its line).
    if (!col) throw err;
  }
  if (bad) throw bad;
  if (!col) throw emptyFile(path);
  return delimiter;
}

/** The rows after the header a `;` file's check reads (checkOnlineRetailHeader). */
const SAMPLE_ROWS = 20;

type Reason = (typeof ONLINE_RETAIL_REJECTIONS)[number];

/**
 * The number rules of a row (docs/import-formats.md's table, from `malformed_number` to `price_too_large`, in its
 * order): the row's reason when one refuses it, else its quantity (units bought, or returned by a cancellation) and
 * unit price. UnitPrice is read only once Quantity has passed its rules: a row refused for its quantity (0, a
 * cancellation returning nothing, over the limit) is counted refused, its price unread, where a `;` file's price that
 * is not a number would stop the import (NotANumber, as `num` throws it: numberReader) on a row refused anyway.
 */
export function numberRules(rec: string[], col: Record<Field, number>, num: NumberReader, cancellation: boolean): { reject: Reason } | { quantity: number; price: number } {
  const signed = wholeNumber(num, rec[col.quantity], 'quantity');
  if (signed === null) return { reject: 'malformed_number' };
  if (cancellation && signed >= 0) return { reject: 'cancelled_invoice' };
  const quantity = cancellation ? -signed : signed;
  if (quantity <= 0) return { reject: 'non_positive_quantity' };
  if (quantity > INPUT_LIMITS.quantity) return { reject: 'quantity_too_large' };
  const price = num(rec[col.price], 'price');
  if (price === null) return { reject: 'malformed_number' };
  if (price <= 0) return { reject: 'non_positive_price' };
  if (price > INPUT_LIMITS.price) return { reject: 'price_too_large' };
  return { quantity, price };
}

/**
 * A row's numbers as the import reads them (numberRules), or null for a row refused by a rule checked before them
 * (wrong number of fields, no invoice or customer: its numbers are not read). Throws NotANumber as `num` does.
 */
function readNumbers(rec: string[], col: Record<Field, number>, width: number, num: NumberReader): ReturnType<typeof numberRules> | null {
  const invoice = rec[col.invoice]?.trim();
  if (rec.length !== width || !invoice || !rec[col.customer]?.trim()) return null;
  return numberRules(rec, col, num, invoice.startsWith('C'));
}

/** notANumber for the Quantity or UnitPrice (Price) cell `err` names, by its place and its name in `header`. */
export function notANumberAt(path: string, row: number, col: Record<Field, number>, header: string[], err: NotANumber, beforeImport: boolean, ending?: string): AppError {
  const place = col[err.column as 'quantity' | 'price'];
  return notANumber(path, row, place + 1, header[place].trim(), beforeImport, ending);
}

const emptyFile = (path: string) => new AppError('UNPROCESSABLE', `${basename(path)} is empty: expected a CSV header row`);

/** Counts values per key so the most frequent one can be picked at the end (first seen wins a tie). */
class ModeCounter {
  private readonly counts = new Map<string, Map<string, number>>();
  add(key: string, value: string): void {
    let byValue = this.counts.get(key);
    if (!byValue) this.counts.set(key, (byValue = new Map()));
    byValue.set(value, (byValue.get(value) ?? 0) + 1);
  }
  mode(key: string): string | undefined {
    let best: string | undefined;
    let bestCount = 0;
    for (const [value, n] of this.counts.get(key) ?? []) {
      if (n > bestCount) [best, bestCount] = [value, n];
    }
    return best;
  }
}

/** A slashed date (a/b/yyyy), which one order or the other reads. */
const SLASHED_DATE = /^\d{1,2}\/\d{1,2}\/\d{4}\b/;
/** A dotted date (d.m.yyyy), day first whatever the order. */
const DOTTED_DATE = /^\d{1,2}\.\d{1,2}\.\d{4}\b/;

/** Dates only one order reads that decide a file's order (detectDateOrder): reading ahead stops at this many. */
const DATE_VOTES = 1000;
/**
 * The most data rows the detection reads. Without a bound, a file none of whose dates tells (its dates all on the 1st
 * to the 12th of their months) was read whole before the import read it again: 11.6 s for a slashed copy of Online
 * Retail's 232,959 rows of those days, load 34 (bench/README.md). Online Retail's slashed dates give 1,000 votes by
 * data row 27,732 (13 December, its first date after the 12th); a shop ten times its size has no vote in its first
 * 12 days' 280,000 rows, and is refused at this bound, asked for the order, rather than read month first on no vote.
 */
export const DATE_SEARCH_ROWS = 100_000;
/** Share of those dates that may read only the other way (typos, refused as malformed dates) before the file is refused as mixed. */
const MIXED_DATES = 0.01;

/**
 * How the file writes its slashed dates, told before anything is written (a purchase stored on the wrong
 * day would stay: its id derives from its date): by the dates only one order reads (13/12/2010 is
 * day-first, 12/13/2010 month-first), up to DATE_VOTES of them. The order most of them read wins: the
 * others are typos, refused as malformed dates. A file where more than MIXED_DATES of them read the other
 * way is refused: which order its other dates are in cannot be told, so it must be given (dateOrder).
 * Reading stops at a YYYY-MM-DD date (the form of the CSV exports, which have no slashed dates), or after
 * DATE_SEARCH_ROWS rows: a file none of whose dates tells is read month-first, Online Retail's own order, unless it is
 * longer than that (refused then). A D.M.YYYY date (a German-locale spreadsheet's, day first) tells nothing of the
 * slashed ones and does not stop it: a file whose first rows were typed so (1.12.2010) and whose others are slashed day
 * first was read month first, its 13/12/2010 refused and its 01/12/2010 stored on 12 January. A file of dotted dates
 * only was read up to the bound then (2.4 to 5.3 s at load 20): detectDateOrderUnlessDotted stops at its DATE_VOTES-th
 * dotted date while no slashed one has come, and the import decides when a slashed date comes, if one does.
 */
export async function detectDateOrder(path: string, scope: ReadScope = {}, delimiter?: CsvDelimiter, written = 'nothing was written'): Promise<DateOrder> {
  return (await searchDateOrder(path, scope, delimiter, false, written)) ?? 'mdy';
}

/**
 * detectDateOrder, but undefined once DATE_VOTES dotted dates (D.M.YYYY, read day first whatever the order) have come
 * before any slashed one: the file is, so far, one whose order nothing needs, and reading it on to the bound for a
 * slashed date that may never come cost 2.4 to 5.3 s for 120,000 rows (load 20) before the import read it again. The
 * reader then asks detectDateOrder at its first slashed date (onlineRetailRowRules answers `undecided`), when every
 * row read before holds a dotted or YYYY-MM-DD date, stored on its day whatever the order: no row is ever stored in an
 * order not told. A file refused then (dates both ways, none telling) has its rows before that one imported.
 */
export async function detectDateOrderUnlessDotted(path: string, scope: ReadScope = {}, delimiter?: CsvDelimiter): Promise<DateOrder | undefined> {
  return searchDateOrder(path, scope, delimiter, true, 'nothing was written');
}

/** `written` ends a refusal's message: what the reader stored before it asked (nothing, unless asked mid-import). */
async function searchDateOrder(path: string, scope: ReadScope, delimiter: CsvDelimiter | undefined, stopOnDotted: boolean, written: string): Promise<DateOrder | undefined> {
  let col: number | null = null;
  const votes: Record<DateOrder, number> = { mdy: 0, dmy: 0 };
  let rows = 0;
  let slashed = 0;
  let dotted = 0;
  for await (const rec of readCsvRecords(path, { ...scope, delimiter: delimiter ?? (await sniffDelimiter(path, scope)) })) {
    if (col === null) {
      col = detectOnlineRetailColumns(rec, basename(path)).date;
      continue;
    }
    if (++rows > DATE_SEARCH_ROWS) {
      // Read so far with slashed dates and no vote: the file may be day first all the same, which only its later rows tell.
      if (votes.mdy + votes.dmy === 0 && slashed > 0) {
        throw new AppError(
          'UNPROCESSABLE',
          `${basename(path)}: none of the InvoiceDate values of its first ${DATE_SEARCH_ROWS} rows tells whether they are month first (12/13/2010) or day first (13/12/2010): all fall on the 1st to the 12th of their months. ` +
            `Give the order ("mdy" or "dmy"): "dateOrder" in POST /v1/imports, --date-order for npm run import and npm run tune; ${written}`,
          [{ path: 'dateOrder', message: 'the file\'s first dates do not tell the order: give it' }],
        );
      }
      break;
    }
    const cell = rec[col]?.trim() ?? '';
    if (SLASHED_DATE.test(cell)) slashed++;
    else if (stopOnDotted && slashed === 0 && DOTTED_DATE.test(cell) && ++dotted >= DATE_VOTES) return undefined;
    const order = dateOrderOf(rec[col]);
    if (order) {
      votes[order]++;
      if (votes.mdy + votes.dmy >= DATE_VOTES) break;
    } else if (/^\s*\d{4}-/.test(rec[col] ?? '')) break;
  }
  const [most, fewer]: [DateOrder, number] = votes.dmy > votes.mdy ? ['dmy', votes.mdy] : ['mdy', votes.dmy];
  if (fewer > MIXED_DATES * (votes.mdy + votes.dmy)) {
    throw new AppError(
      'UNPROCESSABLE',
      `${basename(path)} writes InvoiceDate both ways: ${votes.mdy} of its dates read only month first (12/13/2010), ${votes.dmy} only day first (13/12/2010), so the order of the others cannot be told. ` +
        `Give the order ("mdy" or "dmy"): "dateOrder" in POST /v1/imports, --date-order for npm run import and npm run tune; ${written}`,
      [{ path: 'dateOrder', message: 'the file\'s dates read both ways: give the order' }],
    );
  }
  return votes.mdy + votes.dmy === 0 ? 'mdy' : most;
}

/** A data row the import accepts (onlineRetailRowRules): a purchase, or a cancellation's return (`cancellation`). */
export interface OnlineRetailRow {
  userId: string;
  itemId: string;
  invoice: string;
  cancellation: boolean;
  /** Units bought, or returned by a cancellation (positive). */
  quantity: number;
  price: number;
  ts: Date;
  tsIso: string;
  /** Trimmed; undefined or empty when the file gives none. */
  description: string | undefined;
  country: string | undefined;
}

/** One data row under the import's rules: the reason it is refused for, else the row as stored. */
export type OnlineRetailRowRules = (rec: string[], row: number) => { reject: Reason } | { undecided: true } | OnlineRetailRow;

/**
 * The order slashed dates are read in: undefined while the file has not needed one (detectDateOrderUnlessDotted);
 * the reader sets it when a row answers `undecided` (detectDateOrder) and reads that row again.
 */
export interface DateOrderHolder {
  order: DateOrder | undefined;
}

/**
 * The import's rules for the data rows of a file with this header (ONLINE_RETAIL_REJECTIONS, in their order;
 * docs/import-formats.md's table): one set for the import and for whatever reads a file as the import would store it
 * (`npm run tune -- --online-retail`, the benchmarks: src/cli/online-retail-input.ts), so a row refused by one is
 * refused by the other. A `;` file's number cell that is not a number throws (notANumberAt, `row` its data row), as
 * the import stops there; `ending` ends that message. Rows of one invoice share its date: each distinct date text is
 * parsed once. A slashed date while `dates.order` is undefined answers `undecided`: the reader tells the order
 * (detectDateOrder), sets it and reads the row again.
 */
export function onlineRetailRowRules(path: string, header: string[], col: Record<Field, number>, delimiter: CsvDelimiter, dates: DateOrderHolder, ending?: string): OnlineRetailRowRules {
  const num = numberReader(delimiter);
  let lastDateCell: string | undefined;
  let lastDate: Date | null = null;
  let lastIso = '';
  return (rec, row) => {
    const invoice = rec[col.invoice]?.trim();
    if (rec.length !== header.length || !invoice) return { reject: 'malformed_row' };
    const userId = normalizeCustomerId(rec[col.customer], delimiter === ';');
    if (!userId) return { reject: 'missing_customer_id' };
    const cancellation = invoice.startsWith('C');
    let numbers;
    try {
      numbers = numberRules(rec, col, num, cancellation);
    } catch (err) {
      throw err instanceof NotANumber ? notANumberAt(path, row, col, header, err, false, ending) : err;
    }
    if ('reject' in numbers) return numbers;
    const itemId = rec[col.stockCode].trim();
    if (!/^[0-9]/.test(itemId)) return { reject: 'non_product_stock_code' };
    // What the API could not address or store (data/input-limits.ts).
    if (longerThan(userId, INPUT_LIMITS.idLength) || longerThan(itemId, INPUT_LIMITS.idLength) || longerThan(invoice, INPUT_LIMITS.idLength)) return { reject: 'id_too_long' };
    if (rec.some((c) => c.includes('\u0000'))) return { reject: 'nul_character' };
    // The description becomes the item's title, the country the customer's attribute.
    const description = rec[col.description]?.trim();
    const country = rec[col.country]?.trim();
    if (longerThan(description ?? '', INPUT_LIMITS.titleLength) || longerThan(country ?? '', INPUT_LIMITS.attributeLength)) return { reject: 'text_too_long' };
    if (rec[col.date] !== lastDateCell) {
      // A slashed date before the order is told: the reader tells it now (the rows before needed none).
      if (dates.order === undefined && SLASHED_DATE.test(rec[col.date]?.trim() ?? '')) return { undecided: true };
      lastDateCell = rec[col.date];
      lastDate = parseRetailDate(lastDateCell, dates.order);
      lastIso = lastDate ? lastDate.toISOString() : '';
    }
    const ts = lastDate;
    if (!ts) return { reject: 'malformed_date' };
    if (tooFarAhead(ts)) return { reject: 'future_date' };
    if (tooFarBack(ts)) return { reject: 'ancient_date' };
    return { userId, itemId, invoice, cancellation, quantity: numbers.quantity, price: numbers.price, ts, tsIso: lastIso, description, country };
  };
}

async function upsertInBatches<T>(rows: T[], write: (batch: T[]) => Promise<unknown>, outageWaitMs?: number): Promise<void> {
  for (let i = 0; i < rows.length; i += DEFAULT_BATCH_SIZE) await throughOutage(() => write(rows.slice(i, i + DEFAULT_BATCH_SIZE)), outageWaitMs);
}

/**
 * Imports a UCI Online Retail (or Online Retail II) CSV, plain or gzip, applying the cleaning rules of
 * the evaluation protocol, but for cancellation invoices (`C...`), stored as returns (docs/import-formats.md). Purchases are written in batches while streaming; item titles (the most
 * frequent description of each stock code), item prices (the latest unit price) and user countries
 * (the most frequent) need the whole file, so items and users are upserted at the end. Slashed dates
 * are read in `options.dateOrder`, or the order the file's dates tell (detectDateOrder).
 */
export async function importOnlineRetail(db: Db, path: string, onProgress?: ProgressCallback, options: ImporterOptions = {}): Promise<ImportReport> {
  const report = new ReportCounter();
  const scope = { roots: options.roots };
  const progress = createByteProgress(await fileSize(path, scope), onProgress);
  // The header first, with its bound: a first line with no end is refused before the reads below take it whole.
  const delimiter = await checkOnlineRetailHeader(path, scope, options.delimiter);
  const dates: DateOrderHolder = { order: options.dateOrder ?? (await detectDateOrderUnlessDotted(path, scope, delimiter)) };
  const writer = createEventBatchWriter(db, options.batchSize, options.writesInFlight, options.outageWaitMs);
  const titles = new ModeCounter();
  const countries = new ModeCounter();
  const latestPrice = new Map<string, { ts: number; price: number }>();
  let col: Record<Field, number> | null = null;
  const rows = dataRowNumbers();

  const records = readCsvRecords(path, {
    ...scope,
    delimiter,
    onBytes: (b) => progress.update(b),
    onSkip: (readBefore) => {
      rows.skipped(readBefore);
      report.rowsRead++;
      report.reject('malformed_row');
    },
  });
  // A line the file cannot be read past (a quote never closed, a byte that is not UTF-8) ends the reading:
  // the rows accepted before it are written all the same, with their products' titles and prices and
  // their customers' countries (else those products would stay untitled until the file is mended), and
  // the failure is thrown then.
  let unreadable: AppError | undefined;
  try {
    await readRows();
  } catch (err) {
    if (!(err instanceof AppError) || !col) throw err;
    unreadable = err;
  }
  async function readRows() {
    let rules: OnlineRetailRowRules | undefined;
    for await (const rec of records) {
      const row = rows.next();
      if (!rules) {
        col = detectOnlineRetailColumns(rec, basename(path));
        rules = onlineRetailRowRules(path, rec, col, delimiter, dates);
        continue;
      }
      report.rowsRead++;
      // A `;` file's number that is not one stops the import at its row (rules throws, as the check before the import
      // does); what was accepted before it is written below, as for an unreadable line.
      let r = rules(rec, row);
      if ('undecided' in r) {
        // The first slashed date after the dotted ones: the order is told now (a refusal stops the import here, after the
        // rows accepted before are written below, as for an unreadable line: its message must not say nothing was).
        const n = (x: number) => x.toLocaleString('en-US');
        dates.order = await detectDateOrder(path, scope, delimiter,
          `the ${n(report.accepted)} rows accepted before data row ${n(row)} (their dates dotted or YYYY-MM-DD, on their days whatever the order) were stored, none from it on; ` +
            'imported again with the order, the file adds them not twice');
        r = rules(rec, row);
      }
      if ('undecided' in r) throw new Error('the date order was told, yet a row asks for it');
      if ('reject' in r) { report.reject(r.reject); continue; }
      const { userId, itemId, invoice, quantity, price, ts, tsIso, description, country } = r;
      report.accepted++;
      report.users.add(userId);
      report.items.add(itemId);
      if (description) titles.add(itemId, description);
      if (country) countries.add(userId, country);
      // A cancellation invoice (C536379) returns the units its negative quantities name: stored as a return of the
      // customer's item (the invoice it cancels is not named: the latest purchases of the item are returned first).
      if (r.cancellation) {
        // A cancellation's customer and product are described as a purchase's are; its invoice is no order, its price no sale.
        report.returns++;
        await writer.addReturn({ userId, itemId, quantity, orderId: null, ts, tsIso });
        continue;
      }
      report.orders.add(invoice);
      const last = latestPrice.get(itemId);
      if (!last || ts.getTime() >= last.ts) latestPrice.set(itemId, { ts: ts.getTime(), price });
      await writer.add({ userId, itemId, quantity, price, orderId: invoice, ts, tsIso });
    }
  }
  if (!col) throw emptyFile(path);
  Object.assign(report, await writer.close());

  const catalog = createCatalogRepository(db);
  // The file knows a product's title and price and a customer's country, no more: what the catalogue
  // (items.csv, the API) says besides, availability, categories, a profile's other attributes, is kept.
  const items = [...report.items].map((id) => ({ id, title: titles.mode(id) ?? '', price: latestPrice.get(id)?.price ?? null }));
  await upsertInBatches(items, (b) => catalog.mergeItems(b), options.outageWaitMs);
  const users: UserInput[] = [...report.users].map((id) => {
    const country = countries.mode(id);
    return { id, attributes: country ? { country } : {} };
  });
  // Customers erased and not seen since stay erased (their purchases here were counted as `erased`).
  await upsertInBatches(users, (b) => catalog.upsertUsers(b, { unlessErased: true, mergeAttributes: true }), options.outageWaitMs);
  if (unreadable) throw unreadable;
  progress.done();
  return report.finish();
}
