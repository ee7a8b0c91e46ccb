import { isUtf8 } from 'node:buffer';
import { constants } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { Transform, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse, type CsvError } from 'csv-parse';
import { AppError } from '../../errors.js';
import { pathWithinScope, type ReadScope } from '../import-roots.js';

export interface CsvSourceOptions extends ReadScope {
  /** Called with the bytes read from disk so far (compressed bytes for a gzip file). */
  onBytes?: (bytesRead: number) => void;
  /**
   * Called once for each record csv-parse could not read (a stray quote inside an unquoted field, ...); the
   * import goes on without it.
   * `readBefore`: how many records (the header included) the parser had read before it. The call comes
   * while the parser reads ahead, before the consumer has taken those records: place the skipped record
   * by this count, not by what the consumer has seen (see skippedRecordPlaces).
   */
  onSkip?: (readBefore: number) => void;
  /**
   * The most characters a record may hold (csv-parse max_record_size): past it the read fails (AppError
   * UNPROCESSABLE) instead of building a string as long as the file. The header checks set HEADER_MAX_CHARS;
   * every other read is bounded by RECORD_MAX_CHARS.
   */
  maxRecordChars?: number;
  /** The read is a check made before anything is imported (the header checks): its errors say nothing was. */
  beforeImport?: boolean;
  /** The field delimiter (sniffDelimiter tells a file's); `,` when absent. */
  delimiter?: CsvDelimiter;
  /** Read the file's first line only (csv-parse to_line): what follows it, a fault too, is not parsed. */
  firstLineOnly?: boolean;
}

/**
 * The field delimiters a file may use: `,`, and `;` of spreadsheets saved in locales whose decimal mark is a comma
 * (Excel and LibreOffice in German, French, Dutch, ... write `2,55` and separate fields with `;`).
 */
export type CsvDelimiter = ',' | ';';
export const CSV_DELIMITERS: readonly CsvDelimiter[] = [',', ';'];

/** The command lines' --delimiter values: the character, or its name (a `;` must be quoted in a shell). A Map: `toString` is no value. */
export const DELIMITER_NAMES: ReadonlyMap<string, CsvDelimiter> = new Map<string, CsvDelimiter>([[',', ','], [';', ';'], ['comma', ','], ['semicolon', ';']]);

/**
 * The longest first line the header checks read, in characters. A header is far shorter (the generic format's at
 * most 100 attribute columns of 256 characters and its own names are about 30 KB; Online Retail's 8 names): a first
 * line with no end (a quote never closed, a file without line ends, a gzip inflating to one endless line) was read
 * whole to be checked, up to a string past V8's limit (a 500 at submission after a minute and 0.8 GB).
 */
export const HEADER_MAX_CHARS = 256 * 1024;

/**
 * The longest record any read takes (csv-parse's max_record_size, counted in the bytes of its field and line
 * buffers): 32 MiB. No column has an upper length a row may not pass (a description over 10,000 characters is
 * cut on storage, not refused: a catalogue's descriptions may be whole HTML pages), so the bound is not a row's
 * longest but what no file meant as rows reaches: a record past it is a line end missing or a quote never closed,
 * whose reading (the rest of the file as one field) failed the job as an internal error once the string passed
 * V8's limit, after reading up to half a gigabyte into memory.
 */
export const RECORD_MAX_CHARS = 32 * 1024 * 1024;

const missing = (path: string) => (err: NodeJS.ErrnoException) => {
  throw err.code === 'ENOENT' ? new AppError('UNPROCESSABLE', `${path} does not exist`) : err;
};

/** The path to open for `path` within `scope` (pathWithinScope: its real path, under the roots) and what is there. */
async function statWithinScope(path: string, scope: ReadScope) {
  const real = await pathWithinScope(path, scope).catch(missing(path));
  return { real, info: await stat(real).catch(missing(path)) };
}

/**
 * Opens `path` for reading only if it is a regular file. Opening a named pipe (FIFO) waits for a writer,
 * for ever: an import of a directory holding one hung its job, every job queued behind it, and the
 * process's exit (the open holds a thread of libuv's pool). With `scope.roots`, only a file whose real
 * path, resolved now, lies under them (a link out of the roots is refused, see pathWithinScope); that
 * real path is opened, not following a link put in its place since.
 */
export async function openRegularFile(path: string, scope: ReadScope = {}): Promise<FileHandle> {
  const { real, info } = await statWithinScope(path, scope);
  if (!info.isFile()) throw new AppError('UNPROCESSABLE', `${path} is not a regular file`);
  return open(real, scope.roots ? constants.O_RDONLY | constants.O_NOFOLLOW : 'r').catch((err: NodeJS.ErrnoException) => {
    // Said as the file's problem (a 422 at an import's submission, the failed job's error), not as a 500.
    throw err.code === 'EACCES' || err.code === 'EPERM' ? new AppError('UNPROCESSABLE', `${basename(path)} is not readable by the service (permission denied)`) : err;
  });
}

/** `path`'s bytes, only if it is a regular file (openRegularFile, within `scope`). */
export async function readRegularFile(path: string, scope: ReadScope = {}): Promise<Buffer> {
  const handle = await openRegularFile(path, scope);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Gzip is told by its magic bytes rather than the file name, so a renamed file still reads. */
async function isGzip(handle: FileHandle): Promise<boolean> {
  const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
  return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
}

/**
 * File size in bytes, the denominator of byte-based progress. A missing path or a directory is the
 * caller's mistake, reported as such (the import job shows this message to whoever started it); so is,
 * with `scope.roots`, a link out of them.
 */
export async function fileSize(path: string, scope: ReadScope = {}): Promise<number> {
  const { info } = await statWithinScope(path, scope);
  if (!info.isFile()) throw new AppError('UNPROCESSABLE', `${path} is not a file`);
  return info.size;
}

/** How many bytes at the end of `buf` begin a UTF-8 sequence that the next chunk completes (0 to 3). */
function incompleteTail(buf: Buffer): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its sequence began further back
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}

/**
 * Offset of the first byte of `buf` that is not UTF-8: where the replacement character Node decodes in
 * its place stops matching the bytes (a U+FFFD written in the file matches its own bytes).
 */
function firstNonUtf8(buf: Buffer): number {
  let at = 0;
  for (const ch of buf.toString('utf8')) {
    const bytes = Buffer.from(ch);
    if (!buf.subarray(at, at + bytes.length).equals(bytes)) return at;
    at += bytes.length;
  }
  return at;
}

/**
 * Line ends in `buf` (CRLF, LF or a lone CR, as the parser reads them), `crBefore` telling that the bytes
 * before it ended in a CR whose line end is counted once it is known whether an LF follows.
 */
function lineEnds(buf: Buffer, crBefore: boolean): { ends: number; crAfter: boolean } {
  if (buf.length === 0) return { ends: 0, crAfter: crBefore };
  let ends = crBefore && buf[0] !== 10 ? 1 : 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 10) ends++;
    else if (buf[i] === 13 && i + 1 < buf.length && buf[i + 1] !== 10) ends++;
  }
  return { ends, crAfter: buf[buf.length - 1] === 13 };
}

/**
 * A stream step passing the bytes through unchanged, failing on the first one that is not UTF-8. Decoding
 * with replacement, as csv-parse does, turned a Latin-1 (Windows-1252) file's `José` and `Josè` into one
 * customer `Jos\uFFFD`, silently. A sequence split between two chunks is checked once it is whole.
 */
function strictUtf8(path: string, beforeImport = false): Transform {
  let carry = Buffer.alloc(0);
  let offset = 0; // bytes checked before `carry`
  let line = 1;
  let cr = false; // the bytes so far ended in a CR
  const fail = (buf: Buffer, bad: number) => {
    // A CR right before the bad byte ends its line too.
    const { ends, crAfter } = lineEnds(buf.subarray(0, bad), cr);
    const newlines = ends + (crAfter ? 1 : 0);
    const shown = [...buf.subarray(bad, bad + 4)].map((b) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`).join(' ');
    return new AppError(
      'UNPROCESSABLE',
      `${basename(path)} is not UTF-8: line ${line + newlines} (byte ${offset + bad}) holds ${shown || 'a sequence cut short by the end of the file'}. ` +
        'Files must be UTF-8 (Excel: save as "CSV UTF-8"); read as UTF-8, a Latin-1 or Windows-1252 file would store other names and titles than its own. ' +
        (beforeImport ? 'Nothing was imported; import the converted file' : 'The import stopped there; import the converted file again (rows already imported are not added twice)'),
    );
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      const whole = buf.length - incompleteTail(buf);
      const checked = buf.subarray(0, whole);
      if (!isUtf8(checked)) return done(fail(checked, firstNonUtf8(checked)));
      const { ends, crAfter } = lineEnds(checked, cr);
      [line, cr] = [line + ends, crAfter];
      offset += whole;
      carry = Buffer.from(buf.subarray(whole));
      done(null, checked);
    },
    flush(done) {
      done(carry.length > 0 ? fail(carry, 0) : null);
    },
  });
}

/**
 * csv-parse errors after which it no longer knows where a field ends: it goes on reading the following
 * lines as the inside of a quoted field, so skipping the record would silently skip every row up to the
 * next quote in the file, often all the rest of it.
 */
const LOSES_ITS_PLACE: ReadonlySet<string> = new Set(['CSV_QUOTE_NOT_CLOSED', 'CSV_INVALID_CLOSING_QUOTE']);

/** The import's error for a quote the parser cannot get past: which record, where, and what to fix. */
function brokenQuote(path: string, err: CsvError, startLine: number, dataRow: number, beforeImport = false): AppError {
  const why =
    err.code === 'CSV_QUOTE_NOT_CLOSED'
      ? 'opens a quoted field that is never closed'
      : `has a quoted field whose closing quote (line ${err.lines}) is followed by more text instead of a comma or the end of the line`;
  return new AppError(
    'UNPROCESSABLE',
    `${basename(path)}: the record at line ${startLine} (${dataRow === 0 ? 'the header line' : `data row ${dataRow}`}) ${why}; the rest of the file cannot be read reliably, ` +
      (beforeImport
        ? 'so nothing was imported. Quote a field holding a quote whole and double its quotes ("MUG 12"" TALL"), then import the file'
        : 'so the import stopped there. Quote a field holding a quote whole and double its quotes ("MUG 12"" TALL"), then import the file again (rows already imported are not added twice)'),
  );
}

/**
 * The read's error for a record longer than `opts.maxRecordChars`: in a header check, the first line is no header
 * then; in an import, the rows before it were read and the rest of the file cannot be.
 */
function tooLong(path: string, readBefore: number, startLine: number, max: number, beforeImport: boolean): AppError {
  if (!beforeImport) {
    return new AppError(
      'UNPROCESSABLE',
      `${basename(path)}: the record at line ${startLine} (${readBefore === 0 ? 'the header line' : `data row ${readBefore}`}) is longer than a record may be ` +
        `(more than ${max} bytes without the end of the line, or inside a quote never closed); the rest of the file cannot be read reliably, ` +
        'so the import stopped there. Mend the line and import the file again (rows already imported are not added twice)',
    );
  }
  const where = readBefore === 0 ? 'its first line is longer than a header can be' : `the record at line ${startLine} is longer than the header check reads`;
  return new AppError(
    'UNPROCESSABLE',
    `${basename(path)}: ${where} (more than ${max} characters without the end of the line, or inside a quote never closed): ` +
      'the file must begin with a header line naming its columns',
  );
}

/**
 * Streams the records of a CSV file (plain or gzip) as arrays of strings, the header first. Memory
 * stays flat whatever the file size: the parser is pulled by async iteration, so reading pauses while
 * the caller writes a batch. Lines may end in CRLF, LF or CR, mixed in one file (two exports
 * concatenated). A quote that makes the parser lose its place fails the read (AppError UNPROCESSABLE
 * naming the record's line), rather than skipping the rest of the file as one record; so does a byte
 * that is not UTF-8 (naming its line). The file is opened once (openRegularFile, within `opts.roots`).
 */
export async function* readCsvRecords(path: string, opts: CsvSourceOptions = {}): AsyncGenerator<string[]> {
  const handle = await openRegularFile(path, opts);
  const gzip = await isGzip(handle).catch(async (err: unknown) => {
    await handle.close();
    throw err;
  });
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      opts.onBytes?.(bytes);
      done(null, chunk);
    },
  });
  // The line the last record read ended on (lines inside quoted fields count), and the empty lines skipped
  // by then: the next record starts after it and the empty lines skipped since.
  let lastLine = 0;
  let emptyLines = 0;
  let skipped = 0;
  // Where the last skip was reported: records read before it, and its line.
  let lastSkip = '';
  const maxRecordChars = opts.maxRecordChars ?? RECORD_MAX_CHARS;
  const parser = parse({
    bom: true,
    delimiter: opts.delimiter ?? ',',
    // Every line end, not only the first line's: detected from the first line, a file switching from
    // CRLF to LF was read as one record from the switch on.
    record_delimiter: ['\r\n', '\n', '\r'],
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: maxRecordChars,
    ...(opts.firstLineOnly ? { to_line: 1 } : {}),
    on_record: (record: string[], info) => {
      lastLine = info.lines;
      emptyLines = info.empty_lines;
      return record;
    },
    on_skip: (err) => {
      // Thrown here, csv-parse fails the stream with it, and the iteration below throws it.
      // Skipped, the parser would go on filling the same record (with skip_records_with_error, errors come here).
      if (err?.code === 'CSV_MAX_RECORD_SIZE') throw tooLong(path, parser.info.records + skipped, lastLine + 1 + (Number(err.empty_lines) - emptyLines), maxRecordChars, opts.beforeImport ?? false);
      if (err && LOSES_ITS_PLACE.has(err.code)) throw brokenQuote(path, err, lastLine + 1 + (Number(err.empty_lines) - emptyLines), parser.info.records + skipped, opts.beforeImport);
      // csv-parse reports an error per stray quote (`12 "DAISY" PEGS "TALL"`: four): one record, skipped once.
      const at = `${parser.info.records}:${String(err?.lines)}`;
      if (at === lastSkip) return undefined;
      lastSkip = at;
      skipped++;
      if (typeof err?.lines === 'number') [lastLine, emptyLines] = [err.lines, Number(err.empty_lines)];
      opts.onSkip?.(parser.info.records);
      return undefined;
    },
  });
  // The stream closes the handle when it ends or is destroyed (pipeline destroys it when the reading stops).
  const streams: (Readable | Transform)[] = [handle.createReadStream({ start: 0 }), counter];
  if (gzip) streams.push(createGunzip());
  streams.push(strictUtf8(path, opts.beforeImport));
  // pipeline destroys every stream on a read or gunzip error, so the iteration below throws it.
  pipeline([...streams, parser], () => {});
  try {
    for await (const record of parser as AsyncIterable<string[]>) yield record;
  } catch (err) {
    throw gzipFault(path, err, bytes) ?? err;
  }
}

/** How many fields the first record of `path` has read with `delimiter`; 0 for a file it cannot read that way. */
async function headerWidth(path: string, scope: ReadScope, delimiter: CsvDelimiter): Promise<number> {
  try {
    // The first line only: a fault further down (`"mug 12" tall` at row 10) would fail the read before its first record.
    for await (const rec of readCsvRecords(path, { ...scope, delimiter, firstLineOnly: true, maxRecordChars: HEADER_MAX_CHARS, beforeImport: true })) return rec.length;
  } catch {
    // A quote that closes before a `;` is broken CSV read with `,` (`"id";"title"`), and the other way round.
  }
  return 0;
}

/** The data rows the delimiter is told by when its header line leaves it open (sniffDelimiter). */
const SNIFF_ROWS = 20;

/**
 * How the first SNIFF_ROWS data rows of `path` (within HEADER_MAX_CHARS characters) read with `delimiter`: `all` when
 * every one has `width` fields, `most` when more than half do, else `few` (also when none was read, or when the read
 * fails: the stream drops what it had read, and a fault in the rows tells nothing either way, the import reports it
 * by its line).
 */
async function rowsAsWide(path: string, scope: ReadScope, delimiter: CsvDelimiter, width: number): Promise<'all' | 'most' | 'few'> {
  let rows = 0;
  let wide = 0;
  let chars = 0;
  let header = true;
  try {
    for await (const rec of readCsvRecords(path, { ...scope, delimiter, maxRecordChars: HEADER_MAX_CHARS, beforeImport: true })) {
      if (header) { header = false; continue; }
      rows++;
      if (rec.length === width) wide++;
      chars += rec.reduce((n, cell) => n + cell.length, 0);
      if (rows >= SNIFF_ROWS || chars >= HEADER_MAX_CHARS) break;
    }
  } catch {
    return 'few';
  }
  return rows > 0 && wide === rows ? 'all' : wide * 2 > rows ? 'most' : 'few';
}

/**
 * The delimiter of a file's fields, told from its header line (the first record): `;` when the line read with it has
 * more fields than read with `,` (`id;title;price`, `"InvoiceNo";"StockCode";...`), else `,`, the format's own. A
 * header names its columns, one name a field, and mostly holds no delimiter of the other kind, where a data row (a
 * description, a `2,55` price) may. A header that splits both ways (a `,` file's column `size; colour; fit`, a `;`
 * file's `Name, first`) leaves it open: the first rows below it then tell, as csv.Sniffer does: the other delimiter is
 * taken when it reads each of them into as many fields as the header and the header's reads at most half of them so
 * (its count varies with the cells); else the header's rule stands (a row of another length does not turn a file). A file that cannot be read either way (not UTF-8, a first line with no end) is
 * `,`, and its read fails saying why. A file it tells wrong is imported with the delimiter given (`delimiter`).
 */
export async function sniffDelimiter(path: string, scope: ReadScope = {}): Promise<CsvDelimiter> {
  const comma = await headerWidth(path, scope, ',');
  const semicolon = await headerWidth(path, scope, ';');
  const byHeader: CsvDelimiter = semicolon > comma && semicolon > 1 ? ';' : ',';
  if (comma <= 1 || semicolon <= 1) return byHeader;
  // The rows overrule the header only when its delimiter misreads most of them: a file it reads is not turned by a
  // row of another length (one short of a trailing cell, one with a field too many: that row is the import's to refuse).
  const other: CsvDelimiter = byHeader === ',' ? ';' : ',';
  const [byHeaderRows, otherRows] = [await rowsAsWide(path, scope, byHeader, byHeader === ',' ? comma : semicolon), await rowsAsWide(path, scope, other, other === ',' ? comma : semicolon)];
  return otherRows === 'all' && byHeaderRows === 'few' ? other : byHeader;
}

/**
 * `err` (a header refused by its format's check) with the delimiter to give when the first line `header`, read with
 * `delimiter` (told, not given), holds the other one in its cells: its fields may be separated by that one, the
 * delimiter told wrong. Says nothing of the line's content (it may be a customer's row). Other errors as they are.
 * `how` says how to give it (by default to npm run import and POST /v1/imports).
 */
export function withDelimiterHint(
  err: unknown,
  header: string[],
  delimiter: CsvDelimiter,
  given: boolean,
  how: (other: CsvDelimiter) => string = (other) => `--delimiter "${other}" for npm run import, "delimiter": "${other}" in POST /v1/imports`,
): unknown {
  const other: CsvDelimiter = delimiter === ',' ? ';' : ',';
  if (given || !(err instanceof AppError) || err.code !== 'UNPROCESSABLE' || !header.some((cell) => cell.includes(other))) return err;
  return new AppError(
    err.code,
    `${err.message}. Its fields were read as separated by "${delimiter}" (told from the file); if they are separated by "${other}", give the delimiter: ${how(other)}`,
    err.details,
  );
}

/**
 * A gzip file cut short (an interrupted download or copy) or damaged fails in gunzip with zlib's terse
 * "unexpected end of file": said as what it is to whoever imports it, an UNPROCESSABLE file like the others.
 */
function gzipFault(path: string, err: unknown, bytesRead: number): AppError | undefined {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code !== 'Z_BUF_ERROR' && code !== 'Z_DATA_ERROR') return undefined;
  const what = code === 'Z_BUF_ERROR' ? 'ends inside its compressed data: the file is cut short (an interrupted download or copy?)' : `holds damaged compressed data (near byte ${bytesRead})`;
  return new AppError(
    'UNPROCESSABLE',
    `${basename(path)} ${what}. The import stopped there; import a whole copy of the file again (rows already imported are not added twice)`,
  );
}

/**
 * Numbers the data rows of a file as written (1 = the first after the header), skipped records
 * included, although csv-parse reports a skip before the consumer reaches the records read before it:
 * `skipped(readBefore)` numbers a skipped record, `next()` the next record the consumer takes.
 */
export function dataRowNumbers() {
  const skips: number[] = [];
  let taken = 0;
  let passed = 0;
  return {
    skipped(readBefore: number): number {
      skips.push(readBefore);
      return readBefore - 1 + skips.length;
    },
    /** The header counts as taken too: call it for every record, and use the number for data rows only. */
    next(): number {
      taken++;
      // Skips that came before this record in the file: those reported with fewer records read before them.
      while (passed < skips.length && skips[passed] < taken) passed++;
      return taken - 1 + passed;
    },
  };
}
