import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db.js';
import { INTERACTION_TYPES, type InteractionInput, type InteractionType } from '../event-repository.js';
import { INPUT_LIMITS, longerThan, offsetOfChar } from '../input-limits.js';
import { AppError } from '../../errors.js';
import { createCatalogRepository, type ItemInput, type UserInput } from '../catalog-repository.js';
import { dataRowNumbers, fileSize, HEADER_MAX_CHARS, readCsvRecords, sniffDelimiter, withDelimiterHint, type CsvDelimiter } from './csv-source.js';
import type { ReadScope } from '../import-roots.js';
import { createEventBatchWriter, DEFAULT_BATCH_SIZE, throughOutage } from './event-batch-writer.js';
import { tooFarAhead, tooFarBack } from '../event-time.js';
import { parseBoolean, parseIsoTimestamp } from './field-parsers.js';
import { NotANumber, notANumber, numberReader, wholeNumber, type NumberReader } from './number-cells.js';
import { REJECTED_ROWS_KEPT, ReportCounter, type AttributeColumn, type IgnoredColumn, type ImportReport, type ImporterOptions, type ProgressCallback } from './import-report.js';
import { createByteProgress } from './progress-tracker.js';
import { addOrRenameAdvice, likelyColumn, pointersTo } from './column-hints.js';
import { dataRowSign } from './header-or-data-row.js';

type Kind = 'items' | 'users' | 'events';

/** Columns each file must have, and the ones with a meaning; other columns of items/users become attributes. */
const SCHEMA: Record<Kind, { required: string[]; known: string[]; extraAsAttributes: boolean }> = {
  items: { required: ['id'], known: ['id', 'title', 'description', 'categories', 'price', 'available', 'item_group_id'], extraAsAttributes: true },
  users: { required: ['id'], known: ['id'], extraAsAttributes: true },
  // `quantity` is required too unless the file has a `type` column (then only purchase rows need one).
  events: { required: ['user_id', 'item_id', 'ts'], known: ['event_id', 'type', 'user_id', 'item_id', 'quantity', 'price', 'order_id', 'value', 'ts'], extraAsAttributes: false },
};

/** The columns of items.csv that describe a product: a file must have at least one (an empty one will do). */
const DESCRIBING_COLUMNS = ['title', 'description', 'categories'];

/** Rejection reasons per file (reported as `<file>.<reason>`, e.g. `events.bad_timestamp`). */
export const GENERIC_REJECTIONS = [
  'malformed_row', 'missing_id', 'bad_type', 'bad_number', 'bad_boolean', 'non_positive_quantity', 'negative_price', 'bad_rating', 'bad_timestamp', 'future_timestamp', 'ancient_timestamp',
  'id_too_long', 'quantity_too_large', 'price_too_large', 'text_too_long', 'nul_character',
] as const;
type Reason = (typeof GENERIC_REJECTIONS)[number];

interface Columns {
  /** Index of each header name, lower-cased. */
  index: Map<string, number>;
  /** Columns stored as attributes: [name as written, index]. */
  attributes: [string, number][];
  /** Columns read for nothing (see ImportReport.ignoredColumns). */
  ignored: IgnoredColumn[];
  /** items.csv's columns stored as attributes, as reported (see ImportReport.attributeColumns). */
  reportedAttributes: AttributeColumn[];
  width: number;
}

function findFile(dir: string, kind: Kind): string | null {
  for (const name of [`${kind}.csv`, `${kind}.csv.gz`]) {
    const file = path.join(dir, name);
    if (existsSync(file)) return file;
  }
  return null;
}

/**
 * The columns of a file's header. Its errors name the columns expected (the schema's names) and columns by
 * their place, never a name as written: a file sent without its header begins with a data row (a customer's id
 * and purchase), and a failed job keeps its error (and the log its line) where no erasure reaches.
 */
function readColumns(kind: Kind, file: string, header: string[], sample: string[][] = []): Columns {
  const names = header.map((h) => h.trim());
  const lower = names.map((n) => n.toLowerCase());
  const dupeAt = lower.findIndex((n, i) => lower.indexOf(n) !== i);
  const required = kind === 'events' && !lower.includes('type') ? [...SCHEMA.events.required, 'quantity'] : SCHEMA[kind].required;
  const missing = required.filter((c) => !lower.includes(c));
  if (dupeAt >= 0 || missing.length > 0) {
    const dupe = lower[dupeAt];
    const places = `columns ${lower.indexOf(dupe) + 1} and ${dupeAt + 1}`;
    // A name of the schema is ours to quote; any other could be a value of a data row.
    const twice = SCHEMA[kind].known.includes(dupe) ? `column "${dupe}" appears twice (${places})` : `${places} have the same name (case ignored)`;
    const why = dupeAt >= 0 ? twice : `missing column(s) ${missing.join(', ')}`;
    const fix = missing.length > 0 ? `: ${addOrRenameAdvice(names, missing, (i) => SCHEMA[kind].known.includes(lower[i]))}` : ', each name once';
    throw new AppError(
      'UNPROCESSABLE',
      `${path.basename(file)}: ${why}; its first line has ${names.length} field${names.length === 1 ? '' : 's'} and must be a header naming at least ${required.join(', ')}${fix}`,
    );
  }
  // users.csv takes any column but `id` as an attribute, so any line holding a cell `id` (any case, as every column
  // name is matched) passes as its header, a data row too: a file sent without its header whose first customer is
  // from Indonesia (country ID, language id) would store every row's country or language code as a customer,
  // silently. The line is judged against the rows below it (dataRowSign), and refused when they say it is data.
  const sign = kind === 'users' ? dataRowSign(names, lower.indexOf('id'), sample) : null;
  if (sign) {
    throw new AppError(
      'UNPROCESSABLE',
      `${path.basename(file)}: its first line looks like a data row, not a header: ${sign}. Read as a header, it would store customers under the values of column ${lower.indexOf('id') + 1}. ` +
        'If the file begins with a data row, add a header line naming id and the other columns; if the line is the header, name id the column holding the customers\' ids (each once)',
    );
  }
  // A catalogue file describes its products whole (a row replaces every field): one with none of the columns that
  // describe a product is a file whose names and categories sit under other names (a grocery's `product_name`,
  // `aisle`), which would be stored as attributes of products without a title, replacing the titles stored.
  if (kind === 'items' && !DESCRIBING_COLUMNS.some((c) => lower.includes(c))) {
    const others = names.filter((n, i) => n !== '' && !SCHEMA.items.known.includes(lower[i])).length;
    // The columns that likely hold them, by place.
    const pointers = pointersTo(names, DESCRIBING_COLUMNS, (i) => SCHEMA.items.known.includes(lower[i]));
    // A file of prices or availability only (a nightly update) has no such columns: following the advice for
    // renamed columns (an empty title column) would blank every stored title, so it is told what a row does.
    const advice =
      others > 0
        ? `its ${others} other column${others === 1 ? '' : 's'} would be stored as attributes of products without a title. ` +
          `Rename the columns holding them${pointers} (a product name to title, an aisle or department to categories, separated by |), or add an empty title column to import products that have no titles; `
        : `a row replaces a product whole (title, description, categories, attributes), so a file of prices or availability alone would blank what is stored: ` +
          `send them with the update (PUT /v1/items/:id replaces a product whole too); `;
    throw new AppError(
      'UNPROCESSABLE',
      `${path.basename(file)}: none of the columns ${DESCRIBING_COLUMNS.join(', ')}; ${advice}expected id and at least one of ${DESCRIBING_COLUMNS.join(', ')}`,
    );
  }
  const attributes: [string, number][] = SCHEMA[kind].extraAsAttributes
    ? names.flatMap((n, i) => (SCHEMA[kind].known.includes(lower[i]) || n === '' ? [] : [[n, i] as [string, number]]))
    : [];
  // Every row would break the API's limits on attributes (and a NUL cannot be stored): the file is refused whole.
  const badName = attributes.find(([n]) => longerThan(n, INPUT_LIMITS.attributeNameLength) || n.includes('\u0000'));
  if (attributes.length > INPUT_LIMITS.attributes || badName) {
    // By its place, not its name (see above).
    const why = badName ? `the name of attribute column ${badName[1] + 1} is longer than ${INPUT_LIMITS.attributeNameLength} characters or holds a NUL` : `${attributes.length} attribute columns, more than the ${INPUT_LIMITS.attributes} a customer or item may have`;
    throw new AppError('UNPROCESSABLE', `${path.basename(file)}: ${why}`);
  }
  // The header has the required columns, so it is a header: its names are column names, not data, and may be
  // quoted. events.csv reads only its known columns; items and users keep the others as attributes, unless unnamed.
  const lacking = SCHEMA[kind].known.filter((c) => !lower.includes(c));
  const ignored = names.flatMap((name, i): IgnoredColumn[] => {
    if (SCHEMA[kind].known.includes(lower[i]) || (SCHEMA[kind].extraAsAttributes && name !== '')) return [];
    const meant = likelyColumn(name, lacking);
    return [{ file: path.basename(file), column: i + 1, name, ...(meant ? { meant } : {}) }];
  });
  // A catalogue's own columns are a feature, stored as they are; listed so that a misspelt one (`titel`) is seen. A
  // users.csv's are listed too: which of its columns became the customers' attributes is what its import did.
  const reportedAttributes = kind !== 'events' ? attributes.map(([name, i]): AttributeColumn => {
    const meant = likelyColumn(name, lacking);
    return { file: path.basename(file), column: i + 1, name, ...(meant ? { meant } : {}) };
  }) : [];
  return { index: new Map(lower.map((n, i) => [n, i])), attributes, ignored, reportedAttributes, width: header.length };
}

/** The rows after the header the users.csv check judges it by (dataRowSign), read within HEADER_MAX_CHARS. */
const SAMPLE_ROWS = 20;

/**
 * A file's first record and, for `rows` > 0, up to that many records after it (fewer once they hold
 * HEADER_MAX_CHARS characters). Bounded: a first line with no end is refused once past what a header can be, not
 * read whole. A fault in a row after the header ends the sample there (the import reports it, by its line).
 */
async function readHeader(file: string, scope: ReadScope, rows = 0, delimiter: CsvDelimiter = ','): Promise<{ header: string[]; sample: string[][]; sampleRows: number[] }> {
  let header: string[] | undefined;
  const sample: string[][] = [];
  // The data-row number of each sampled record (a record csv-parse skips counts: see dataRowNumbers).
  const sampleRows: number[] = [];
  const numbers = dataRowNumbers();
  let chars = 0;
  try {
    const onSkip = (readBefore: number) => void numbers.skipped(readBefore);
    for await (const rec of readCsvRecords(file, { ...scope, delimiter, onSkip, maxRecordChars: HEADER_MAX_CHARS, beforeImport: true })) {
      const row = numbers.next();
      if (header) {
        sample.push(rec);
        sampleRows.push(row);
        chars += rec.reduce((n, cell) => n + cell.length, 0);
      } else header = rec;
      if (sample.length >= rows || chars >= HEADER_MAX_CHARS) break;
    }
  } catch (err) {
    if (!header) throw err;
  }
  if (header) return { header, sample, sampleRows };
  throw new AppError('UNPROCESSABLE', `${path.basename(file)} is empty: expected a CSV header row`);
}

function attributesOf(rec: string[], cols: Columns): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, i] of cols.attributes) {
    const v = rec[i]?.trim();
    if (v) out[name] = v;
  }
  return out;
}

/** A row's cell by column name; empty string for an absent optional column. */
const cellOf = (rec: string[], cols: Columns) => (name: string) => {
  const i = cols.index.get(name);
  return i === undefined ? '' : (rec[i] ?? '').trim();
};

type RowResult<T> = T | { reject: Reason };
const rejected = <T>(r: RowResult<T>): r is { reject: Reason } => typeof r === 'object' && r !== null && 'reject' in r;

/**
 * Why a row breaks a limit the API holds too (data/input-limits.ts), or null: what an import stores,
 * the API must be able to address and write back. Postgres text cannot hold a NUL character.
 */
function beyondLimits(rec: string[], ids: string[]): Reason | null {
  if (rec.some((c) => c.includes('\u0000'))) return 'nul_character';
  if (ids.some((id) => longerThan(id, INPUT_LIMITS.idLength))) return 'id_too_long';
  return null;
}

const tooLong = (values: Iterable<string>, max: number) => [...values].some((v) => longerThan(v, max));

/**
 * `text` cut to at most `limit` characters (code points, as the API counts: data/input-limits.ts), at the
 * last space in its final 200 when there is one (a word is not cut in half), else at the limit (never
 * between the halves of a surrogate pair).
 */
export function shortenTo(text: string, limit: number): string {
  if (!longerThan(text, limit)) return text;
  let cut = offsetOfChar(text, limit);
  const space = text.lastIndexOf(' ', cut);
  if (space >= offsetOfChar(text, limit - 200) && space > 0) cut = space;
  return text.slice(0, cut).trimEnd();
}

function parseItem(rec: string[], cols: Columns, num: NumberReader): RowResult<ItemInput & { shortened?: true }> {
  const cell = cellOf(rec, cols);
  const id = cell('id');
  if (!id) return { reject: 'missing_id' };
  // The product group is an id like the product's own, held to the same limits; an empty cell is no group.
  const itemGroupId = cell('item_group_id') || null;
  const beyond = beyondLimits(rec, itemGroupId === null ? [id] : [id, itemGroupId]);
  if (beyond) return { reject: beyond };
  let price: number | null = null;
  if (cell('price')) {
    price = num(cell('price'), 'price');
    if (price === null) return { reject: 'bad_number' };
    if (price < 0) return { reject: 'negative_price' };
    if (price > INPUT_LIMITS.price) return { reject: 'price_too_large' };
  }
  let available = true;
  if (cell('available')) {
    const b = parseBoolean(cell('available'));
    if (b === null) return { reject: 'bad_boolean' };
    available = b;
  }
  const categories = cell('categories').split('|').map((c) => c.trim()).filter(Boolean);
  const attributes = attributesOf(rec, cols);
  if (
    longerThan(cell('title'), INPUT_LIMITS.titleLength) ||
    categories.length > INPUT_LIMITS.categories ||
    tooLong(categories, INPUT_LIMITS.categoryLength) ||
    tooLong(Object.values(attributes), INPUT_LIMITS.attributeLength)
  ) {
    return { reject: 'text_too_long' };
  }
  // A description over the limit is cut there: refusing the product would leave it blank (its purchases create it).
  const description = shortenTo(cell('description'), INPUT_LIMITS.descriptionLength);
  const shortened = description.length < cell('description').length ? { shortened: true as const } : {};
  return { id, title: cell('title'), description: description || null, categories, price, available, attributes, itemGroupId, ...shortened };
}

function parseUser(rec: string[], cols: Columns): RowResult<UserInput> {
  const id = cellOf(rec, cols)('id');
  if (!id) return { reject: 'missing_id' };
  const beyond = beyondLimits(rec, [id]);
  if (beyond) return { reject: beyond };
  const attributes = attributesOf(rec, cols);
  return tooLong(Object.values(attributes), INPUT_LIMITS.attributeLength) ? { reject: 'text_too_long' } : { id, attributes };
}

interface EventRow { eventId?: string; userId: string; itemId: string; quantity: number; price: number | null; orderId: string | null; ts: Date; isReturn?: true }

const INTERACTION_TYPE_NAMES: ReadonlySet<string> = new Set(INTERACTION_TYPES);

/** A view, add-to-cart or rating row: user, item, time; a rating's `value` (1..5 stars). */
function parseInteraction(cell: (name: string) => string, type: InteractionType, userId: string, itemId: string, num: NumberReader): RowResult<InteractionInput> {
  let value: number | null = null;
  if (type === 'rating') {
    value = num(cell('value'), 'value');
    if (value === null || value < 1 || value > 5) return { reject: 'bad_rating' };
  }
  const ts = parseIsoTimestamp(cell('ts'));
  if (!ts) return { reject: 'bad_timestamp' };
  if (tooFarAhead(ts)) return { reject: 'future_timestamp' };
  if (tooFarBack(ts)) return { reject: 'ancient_timestamp' };
  return { eventId: cell('event_id') || undefined, userId, itemId, type, value, ts };
}

/**
 * An events.csv row: a purchase (no type, or `purchase`), a return (`return`: `quantity` units sent back, from the
 * order `order_id` names when it has one; its price is not read) or an interaction (`view`, `add_to_cart`, `rating`).
 */
function parseEvent(rec: string[], cols: Columns, num: NumberReader): RowResult<EventRow | InteractionInput> {
  const cell = cellOf(rec, cols);
  const userId = cell('user_id');
  const itemId = cell('item_id');
  if (!userId || !itemId) return { reject: 'missing_id' };
  const beyond = beyondLimits(rec, [userId, itemId, cell('event_id'), cell('order_id')]);
  if (beyond) return { reject: beyond };
  const type = cell('type').toLowerCase();
  const isReturn = type === 'return';
  if (type !== '' && type !== 'purchase' && !isReturn) {
    if (!INTERACTION_TYPE_NAMES.has(type)) return { reject: 'bad_type' };
    return parseInteraction(cell, type as InteractionType, userId, itemId, num);
  }
  const quantity = wholeNumber(num, cell('quantity'), 'quantity');
  if (quantity === null) return { reject: 'bad_number' };
  if (quantity <= 0) return { reject: 'non_positive_quantity' };
  if (quantity > INPUT_LIMITS.quantity) return { reject: 'quantity_too_large' };
  let price: number | null = null;
  if (cell('price') && !isReturn) {
    price = num(cell('price'), 'price');
    if (price === null) return { reject: 'bad_number' };
    if (price < 0) return { reject: 'negative_price' };
    if (price > INPUT_LIMITS.price) return { reject: 'price_too_large' };
  }
  const ts = parseIsoTimestamp(cell('ts'));
  if (!ts) return { reject: 'bad_timestamp' };
  if (tooFarAhead(ts)) return { reject: 'future_timestamp' };
  if (tooFarBack(ts)) return { reject: 'ancient_timestamp' };
  return { eventId: cell('event_id') || undefined, userId, itemId, quantity, price, orderId: cell('order_id') || null, ts, ...(isReturn ? { isReturn: true as const } : {}) };
}

/**
 * The files of a generic directory and their columns, every header checked (readColumns) before anything is
 * written: by the import job, and by its submission (a wrong header is a 422 then, not a failed job). Each file
 * is checked against `scope.roots` as it is opened (a link in the directory leading out of them is refused).
 * Throws AppError UNPROCESSABLE naming the file and what is wrong. `given`: the delimiter of every file, as the request
 * gives it; each file's is told from it (sniffDelimiter) when absent.
 */
export async function checkGenericDir(dir: string, scope: ReadScope = {}, given?: CsvDelimiter) {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError('UNPROCESSABLE', `${dir} is not a directory: the generic format is a directory with items.csv, users.csv and/or events.csv`);
  }
  const files = (['items', 'users', 'events'] as const).flatMap((kind) => {
    const file = findFile(dir, kind);
    return file ? [{ kind, file }] : [];
  });
  if (files.length === 0) throw new AppError('UNPROCESSABLE', `${dir} has none of items.csv, users.csv, events.csv`);
  const checked = [];
  for (const f of files) {
    const delimiter = given ?? (await sniffDelimiter(f.file, scope));
    // A `;` file's first rows are read too: a number its locale writes otherwise (1.234,56) is refused now.
    const { header, sample, sampleRows } = await readHeader(f.file, scope, f.kind === 'users' || delimiter === ';' ? SAMPLE_ROWS : 0, delimiter);
    let cols: Columns;
    try {
      cols = readColumns(f.kind, f.file, header, sample);
    } catch (err) {
      throw withDelimiterHint(err, header, delimiter, given !== undefined);
    }
    if (delimiter === ';') checkNumbers(f.kind, f.file, cols, sample, sampleRows);
    checked.push({ ...f, cols, delimiter, size: await fileSize(f.file, scope) });
  }
  return checked;
}

/** A data row parsed by its file's rules; throws NotANumber for a `;` file's number cell that is not one (numberReader). */
function parseRow(kind: Kind, rec: string[], cols: Columns, num: NumberReader) {
  return kind === 'events' ? parseEvent(rec, cols, num) : kind === 'items' ? parseItem(rec, cols, num) : parseUser(rec, cols);
}

/** Throws notANumber, saying nothing was imported, for the first of a `;` file's sampled rows with a number that is not one. */
function checkNumbers(kind: Kind, file: string, cols: Columns, sample: string[][], sampleRows: number[]): void {
  const num = numberReader(';');
  sample.forEach((rec, k) => {
    if (rec.length !== cols.width) return;
    try {
      parseRow(kind, rec, cols, num);
    } catch (err) {
      if (err instanceof NotANumber) throw notANumber(file, sampleRows[k], (cols.index.get(err.column) ?? 0) + 1, err.column, true);
      throw err;
    }
  });
}

/**
 * Imports the documented generic format (docs/import-formats.md): a directory with any of items.csv,
 * users.csv and events.csv (each may be gzipped). Every header is checked before anything is written,
 * so a wrong file fails without a partial import. Items, then users, then events are streamed in batches.
 */
export async function importGeneric(db: Db, dir: string, onProgress?: ProgressCallback, options: ImporterOptions = {}): Promise<ImportReport> {
  const scope = { roots: options.roots };
  const checked = await checkGenericDir(dir, scope, options.delimiter);
  const report = new ReportCounter();
  report.ignore(checked.flatMap((f) => f.cols.ignored));
  report.storeAsAttributes(checked.flatMap((f) => f.cols.reportedAttributes));
  const progress = createByteProgress(checked.reduce((s, f) => s + f.size, 0), onProgress);
  const catalog = createCatalogRepository(db);
  const writer = createEventBatchWriter(db, options.batchSize, options.writesInFlight, options.outageWaitMs);
  let doneBytes = 0;
  const eventItems = new Set<string>();
  for (const { kind, file, cols, size, delimiter } of checked) {
    const num = numberReader(delimiter);
    // The number of the row being read (1 = the first after the header), skipped records counted.
    const rows = dataRowNumbers();
    let row = 0;
    const reject = (reason: Reason, at = row) => report.reject(`${kind}.${reason}`, at);
    let header = true;
    let pending: (ItemInput | UserInput)[] = [];
    const flushCatalog = async () => {
      const batch = pending;
      // A file without the item_group_id column (a price feed) says nothing of the groups: the stored ones stay.
      if (kind === 'items') await throughOutage(() => catalog.upsertItems(batch as ItemInput[], { keepGroups: !cols.index.has('item_group_id') }), options.outageWaitMs);
      if (kind === 'users') report.erased += (await throughOutage(() => catalog.upsertUsers(batch as UserInput[], { unlessErased: true }), options.outageWaitMs)).erased;
      pending = [];
    };
    const base = doneBytes;
    const records = readCsvRecords(file, {
      ...scope,
      delimiter,
      onBytes: (b) => progress.update(base + b),
      onSkip: (readBefore) => {
        report.rowsRead++;
        reject('malformed_row', rows.skipped(readBefore));
      },
    });
    for await (const rec of records) {
      row = rows.next();
      if (header) { header = false; continue; }
      report.rowsRead++;
      if (rec.length !== cols.width) { reject('malformed_row'); continue; }
      let parsed;
      try {
        parsed = parseRow(kind, rec, cols, num);
      } catch (err) {
        if (!(err instanceof NotANumber)) throw err;
        // The rows before it are stored, all of them (docs/import-formats.md), none from it on.
        await flushCatalog();
        await writer.close();
        throw notANumber(file, row, (cols.index.get(err.column) ?? 0) + 1, err.column, false);
      }
      if (kind === 'events') {
        const e = parsed as ReturnType<typeof parseEvent>;
        if (rejected(e)) { reject(e.reject); continue; }
        report.users.add(e.userId);
        report.items.add(e.itemId);
        eventItems.add(e.itemId);
        report.accepted++;
        if ('type' in e) {
          await writer.addInteraction(e);
          continue;
        }
        if (e.isReturn) {
          report.returns++;
          await writer.addReturn({ eventId: e.eventId, userId: e.userId, itemId: e.itemId, quantity: e.quantity, orderId: e.orderId, ts: e.ts });
          continue;
        }
        if (e.orderId) report.orders.add(e.orderId);
        await writer.add(e);
        continue;
      }
      if (rejected(parsed)) { reject(parsed.reject); continue; }
      const { shortened, ...r } = parsed as (ItemInput | UserInput) & { shortened?: true };
      if (shortened) report.shorten('items.description');
      (kind === 'items' ? report.items : report.users).add(r.id);
      report.accepted++;
      pending.push(r);
      if (pending.length >= (options.batchSize ?? DEFAULT_BATCH_SIZE)) await flushCatalog();
    }
    await flushCatalog();
    doneBytes += size;
  }
  const written = await writer.close();
  // Users-file rows of erased customers were counted as they were read; the events' come from the writer.
  Object.assign(report, { ...written, erased: report.erased + written.erased });
  // Read after every write: an item is described by items.csv (this import's or an earlier one) or not at all.
  report.untitledItems(await throughOutage(() => catalog.untitledAmong([...eventItems], REJECTED_ROWS_KEPT), options.outageWaitMs));
  progress.done();
  return report.finish();
}
