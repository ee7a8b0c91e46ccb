/**
 * Campaign export files (EXPORT_DIR, one `<jobId>.csv` or `.jsonl` per export job) hold customer ids
 * and their lists. An erasure rewrites every such file without the erased customers' rows, so a file
 * fetched later (GET /v1/exports/:id/file) no longer names them. A file is rewritten under a temporary
 * name and renamed over the old one, so a reader sees the old file or the new one, never half of one;
 * a file without any of the customers is left as it is.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify as stringifyRows } from 'csv-stringify/sync';

const EXPORT_FILE = /\.(csv|jsonl)$/;

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
  for (const name of names.filter((n) => EXPORT_FILE.test(n))) removed += await scrubExportFile(join(dir, name), ids);
  return removed;
}

/** One file without the rows of `ids` (by its userId column or field); returns the rows removed. */
export async function scrubExportFile(file: string, ids: ReadonlySet<string>): Promise<number> {
  const next = `${file}.scrub`;
  let removed = 0;
  try {
    if (file.endsWith('.jsonl')) {
      const out = createWriteStream(next);
      for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
        if (line === '') continue;
        if (ids.has((JSON.parse(line) as { userId?: unknown }).userId as string)) removed++;
        else if (!out.write(`${line}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
    } else {
      let columns: string[] = [];
      const line = (values: unknown[]) => stringifyRows([values], { cast: { boolean: (v) => String(v) } });
      await pipeline(
        createReadStream(file),
        parse({ columns: (header: string[]) => (columns = header) }),
        async function* (records: AsyncIterable<Record<string, string>>) {
          let first = true;
          for await (const r of records) {
            // The header goes with the first row: the parser reads it before any record.
            if (first) yield line(columns);
            first = false;
            if (ids.has(r.userId)) removed++;
            else yield line(columns.map((c) => r[c]));
          }
          if (first && columns.length > 0) yield line(columns);
        },
        createWriteStream(next),
      );
    }
    if (removed > 0) await rename(next, file);
  } catch (err) {
    // Removed meanwhile (the export was deleted): nothing to scrub.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  } finally {
    await rm(next, { force: true });
  }
  return removed;
}
