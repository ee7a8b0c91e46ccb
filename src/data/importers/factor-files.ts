import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { AppError } from '../../errors.js';
import type { ExternalFactors, FactorTable } from '../../recommenders/imported-factors.js';
import { openRegularFile, readCsvRecords, readRegularFile } from './csv-source.js';
import { OutsideImportRoots, pathWithinScope, type ReadScope } from '../import-roots.js';
import { decodeNpyMatrix, NpyFormatError, parseNpyHeader } from './npy-array.js';

/**
 * Reading a directory of factors trained elsewhere (docs/factor-import.md). Two layouts:
 * - `spark-csv`: `item_factors` and optionally `user_factors`, each a CSV file (`item_factors.csv`,
 *   plain or gzip) or a directory of Spark part files (`item_factors/part-*.csv[.gz]`), with records
 *   `id,features` where features is a bracketed list `[0.12,-0.5,...]` (Spark's `to_json` of the array).
 * - `spark-parquet`: the same sides as `item_factors.parquet` or `item_factors/part-*.parquet`, as
 *   `ALSModel.itemFactors.write.parquet` leaves them (columns id, features).
 * - `npy`: `item_factors.npy` and `item_ids.txt` (one id per line, line r names row r), optionally
 *   `user_factors.npy` and `user_ids.txt`, as `np.save` writes `implicit`'s model arrays.
 */
export type FactorFormat = 'spark-csv' | 'spark-parquet' | 'npy';

/** The largest factor count the ALS model takes (its `factors` parameter's bound). */
export const MAX_FACTORS = 1024;

export interface FactorDirSummary {
  format: FactorFormat;
  /** Files (or part directories) read, relative to the directory. */
  files: string[];
}

export interface ReadFactors extends ExternalFactors, FactorDirSummary {}

const fail = (file: string, message: string) => new AppError('UNPROCESSABLE', `${file}: ${message}`, [{ path: file, message }]);

/**
 * How a message names the id of a row it refuses: an item's in quotes; a customer's not at all, only its row
 * (a job keeps its error with the job, where no erasure reaches).
 */
const idOf = (id: string, customers: boolean) => (customers ? '' : ` (id "${id}")`);

const exists = (p: string) =>
  stat(p).then(
    (s) => (s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null),
    () => null,
  );

/** The files of one side and the name messages use for them. */
interface Parts {
  kind: 'csv' | 'parquet';
  name: string;
  files: string[];
  /** The side of customers (user factors): messages do not name its ids. */
  customers: boolean;
}

/**
 * The files of one side: `item_factors.csv[.gz]` or `.parquet`, or the part files of Spark's output
 * directory `item_factors/` (part-NNNNN-<uuid>.csv / .snappy.parquet beside _SUCCESS and .crc files), in name order.
 */
async function sparkParts(dir: string, side: string, scope: ReadScope): Promise<Parts | null> {
  for (const [file, kind] of [[`${side}.csv`, 'csv'], [`${side}.csv.gz`, 'csv'], [`${side}.parquet`, 'parquet']] as const) {
    if ((await exists(path.join(dir, file))) === 'file') return { kind, name: file, files: [path.join(dir, file)], customers: side === 'user_factors' };
  }
  const linked = path.join(dir, side);
  if ((await exists(linked)) !== 'dir') return null;
  // Listed only within the scope: the part files of a directory linked from elsewhere are neither read nor named.
  const sub = await pathWithinScope(linked, scope);
  const parts = (await readdir(sub)).filter((f) => f.startsWith('part-') && !f.endsWith('.crc')).sort();
  if (parts.length === 0) throw fail(`${side}/`, 'a Spark output directory with no part-* files');
  const parquet = parts.filter((f) => f.endsWith('.parquet'));
  if (parquet.length > 0 && parquet.length < parts.length) throw fail(`${side}/`, 'mixes Parquet and other part files');
  return { kind: parquet.length > 0 ? 'parquet' : 'csv', name: `${side}/`, files: parts.map((f) => path.join(sub, f)), customers: side === 'user_factors' };
}

/** Which layout a directory holds, and its files; UNPROCESSABLE naming what is missing or ambiguous. */
async function locate(dir: string, scope: ReadScope): Promise<{ format: FactorFormat; spark?: { items: Parts; users: Parts | null } }> {
  if ((await exists(dir)) !== 'dir') throw fail(dir, 'not a directory');
  const npy = (await exists(path.join(dir, 'item_factors.npy'))) === 'file';
  const items = await sparkParts(dir, 'item_factors', scope);
  if (npy && items) throw fail(dir, 'holds both item_factors.npy and Spark item factors: keep one layout');
  if (npy) return { format: 'npy' };
  if (!items) throw fail(dir, 'no item factors: expected item_factors.npy (implicit) or item_factors.csv / .parquet / item_factors/part-* (Spark)');
  const users = await sparkParts(dir, 'user_factors', scope);
  if (users && users.kind !== items.kind) throw fail(dir, `item factors are ${items.kind}, user factors ${users.kind}: keep one format`);
  return { format: items.kind === 'csv' ? 'spark-csv' : 'spark-parquet', spark: { items, users } };
}

/** Ids one per line (a trailing newline and a BOM are allowed, an empty line inside is not). */
async function readIds(file: string, name: string, scope: ReadScope): Promise<string[]> {
  const text = await readRegularFile(file, scope).then((b) => b.toString('utf8')).catch((err: unknown) => {
    if (err instanceof OutsideImportRoots) throw err;
    throw fail(name, 'missing: the npy layout names its rows in a text file, one id per line');
  });
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const blank = lines.findIndex((l) => l.trim() === '');
  if (blank >= 0) throw fail(name, `line ${blank + 1} is empty`);
  return lines.map((l) => l.trim());
}

function checkUnique(ids: string[], name: string, customers: boolean): void {
  const seen = new Map<string, number>();
  for (const [row, id] of ids.entries()) {
    const first = seen.get(id);
    if (first !== undefined) throw fail(name, customers ? `a customer id appears twice (rows ${first + 1} and ${row + 1})` : `id "${id}" appears twice`);
    seen.set(id, row);
  }
}

function checkFactors(k: number, name: string): void {
  if (k < 1 || k > MAX_FACTORS) throw fail(name, `${k} factors per row: expected 1 to ${MAX_FACTORS}`);
}

async function readNpySide(dir: string, side: 'item' | 'user', scope: ReadScope): Promise<FactorTable & { factors: number }> {
  const name = `${side}_factors.npy`;
  let matrix;
  try {
    matrix = decodeNpyMatrix(new Uint8Array(await readRegularFile(path.join(dir, name), scope)));
  } catch (err) {
    if (err instanceof NpyFormatError) throw fail(name, err.message);
    throw err;
  }
  checkFactors(matrix.cols, name);
  const idsName = `${side}_ids.txt`;
  const ids = await readIds(path.join(dir, idsName), idsName, scope);
  if (ids.length !== matrix.rows) throw fail(idsName, `${ids.length} ids for the ${matrix.rows} rows of ${name}`);
  checkUnique(ids, idsName, side === 'user');
  for (let p = 0; p < matrix.values.length; p++) {
    const row = Math.floor(p / matrix.cols);
    if (!Number.isFinite(matrix.values[p])) throw fail(name, `row ${row}${idOf(ids[row], side === 'user')} holds a value that is not a finite number`);
  }
  return { ids, values: matrix.values, factors: matrix.cols };
}

/** `[0.1,-2,3e-4]` (spaces allowed, as Spark's string cast writes them) as numbers, or null when malformed. */
function parseFeatures(text: string): number[] | null {
  const t = text.trim();
  if (!t.startsWith('[') || !t.endsWith(']')) return null;
  const inner = t.slice(1, -1).trim();
  if (inner === '') return [];
  const out = inner.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
  return out.every(Number.isFinite) ? out : null;
}

/** Rows of one side as they are read (CSV records, Parquet rows): checked, then packed row-major. */
class RowCollector {
  readonly ids: string[] = [];
  private values = new Float32Array(1024);
  private used = 0;
  factors = 0;

  constructor(private readonly customers: boolean) {}

  add(where: string, row: string, id: string, features: ArrayLike<number>): void {
    if (id === '') throw fail(where, `${row}: empty id`);
    if (this.factors === 0) checkFactors((this.factors = features.length), where);
    if (features.length !== this.factors) throw fail(where, `${row}${idOf(id, this.customers)}: ${features.length} factors, the rows before have ${this.factors}`);
    for (let a = 0; a < features.length; a++) {
      if (!Number.isFinite(features[a])) throw fail(where, `${row}${idOf(id, this.customers)}: factor ${a} is not a finite number`);
    }
    if (this.used + this.factors > this.values.length) {
      const grown = new Float32Array(Math.max(this.values.length * 2, this.used + this.factors));
      grown.set(this.values.subarray(0, this.used));
      this.values = grown;
    }
    this.values.set(features, this.used);
    this.used += this.factors;
    this.ids.push(id);
  }

  finish(name: string): FactorTable & { factors: number } {
    if (this.ids.length === 0) throw fail(name, 'no factor rows');
    checkUnique(this.ids, name, this.customers);
    return { ids: this.ids, values: this.values.slice(0, this.used), factors: this.factors };
  }
}

const partName = (parts: Parts, file: string) => (parts.name.endsWith('/') ? `${parts.name}${path.basename(file)}` : parts.name);

async function readCsvSide(parts: Parts, scope: ReadScope): Promise<FactorTable & { factors: number }> {
  const rows = new RowCollector(parts.customers);
  for (const file of parts.files) {
    const where = partName(parts, file);
    let skipped = 0;
    let line = 0;
    for await (const record of readCsvRecords(file, { ...scope, onSkip: () => skipped++ })) {
      line++;
      if (record.length === 2 && record[0].trim().toLowerCase() === 'id' && record[1].trim().toLowerCase() === 'features') continue;
      if (record.length !== 2) throw fail(where, `record ${line}: ${record.length} fields, expected 2 (id,features)`);
      const id = record[0].trim();
      const features = parseFeatures(record[1]);
      // Not quoted on the customers' side: with its columns swapped, the field is a customer id.
      if (!features) throw fail(where, `record ${line}${idOf(id, parts.customers)}: features must be a bracketed list of numbers such as [0.1,-0.2]${parts.customers ? '' : `, got "${record[1].slice(0, 60)}"`}`);
      rows.add(where, `record ${line}`, id, features);
    }
    if (skipped > 0) throw fail(where, `${skipped} records could not be parsed (unbalanced quotes?)`);
  }
  return rows.finish(parts.name);
}

/**
 * Codecs beyond hyparquet's built-in snappy that Node's zlib decodes (Spark's `compression` option
 * `gzip`; brotli). zstd is refused by hyparquet with a message naming the codec (Node 20's zlib has none).
 */
const COMPRESSORS = {
  GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input: Uint8Array) => new Uint8Array(brotliDecompressSync(input)),
};

/**
 * Spark's `ALSModel.itemFactors.write.parquet(...)`: columns `id` (int, long or string) and `features`
 * (a list of float or double). Read with hyparquet (pure JavaScript; snappy, Spark's default codec, is built in), one row group at a time.
 */
async function readParquetSide(parts: Parts, scope: ReadScope): Promise<FactorTable & { factors: number }> {
  // Loaded here, not with the module: every server, worker and CLI process loads this file (the jobs' handlers),
  // and only an import of Spark's Parquet factors reads with it (28 modules).
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const rows = new RowCollector(parts.customers);
  for (const file of parts.files) {
    const where = partName(parts, file);
    try {
      await (await openRegularFile(file, scope)).close();
      // hyparquet opens the file itself: given the real path checked just now, not a link put in its place since.
      const buffer = await asyncBufferFromFile(await pathWithinScope(file, scope));
      const metadata = await parquetMetadataAsync(buffer);
      const columns = new Set(metadata.schema.slice(1).map((e) => e.name));
      if (!columns.has('id') || !columns.has('features')) {
        throw fail(where, `columns ${[...columns].join(', ')}: expected id and features (ALSModel.itemFactors / userFactors)`);
      }
      // One row group at a time (Spark writes groups of ~128 MB): memory stays bounded by a group, and
      // no group is decoded twice (a row range inside a group decodes the whole group).
      let start = 0;
      for (const group of metadata.row_groups) {
        const end = start + Number(group.num_rows);
        const objects = await parquetReadObjects({ file: buffer, metadata, columns: ['id', 'features'], rowStart: start, rowEnd: end, compressors: COMPRESSORS });
        objects.forEach((o, r) => {
          const row = `row ${start + r + 1}`;
          const features: unknown = o.features;
          if (!Array.isArray(features) && !(features instanceof Float32Array) && !(features instanceof Float64Array)) {
            throw fail(where, `${row}: features is not a list of numbers`);
          }
          rows.add(where, row, o.id === null || o.id === undefined ? '' : String(o.id), Array.from(features as ArrayLike<unknown>, (v) => (typeof v === 'number' ? v : Number.NaN)));
        });
        start = end;
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      // hyparquet's own errors (not Parquet, unsupported codec, truncated): the file is at fault.
      throw fail(where, `not a readable Parquet file: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return rows.finish(parts.name);
}

function sameFactors(items: { factors: number }, users: { factors: number } | null, itemName: string, userName: string): number {
  if (users && users.factors !== items.factors) {
    throw fail(userName, `${users.factors} factors per row, but ${itemName} has ${items.factors}: both sides must come from one model`);
  }
  return items.factors;
}

/**
 * Reads and validates a factor directory: every row of one width (1..1024), finite numbers, unique ids,
 * npy rows matched by as many ids, users of the same width as items. Throws UNPROCESSABLE naming the
 * file and the row at fault. With `scope.roots`, every file (and part directory) is opened only when its
 * real path lies under them (a link out of IMPORT_ROOTS is refused, naming the file, never read).
 */
export async function readFactorDir(dir: string, scope: ReadScope = {}): Promise<ReadFactors> {
  const found = await locate(dir, scope);
  if (found.format === 'npy') {
    const items = await readNpySide(dir, 'item', scope);
    const hasUsers = (await exists(path.join(dir, 'user_factors.npy'))) === 'file';
    const users = hasUsers ? await readNpySide(dir, 'user', scope) : null;
    const factors = sameFactors(items, users, 'item_factors.npy', 'user_factors.npy');
    const files = ['item_factors.npy', 'item_ids.txt', ...(users ? ['user_factors.npy', 'user_ids.txt'] : [])];
    return { format: 'npy', files, factors, items: { ids: items.ids, values: items.values }, users: users && { ids: users.ids, values: users.values } };
  }
  const { items: itemParts, users: userParts } = found.spark!;
  const readSide = itemParts.kind === 'csv' ? readCsvSide : readParquetSide;
  const items = await readSide(itemParts, scope);
  const users = userParts ? await readSide(userParts, scope) : null;
  const factors = sameFactors(items, users, itemParts.name, userParts?.name ?? '');
  return {
    format: found.format,
    files: [itemParts.name, ...(userParts ? [userParts.name] : [])],
    factors,
    items: { ids: items.ids, values: items.values },
    users: users && { ids: users.ids, values: users.values },
  };
}

/** The first bytes of a file: enough for an .npy header. */
async function head(file: string, scope: ReadScope, bytes = 4096): Promise<Uint8Array> {
  const handle = await openRegularFile(file, scope);
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(bytes), 0, bytes, 0);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * The cheap checks made before a job is queued: a known layout, its files present, .npy headers of
 * 2-D float arrays of one width. Row-level problems are found by readFactorDir when the job runs.
 */
export async function inspectFactorDir(dir: string, scope: ReadScope = {}): Promise<FactorDirSummary> {
  const found = await locate(dir, scope);
  if (found.spark) return { format: found.format, files: [found.spark.items.name, ...(found.spark.users ? [found.spark.users.name] : [])] };
  const widths: number[] = [];
  const files: string[] = [];
  for (const side of ['item', 'user'] as const) {
    const name = `${side}_factors.npy`;
    if (side === 'user' && (await exists(path.join(dir, name))) !== 'file') break;
    try {
      const h = parseNpyHeader(await head(path.join(dir, name), scope));
      if (h.shape.length !== 2) throw new NpyFormatError(`expected a 2-D array (rows x factors), got shape (${h.shape.join(', ')})`);
      checkFactors(h.shape[1], name);
      widths.push(h.shape[1]);
    } catch (err) {
      if (err instanceof NpyFormatError) throw fail(name, err.message);
      throw err;
    }
    if ((await exists(path.join(dir, `${side}_ids.txt`))) !== 'file') throw fail(`${side}_ids.txt`, 'missing: the npy layout names its rows in a text file, one id per line');
    files.push(name, `${side}_ids.txt`);
  }
  if (widths.length === 2 && widths[0] !== widths[1]) {
    throw fail('user_factors.npy', `${widths[1]} factors per row, but item_factors.npy has ${widths[0]}: both sides must come from one model`);
  }
  return { format: 'npy', files };
}
