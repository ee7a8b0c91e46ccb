/**
 * Campaign export files (EXPORT_DIR, one `<jobId>.csv` or `.jsonl` per export job) hold customer ids
 * and their lists. An erasure rewrites every such file without the erased customers' rows, so a file
 * fetched later (GET /v1/exports/:id/file) no longer names them. A file is rewritten under a temporary
 * name of its own and renamed over the old one, so a reader sees the old file or the new one, never half
 * of one. Callers hold the erasure lock (erasure-repository ERASURE_SERIAL), so two rewrites of one file
 * never overlap. A file that does not hold any of the customers is only read, not rewritten. A CSV file
 * that does not parse (not one this service wrote) is left alone: it must not block every erasure.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify as stringifyRows } from 'csv-stringify/sync';

export type ExportFormat = 'csv' | 'jsonl';

const EXPORT_FILE = /\.(csv|jsonl)$/;

export interface ScrubbedRows {
  /** Rows (lines) removed. */
  rows: number;
  /** Distinct customers whose rows were removed. */
  customers: number;
}

/** Rewrites without `ids` every export file in `dir` that holds any of them; returns the rows removed. */
export async function scrubExportFiles(dir: string, ids: ReadonlySet<string>): Promise<number> {
  if (ids.size === 0) return 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names.filter((n) => EXPORT_FILE.test(n))) {
    removed += (await scrubExportFile(join(dir, name), ids, name.endsWith('.jsonl') ? 'jsonl' : 'csv')).rows;
  }
  return removed;
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

async function* keptJsonLines(file: string, ids: ReadonlySet<string>, removed: Set<string>, counted: { rows: number }): AsyncGenerator<string> {
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    let userId: unknown;
    try {
      userId = (JSON.parse(line) as { userId?: unknown }).userId;
    } catch {
      // Not a line this service wrote: nothing to match, kept as it is.
    }
    if (typeof userId === 'string' && ids.has(userId)) {
      removed.add(userId);
      counted.rows++;
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
      let columns: string[] = [];
      const line = (values: unknown[]) => stringifyRows([values]);
      await pipeline(
        createReadStream(file),
        parse({ columns: (header: string[]) => (columns = header) }),
        async function* (records: AsyncIterable<Record<string, string>>) {
          let first = true;
          for await (const r of records) {
            // The header goes with the first row: the parser reads it before any record.
            if (first) yield line(columns);
            first = false;
            if (ids.has(r.userId)) {
              removed.add(r.userId);
              counted.rows++;
            } else yield line(columns.map((c) => r[c]));
          }
          if (first && columns.length > 0) yield line(columns);
        },
        createWriteStream(next),
      );
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
