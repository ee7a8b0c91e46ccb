/**
 * Campaign export files (EXPORT_DIR, one `<jobId>.csv` or `.jsonl` per export job) hold customer ids
 * and their lists. An erasure rewrites every such file without the erased customers' rows, so a file
 * fetched later (GET /v1/exports/:id/file) no longer names them. A file is rewritten under a temporary
 * name of its own and renamed over the old one, so a reader sees the old file or the new one, never half
 * of one. Callers hold the erasure lock (erasure-repository ERASURE_SERIAL), so two rewrites of one file
 * never overlap. A file that does not hold any of the customers is only read, not rewritten. A CSV file
 * that does not parse (not one this service wrote) is left alone: it must not block every erasure.
 * An audience export's `rank` numbers its customers through the whole file: the rows after a removed one
 * are numbered again (each rank less the rows removed before it), so the ranks stay 1..n without a gap.
 * A recommendations export's `rank` is the place of an item in its customer's list, and stays.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse as parseCsv } from 'csv-parse/sync';
import { formulaUnescaped } from '../exports/csv-formulas.js';

export type ExportFormat = 'csv' | 'jsonl';

const EXPORT_FILE = /\.(csv|jsonl)$/;

export interface ScrubbedRows {
  /** Rows (lines) removed. */
  rows: number;
  /** Distinct customers whose rows were removed. */
  customers: number;
}

/** What the scrub of one export file removed, and the size of the file it left. */
export interface ScrubbedFile extends ScrubbedRows {
  bytes: number;
}

/**
 * Rewrites without `ids` every export file in `dir` that holds any of them; returns, by the name of each
 * file it rewrote less its extension (the export's job id), what it removed and the file's new size, for the
 * job's result to describe the file as it now is.
 */
export async function scrubExportFiles(dir: string, ids: ReadonlySet<string>): Promise<Map<string, ScrubbedFile>> {
  const scrubbed = new Map<string, ScrubbedFile>();
  if (ids.size === 0) return scrubbed;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return scrubbed;
    throw err;
  }
  for (const name of names.filter((n) => EXPORT_FILE.test(n))) {
    const file = join(dir, name);
    const removed = await scrubExportFile(file, ids, name.endsWith('.jsonl') ? 'jsonl' : 'csv');
    if (removed.rows === 0) continue;
    // Removed meanwhile (the export was deleted): nothing to describe.
    const size = await stat(file).then((s) => s.size, () => null);
    if (size !== null) scrubbed.set(name.replace(EXPORT_FILE, ''), { ...removed, bytes: size });
  }
  return scrubbed;
}

/** Ids that appear verbatim in CSV and JSON text (no quote, comma, backslash, control or non-ASCII character). */
const PLAIN_ID = /^[A-Za-z0-9 ._:@#+/-]+$/;

/**
 * Whether the file may hold one of `ids`: false only when every id is plain and none occurs in its text,
 * so the common case (an erased customer who is in no export) costs a read, not a rewrite.
 */
async function mayHold(file: string, ids: ReadonlySet<string>): Promise<boolean> {
  if (![...ids].every((id) => PLAIN_ID.test(id))) return true;
  const longest = Math.max(...[...ids].map((id) => id.length));
  let tail = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8' })) {
    const text = tail + (chunk as string);
    for (const id of ids) if (text.includes(id)) return true;
    tail = text.slice(-longest);
  }
  return false;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const CR = 0x0d;
const NEWLINE = 0x0a;
/** Longer than any record an export writes (one customer's item): a file with such a record is not one. */
const MAX_RECORD_BYTES = 1 << 20;

/** A CSV error of this module: the file is not one this service wrote, so it is left alone. */
const notOurs = (message: string) => Object.assign(new Error(message), { code: 'CSV_NOT_AN_EXPORT' });

/** The one record `bytes` hold, parsed by csv-parse; not one record: not a file this service wrote. */
function oneRecord(bytes: Buffer): string[] {
  const records = parseCsv(bytes) as string[][];
  if (records.length !== 1) throw notOurs('a record is not one line of its own');
  return records[0];
}

/**
 * The file's bytes without the records whose userId is one of `ids`, every other byte as it is. Records
 * are found without parsing every field: a line break ends one unless it is inside quotes, and quotes
 * are balanced outside them (RFC 4180: a quote inside a quoted field is doubled). Only the header and
 * the records that contain one of the ids as text are parsed (csv-parse). This keeps an erasure's rewrite
 * of a large export to a fraction of a full parse (bench/erasure.ts).
 */
async function* keptCsvBytes(file: string, ids: ReadonlySet<string>, removed: Set<string>, counted: { rows: number }): AsyncGenerator<Buffer> {
  // As the id is written: a field with a quote is quoted, its quotes doubled (and with none, it is there as it is).
  const needles = [...ids].map((id) => Buffer.from(id.replaceAll('"', '""')));
  let userColumn = -1;
  // An audience export's (its header has `tier`): the rank column, numbered again after a removed row.
  let rankColumn = -1;
  let carry: Buffer = Buffer.alloc(0);
  /** Drops the complete records of `buf` that belong to `ids`; returns where the incomplete last one starts. */
  function* scan(buf: Buffer, atEnd: boolean): Generator<Buffer, number> {
    let start = 0;
    let keepFrom = 0;
    let quoted = false;
    // The next quote and the next occurrence of each id at or after `pos` (buf.length: none), so each is searched once per chunk.
    const after = (needle: number | Buffer, from: number) => {
      const at = buf.indexOf(needle, from);
      return at < 0 ? buf.length : at;
    };
    let nextQuote = -1;
    let pos = 0;
    const hits = needles.map(() => -1);
    while (start < buf.length) {
      let end = buf.indexOf(NEWLINE, pos);
      if (nextQuote < pos) nextQuote = after(QUOTE, pos);
      // Every quote before the line break flips inside/outside quotes.
      while (nextQuote < (end < 0 ? buf.length : end)) {
        quoted = !quoted;
        nextQuote = after(QUOTE, nextQuote + 1);
      }
      if (end < 0) {
        if (!atEnd) break;
        if (quoted) throw notOurs('a quoted field is never closed');
        end = buf.length;
      } else if (quoted) {
        // The line break is inside a quoted field: the record goes on.
        pos = end + 1;
        continue;
      } else end += 1;
      if (userColumn < 0) {
        const header = oneRecord(buf.subarray(start, end));
        userColumn = header.indexOf('userId');
        if (userColumn < 0) throw notOurs('no userId column');
        if (header.includes('tier')) rankColumn = header.indexOf('rank');
      } else {
        let holds = false;
        for (let n = 0; n < needles.length; n++) {
          if (hits[n] < start) hits[n] = after(needles[n], start);
          if (hits[n] < end) holds = true;
        }
        const userId = holds ? oneRecord(buf.subarray(start, end))[userColumn] : undefined;
        // The id as the export wrote it (csv-formulas.ts), and only that: the raw cell of customer `=x` is
        // `'=x`, which is customer `'=x` as files written before the escaping held it. Nothing in a file
        // tells which it is, and deleting another customer's rows is the worse error; such an old file
        // keeps the rows of a customer whose id starts with ' and then a formula's first character or another '
        // (csv-formulas.ts FORMULA_START), and only those.
        if (userId !== undefined && ids.has(formulaUnescaped(userId))) {
          removed.add(userId);
          counted.rows++;
          if (start > keepFrom) yield buf.subarray(keepFrom, start);
          keepFrom = end;
        } else if (rankColumn >= 0 && counted.rows > 0) {
          const rank = fieldSpan(buf, start, end, rankColumn);
          const text = rank && buf.toString('latin1', rank[0], rank[1]);
          if (rank && text && /^[0-9]{1,15}$/.test(text)) {
            if (rank[0] > keepFrom) yield buf.subarray(keepFrom, rank[0]);
            yield Buffer.from(String(Number(text) - counted.rows));
            keepFrom = rank[1];
          }
        }
      }
      start = pos = end;
    }
    if (start > keepFrom) yield buf.subarray(keepFrom, start);
    return start;
  }
  for await (const chunk of createReadStream(file)) {
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    carry = buf.subarray(yield* scan(buf, false));
    if (carry.length > MAX_RECORD_BYTES) throw notOurs('a record longer than 1 MiB');
  }
  if (carry.length > 0) yield* scan(carry, true);
}

/**
 * Where field `column` of the record buf[start, end) lies ([from, to), quotes included), or null when the
 * record has fewer fields. Fields are read as RFC 4180 writes them: a quoted one ends at a quote that is not
 * doubled.
 */
function fieldSpan(buf: Buffer, start: number, end: number, column: number): [number, number] | null {
  let from = start;
  for (let c = 0; ; c++) {
    let to = from;
    if (buf[from] === QUOTE) {
      to = from + 1;
      for (;;) {
        const q = buf.indexOf(QUOTE, to);
        if (q < 0 || q >= end) return null;
        if (buf[q + 1] === QUOTE) to = q + 2;
        else {
          to = q + 1;
          break;
        }
      }
    } else {
      while (to < end && buf[to] !== COMMA && buf[to] !== NEWLINE && buf[to] !== CR) to++;
    }
    if (c === column) return [from, to];
    if (buf[to] !== COMMA || to >= end) return null;
    from = to + 1;
  }
}

async function* keptJsonLines(file: string, ids: ReadonlySet<string>, removed: Set<string>, counted: { rows: number }): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    let record: { userId?: unknown; rank?: unknown; items?: unknown } | undefined;
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      // Not a line this service wrote: nothing to match, kept as it is.
    }
    const userId = record?.userId;
    if (typeof userId === 'string' && ids.has(userId)) {
      removed.add(userId);
      counted.rows++;
    } else if (counted.rows > 0 && record && Number.isSafeInteger(record.rank) && record.items === undefined) {
      // An audience export's line (a recommendations export's holds the customer's `items`): ranked again.
      // Written by JSON.stringify, the line reads back to the same text but for its rank.
      yield `${JSON.stringify({ ...record, rank: (record.rank as number) - counted.rows })}\n`;
    } else yield `${line}\n`;
  }
}

/** One file without the rows of `ids` (its userId column or field); returns what was removed. */
export async function scrubExportFile(file: string, ids: ReadonlySet<string>, format: ExportFormat): Promise<ScrubbedRows> {
  const removed = new Set<string>();
  const counted = { rows: 0 };
  const next = `${file}.${randomBytes(4).toString('hex')}.scrub`;
  try {
    if (!(await mayHold(file, ids))) return { rows: 0, customers: 0 };
    if (format === 'jsonl') {
      await pipeline(Readable.from(keptJsonLines(file, ids, removed, counted)), createWriteStream(next));
    } else {
      await pipeline(Readable.from(keptCsvBytes(file, ids, removed, counted)), createWriteStream(next));
    }
    if (counted.rows > 0) await rename(next, file);
  } catch (err) {
    // Removed meanwhile (the export was deleted), or not a CSV file this service wrote: nothing to scrub.
    const code = String((err as NodeJS.ErrnoException).code ?? '');
    if (code !== 'ENOENT' && !code.startsWith('CSV_')) throw err;
    return { rows: 0, customers: 0 };
  } finally {
    await rm(next, { force: true });
  }
  return { rows: counted.rows, customers: removed.size };
}
