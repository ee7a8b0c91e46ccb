import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from '../db.js';
import { checkGenericDir, importGeneric } from './generic-importer.js';
import type { CsvDelimiter } from './csv-source.js';
import type { DateOrder } from './field-parsers.js';
import type { ImportReport, ProgressCallback } from './import-report.js';
import { checkOnlineRetailHeader, importOnlineRetail } from './online-retail-importer.js';

export type ImportFormat = 'online-retail' | 'generic';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['online-retail', 'generic'];

export interface ImportRequest {
  format: ImportFormat;
  /** A CSV file (.csv or .csv.gz) for online-retail, a directory for generic. */
  path: string;
  /** online-retail: how slashed dates (a/b/yyyy) are read; told from the file's dates when absent. */
  dateOrder?: DateOrder;
  /** The field delimiter of the file(s): `,` or `;`; told from each file (sniffDelimiter) when absent. */
  delimiter?: CsvDelimiter;
  /**
   * Directories the files read must lie in, links resolved as each is opened (IMPORT_ROOTS, for an import made
   * through the API); unset = anywhere this process can read (the CLI, the bundled sample).
   */
  roots?: readonly string[];
}

/** The bundled Online Retail slice the server loads on first start (see sample/SOURCE.txt). */
export const BUNDLED_SAMPLE_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../sample/online-retail-sample.csv.gz');

/**
 * Imports a file or directory into the database: the one entry point of the CLI, the HTTP import job
 * and first-start sample loading. Idempotent: running it again on the same input inserts no new events.
 * Throws AppError UNPROCESSABLE, before writing anything, when the input's header is not the format's.
 * `deps.outageWaitMs`: how long each write waits for Postgres to come back (default IMPORT_OUTAGE_RETRY_MS, a minute).
 */
export async function runImport(deps: { db: Db; outageWaitMs?: number }, request: ImportRequest, onProgress?: ProgressCallback): Promise<ImportReport> {
  let report: ImportReport;
  switch (request.format) {
    case 'online-retail':
      report = await importOnlineRetail(deps.db, request.path, onProgress, { dateOrder: request.dateOrder, delimiter: request.delimiter, roots: request.roots, outageWaitMs: deps.outageWaitMs });
      break;
    case 'generic':
      report = await importGeneric(deps.db, request.path, onProgress, { delimiter: request.delimiter, roots: request.roots, outageWaitMs: deps.outageWaitMs });
      break;
  }
  if (report.inserted > 0 || report.users > 0 || report.items > 0) {
    const started = performance.now();
    const analysed = await refreshStatistics(deps.db);
    report = { ...report, durationMs: report.durationMs + Math.round(performance.now() - started), ...(analysed ? {} : { statisticsStale: true }) };
  }
  return report;
}

/**
 * The checks an import makes before it writes anything that need only its files: each header (required columns,
 * refused column sets), read as the import reads it (gzip, within `request.roots`). Made when an import is
 * submitted (POST /v1/imports, npm run import before it opens the database), so that a file of the wrong shape is
 * refused then rather than as a failed job; the import makes them again, as the file may have changed since.
 * Throws AppError UNPROCESSABLE naming the file and what is wrong.
 */
export async function checkImportInput(request: ImportRequest): Promise<void> {
  const scope = { roots: request.roots };
  if (request.format === 'online-retail') await checkOnlineRetailHeader(request.path, scope, request.delimiter);
  else await checkGenericDir(request.path, scope, request.delimiter);
}

/** How long the statistics wait for a lock another maintenance task holds (a VACUUM, an index built concurrently). */
const ANALYZE_LOCK_WAIT = '5s';

/**
 * The planner's statistics of the tables an import fills, gathered now rather than whenever autovacuum gets
 * to them (never, where it is off; PGlite has none). Without them Postgres guesses that any 64 customers
 * hold a third of all purchases, and reads the whole table for the batched reads of serving
 * (batched-reads.ts): 400 ms a batch at ten times Online Retail instead of 2 ms. 0.6 s at that size.
 * Best effort: the rows are committed, so a failure (a lock held past ANALYZE_LOCK_WAIT, a lost
 * connection) does not fail the import; false then, and autovacuum gathers them later.
 */
async function refreshStatistics(db: Db): Promise<boolean> {
  try {
    await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = '${ANALYZE_LOCK_WAIT}'`);
      await tx.query('ANALYZE users, items, purchase_events, interaction_events, item_buyers');
    });
    return true;
  } catch {
    return false;
  }
}

export type { ImportReport, ProgressCallback } from './import-report.js';
