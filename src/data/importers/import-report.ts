import type { CsvDelimiter } from './csv-source.js';
import type { DateOrder } from './field-parsers.js';
import type { ReadScope } from '../import-roots.js';

/** A column of a generic file that the import read for nothing (ImportReport.ignoredColumns). */
export interface IgnoredColumn {
  /** The file's name (`events.csv`, `items.csv.gz`). */
  file: string;
  /** Its place in the header, 1 for the first. */
  column: number;
  /** Its name as written (trimmed; empty for a column without one). */
  name: string;
  /** The column of the format, absent from the file, that it likely is under another name (`unit_price`: price). */
  meant?: string;
}

/**
 * A column of items.csv stored as an attribute of each product (ImportReport.attributeColumns); `meant` when its
 * name likely is a column of the format the file lacks (`titel`: title, `unit_price`: price).
 */
export type AttributeColumn = IgnoredColumn;

/** What an import did, returned by runImport and shown by the CLI and the import job. */
export interface ImportReport {
  /** Data rows read (header rows excluded), accepted or not. */
  rowsRead: number;
  /** Rows that passed validation and cleaning. */
  accepted: number;
  /** Rejected rows by reason; each row counts once, under the first rule it fails. */
  rejected: Record<string, number>;
  /**
   * Of the accepted rows, the returns (Online Retail's cancellation lines, generic `return` rows), stored as return
   * events (their new and stored ones counted in `inserted` and `duplicates` too). Absent when there were none.
   */
  returns?: number;
  /**
   * Where to look: the first few rejected rows of each reason, as data-row numbers of their file (1 is
   * the first row after the header; a quoted field spanning lines is one row). Absent when none is known.
   */
  rejectedRows?: Record<string, number[]>;
  /**
   * Accepted rows with a field cut to the API's limit, by file and field (`items.description`): a product
   * whose description is too long is kept with it cut, rather than refused and then created blank by its
   * purchases. Absent when none was.
   */
  shortened?: Record<string, number>;
  /**
   * Generic format: items named by this import's events that are stored without a title (no accepted row
   * of items.csv, now or before, described them: a refused row, or none), and the first few of them by id.
   * They are recommended like any product, with an empty title. Absent when there are none.
   */
  untitledItems?: number;
  untitledItemIds?: string[];
  /**
   * Generic format: columns whose values were stored nowhere, in file order: events.csv's columns the format does
   * not know (unit_price is not price), and columns without a name (items and users keep other columns as
   * attributes). Absent when there are none.
   */
  ignoredColumns?: IgnoredColumn[];
  /** How many columns were ignored in all, when more than the IGNORED_COLUMNS_KEPT listed in `ignoredColumns`. */
  ignoredColumnsCount?: number;
  /**
   * Generic format: the columns of items.csv and users.csv stored as attributes of its products and customers (a column the format does not
   * know), in file order, with the column of the format a misspelt one likely is (`meant`). They are stored as
   * written all the same: attributes are a feature; a `meant` one tells the file to rename it. Absent when none.
   */
  attributeColumns?: AttributeColumn[];
  /** How many columns were stored as attributes in all, when more than the IGNORED_COLUMNS_KEPT listed. */
  attributeColumnsCount?: number;
  /** Events (purchases; views, carts and ratings in the generic format) that were new to the database. */
  inserted: number;
  /** Events already stored (a re-import of the same rows). */
  duplicates: number;
  /**
   * Not stored, so an erased history stays erased: events of erased customers dated at or before their
   * erasure, and users-file rows of erased customers not seen since.
   */
  erased: number;
  /** Distinct users, items and orders among the accepted rows. */
  users: number;
  items: number;
  orders: number;
  durationMs: number;
  /**
   * Set when the planner's statistics could not be gathered after the import (a lock held by other
   * maintenance, a lost connection): the rows are stored; reads plan without them until autovacuum runs.
   */
  statisticsStale?: true;
}

/** Called with the share of the input read so far, 0..1 (bytes as stored on disk, so gzip bytes for .gz). */
export type ProgressCallback = (fraction: number) => void;

/** Knobs of the importers: runImport passes the request's dateOrder and leaves the others at their defaults (tests use small batches). */
/** `roots`: the files read must lie under them, links resolved as each is opened (an import made through the API). */
export interface ImporterOptions extends ReadScope {
  /** Purchases per write (default 5,000). */
  batchSize?: number;
  /** Writes in flight at once (default 2; see event-batch-writer.ts). */
  writesInFlight?: number;
  /** How long each write waits for Postgres to come back, in all (default IMPORT_OUTAGE_RETRY_MS, a minute); tests shorten it. */
  outageWaitMs?: number;
  /** Online Retail: how slashed dates are read; told from the file when absent (see importOnlineRetail). */
  dateOrder?: DateOrder;
  /** The field delimiter of every file read; told from each file when absent (sniffDelimiter). */
  delimiter?: CsvDelimiter;
}

/** Rejected rows whose numbers a report keeps per reason, and untitled item ids it names. */
export const REJECTED_ROWS_KEPT = 5;

/**
 * Ignored columns listed in a report, and the longest name listed: a header of thousands of unknown or very long
 * names would otherwise make a job result of hundreds of kilobytes, stored and listed by GET /v1/imports.
 */
export const IGNORED_COLUMNS_KEPT = 20;
const IGNORED_NAME_LENGTH = 128;

/** Adds the first of `columns` to `kept` up to IGNORED_COLUMNS_KEPT (names cut to 128 characters); how many there were. */
function keep(kept: IgnoredColumn[], columns: readonly IgnoredColumn[]): number {
  for (const c of columns) if (kept.length < IGNORED_COLUMNS_KEPT) kept.push({ ...c, name: [...c.name].slice(0, IGNORED_NAME_LENGTH).join('') });
  return columns.length;
}

/** Accumulates the counts of one import; `finish` freezes them into a report. */
export class ReportCounter {
  rowsRead = 0;
  accepted = 0;
  returns = 0;
  inserted = 0;
  duplicates = 0;
  erased = 0;
  readonly rejected: Record<string, number> = {};
  readonly rejectedRows: Record<string, number[]> = {};
  readonly shortened: Record<string, number> = {};
  readonly ignoredColumns: IgnoredColumn[] = [];
  private ignoredCount = 0;
  readonly attributeColumns: AttributeColumn[] = [];
  private attributeCount = 0;
  readonly users = new Set<string>();
  readonly items = new Set<string>();
  readonly orders = new Set<string>();
  private untitled: { count: number; first: string[] } = { count: 0, first: [] };
  private readonly started = performance.now();

  /** Counts a rejected row; `row` (its data-row number in its file) is kept for the first REJECTED_ROWS_KEPT of the reason. */
  reject(reason: string, row?: number): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
    if (row === undefined) return;
    const rows = (this.rejectedRows[reason] ??= []);
    if (rows.length < REJECTED_ROWS_KEPT) rows.push(row);
  }

  /** Records columns read for nothing: the first IGNORED_COLUMNS_KEPT listed (names cut to 128 characters), all counted. */
  ignore(columns: readonly IgnoredColumn[]): void {
    this.ignoredCount += keep(this.ignoredColumns, columns);
  }

  /** Records the columns stored as attributes, bounded as ignored columns are. */
  storeAsAttributes(columns: readonly AttributeColumn[]): void {
    this.attributeCount += keep(this.attributeColumns, columns);
  }

  /** Counts an accepted row whose `field` was cut to its limit. */
  shorten(field: string): void {
    this.shortened[field] = (this.shortened[field] ?? 0) + 1;
  }

  /** Records the items named by events that are stored without a title (see ImportReport.untitledItems). */
  untitledItems(found: { count: number; first: string[] }): void {
    this.untitled = found;
  }

  finish(): ImportReport {
    return {
      rowsRead: this.rowsRead,
      accepted: this.accepted,
      rejected: { ...this.rejected },
      ...(this.returns > 0 ? { returns: this.returns } : {}),
      ...(Object.keys(this.rejectedRows).length > 0 ? { rejectedRows: structuredClone(this.rejectedRows) } : {}),
      ...(Object.keys(this.shortened).length > 0 ? { shortened: { ...this.shortened } } : {}),
      ...(this.untitled.count > 0 ? { untitledItems: this.untitled.count, untitledItemIds: [...this.untitled.first] } : {}),
      ...(this.ignoredColumns.length > 0 ? { ignoredColumns: this.ignoredColumns.map((c) => ({ ...c })) } : {}),
      ...(this.ignoredCount > this.ignoredColumns.length ? { ignoredColumnsCount: this.ignoredCount } : {}),
      ...(this.attributeColumns.length > 0 ? { attributeColumns: this.attributeColumns.map((c) => ({ ...c })) } : {}),
      ...(this.attributeCount > this.attributeColumns.length ? { attributeColumnsCount: this.attributeCount } : {}),
      inserted: this.inserted,
      duplicates: this.duplicates,
      erased: this.erased,
      users: this.users.size,
      items: this.items.size,
      orders: this.orders.size,
      durationMs: Math.round(performance.now() - this.started),
    };
  }
}
