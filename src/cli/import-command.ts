import { existsSync, statSync } from 'node:fs';
import { loadConfig, type Config } from '../config.js';
import type { Db } from '../data/db.js';
import { DATE_ORDERS, type DateOrder } from '../data/importers/field-parsers.js';
import { checkImportInput, IMPORT_FORMATS, runImport, type ImportFormat, type ImportReport, type ImportRequest } from '../data/importers/run-import.js';
import type { IgnoredColumn } from '../data/importers/import-report.js';
import { DELIMITER_NAMES, type CsvDelimiter } from '../data/importers/csv-source.js';
import { createProgress } from './progress.js';
import { printable } from './printable.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';
import { runningServer } from './server-handoff.js';
import { importFactors, parseFactorArgs } from './import-factors.js';

const USAGE = `Usage: npm run import -- <format> <path>

  online-retail FILE [--date-order mdy|dmy] [--delimiter ,|;]
                        a UCI Online Retail or Online Retail II export (.csv or .csv.gz); InvoiceDate
                        a/b/yyyy is read month first (mdy) or day first (dmy, a UK-locale export),
                        told from the file's dates when not given
  generic DIR [--delimiter ,|;]
                        a directory with items.csv, users.csv and/or events.csv
  factors DIR [--recipe NAME] [--source NAME]
                        ALS item (and user) factors trained elsewhere: implicit's .npy arrays with
                        id lists, or Spark MLlib ALS factors as CSV; trains a new model version whose
                        ALS source takes them (the other sources are trained as usual)

Options of online-retail and generic:
  --delimiter ,|;       the fields' delimiter (quote ";" in a shell; comma and semicolon are read too),
                        told from each file's first lines when not given

Formats: docs/import-formats.md and docs/factor-import.md. Writes to DATABASE_URL, or when it is unset
to the embedded database in DATA_DIR/pglite (default ./data); factors also to the model store
(REDIS_URL, or DATA_DIR). Importing the same data twice adds nothing.`;


/** Checks the arguments before any database is opened, so a typo costs nothing. */
export function parseImportArgs(args: string[]): ImportRequest {
  // Flags may come before, between or after the positionals, as `--flag value` or `--flag=value`.
  const positionals: string[] = [];
  let dateOrder: DateOrder | undefined;
  let delimiter: CsvDelimiter | undefined;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag === '--delimiter') {
      if (delimiter !== undefined) throw new UsageError('--delimiter given twice');
      const value = inline ?? args[++i];
      const named = DELIMITER_NAMES.get(value ?? '');
      if (!named) throw new UsageError('--delimiter needs "," or ";" (or comma, semicolon)');
      delimiter = named;
      continue;
    }
    if (flag !== '--date-order') {
      if (flag.startsWith('--')) throw new UsageError(`unknown option "${flag}"`);
      positionals.push(args[i]);
      continue;
    }
    if (dateOrder !== undefined) throw new UsageError('--date-order given twice');
    const value = inline ?? args[++i];
    if (!DATE_ORDERS.includes(value as DateOrder)) throw new UsageError(`--date-order needs ${DATE_ORDERS.join(' or ')}`);
    dateOrder = value as DateOrder;
  }
  const [format, path, ...rest] = positionals;
  if (!format) throw new UsageError('missing <format>');
  if (!IMPORT_FORMATS.includes(format as ImportFormat)) throw new UsageError(`unknown format "${format}": expected ${IMPORT_FORMATS.join(' or ')} (or factors DIR)`);
  if (!path) throw new UsageError(`missing <path>: ${format === 'generic' ? 'a directory' : 'a .csv or .csv.gz file'}`);
  if (dateOrder !== undefined && format !== 'online-retail') throw new UsageError('--date-order is for the online-retail format only');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  if (!existsSync(path)) throw new UsageError(`${path} does not exist`);
  const isDir = statSync(path).isDirectory();
  if (format === 'generic' && !isDir) throw new UsageError(`${path} is a file: the generic format is a directory`);
  if (format === 'online-retail' && isDir) throw new UsageError(`${path} is a directory: online-retail takes one .csv or .csv.gz file`);
  // As the API (and so a running server) requires: an .xlsx must be exported as CSV first.
  if (format === 'online-retail' && !/\.csv(\.gz)?$/i.test(path)) throw new UsageError(`${path}: online-retail takes a .csv or .csv.gz file (export a spreadsheet as CSV first)`);
  return { format: format as ImportFormat, path, ...(dateOrder ? { dateOrder } : {}), ...(delimiter ? { delimiter } : {}) };
}

const num = (n: number) => n.toLocaleString('en-US');

/** Columns under their count (`label`), one line per file: names escaped, an unnamed column by place, the likely meant column beside. */
function columnRows(label: string, columns: IgnoredColumn[], count = columns.length): [string, string][] {
  if (columns.length === 0) return [];
  const byFile = new Map<string, IgnoredColumn[]>();
  for (const c of columns) byFile.set(c.file, [...(byFile.get(c.file) ?? []), c]);
  return [
    [label, count > columns.length ? `${num(count)} (the first ${num(columns.length)} below)` : num(columns.length)],
    ...[...byFile].map(([file, cols]): [string, string] => [
      `  ${printable(file)}`,
      cols.map((c) => `${c.name === '' ? `column ${c.column} (no name)` : printable(c.name)}${c.meant ? ` (${c.meant}?)` : ''}`).join(', '),
    ]),
  ];
}

/** The report as an aligned two-column table, rejections by reason indented under their total. */
export function formatReport(r: ImportReport): string {
  const rejectedTotal = Object.values(r.rejected).reduce((a, b) => a + b, 0);
  const rows: [string, string][] = [
    ['rows read', num(r.rowsRead)],
    ['accepted', num(r.accepted)],
    ['rejected', num(rejectedTotal)],
    ...Object.entries(r.rejected)
      .sort((a, b) => b[1] - a[1])
      .map(([reason, n]): [string, string] => [`  ${reason}`, `${num(n)}${r.rejectedRows?.[reason] ? ` (rows ${r.rejectedRows[reason].join(', ')}${n > r.rejectedRows[reason].length ? ', ...' : ''})` : ''}`]),
    ...(r.shortened
      ? [
          ['accepted with a field cut to its limit', num(Object.values(r.shortened).reduce((a, b) => a + b, 0))] as [string, string],
          ...Object.entries(r.shortened).map(([field, n]): [string, string] => [`  ${field}`, num(n)]),
        ]
      : []),
    ...(r.untitledItems
      ? [[`items named by events without a title`, `${num(r.untitledItems)} (${r.untitledItemIds!.map(printable).join(', ')}${r.untitledItems > r.untitledItemIds!.length ? ', ...' : ''})`] as [string, string]]
      : []),
    ...columnRows('columns ignored, not read', r.ignoredColumns ?? [], r.ignoredColumnsCount),
    ...columnRows('columns stored as attributes', r.attributeColumns ?? [], r.attributeColumnsCount),
    ['new events', num(r.inserted)],
    ['already stored', num(r.duplicates)],
    ...(r.erased > 0 ? [['of erased customers, not stored', num(r.erased)] as [string, string]] : []),
    ['users', num(r.users)],
    ['items', num(r.items)],
    ['orders', num(r.orders)],
    ['duration', `${(r.durationMs / 1000).toFixed(1)} s`],
    ...(r.statisticsStale ? [['planner statistics', 'not gathered (autovacuum will): run ANALYZE for fast reads now'] as [string, string]] : []),
  ];
  const left = Math.max(...rows.map(([k]) => k.length));
  const right = Math.max(...rows.map(([, v]) => v.length));
  return rows.map(([k, v]) => `${k.padEnd(left)}  ${v.padStart(right)}`).join('\n');
}

/** The import's purchases newer than the active model's data, appended to the customers' live state (how many). */
async function feedLiveRecommendations(config: Config, db: Db, since: Date): Promise<number> {
  const [{ createModelStore }, { createImportedPurchasesFeed }] = await Promise.all([import('../store/create-model-store.js'), import('../serving/record-purchases.js')]);
  const store = await createModelStore(config, { connectWaitMs: 2000 });
  try {
    return await createImportedPurchasesFeed({ db, store, log: (err) => console.error(`live update after the import failed (the next training has them): ${(err as Error).message}`) })(since);
  } finally {
    await store.close();
  }
}

async function main(args: string[]): Promise<number> {
  if (args[0] === 'factors') {
    const factors = parseCommandLine(args.slice(1), USAGE, parseFactorArgs);
    return factors.ok ? importFactors(loadConfig(), factors.value) : factors.exit;
  }
  const cli = parseCommandLine(args, USAGE, parseImportArgs);
  if (!cli.ok) return cli.exit;
  const request = cli.value;
  const config = loadConfig();
  // A server owns the embedded data: the import runs there (the file is read by the server), followed here.
  const server = runningServer(config);
  // The headers first, with the command user's rights: a file of the wrong shape is told in a moment, exit 1, as
  // POST /v1/imports tells it, not after the embedded database started, nor after a file outside a running server's
  // roots was copied whole under them to be refused there (the server checks again: the file may change between).
  await checkImportInput(request);
  if (server) {
    const { finishJob, jobOnServer } = await import('./job-command.js');
    const handed = await jobOnServer(server, { label: `import ${request.format}`, there: 'importing there', route: '/v1/imports', body: { format: request.format, ...(request.dateOrder ? { dateOrder: request.dateOrder } : {}), ...(request.delimiter ? { delimiter: request.delimiter } : {}) }, localPath: request.path });
    return typeof handed === 'number' ? handed : finishJob(handed.progress, 'import', handed.job, (result) => console.log(formatReport(result as ImportReport)));
  }
  const { openDatabase } = await import('../data/open-database.js');
  const db = await openDatabase(config);
  try {
    const progress = createProgress(`import ${request.format}`);
    const since = new Date();
    const report = await runImport({ db }, request, (f) => progress.update(f)).catch(async (err: unknown) => {
      progress.stop('failed');
      // An import that stops part way has stored the rows before it, which importing the mended file does not store
      // again: they reach live recommendations now (as the job's do), not at the next training.
      if (config.REDIS_URL) await feedLiveRecommendations(config, db, since).catch(() => 0);
      throw err;
    });
    progress.stop();
    console.log(formatReport(report));
    // With Redis, as an import job on a server does: purchases newer than the active model's data reach
    // its live recommendations now, not at the next training. (Embedded data goes through a running server.)
    if (config.REDIS_URL && report.inserted > 0) {
      // The import is committed whatever happens here: a model store that refuses or does not answer costs
      // only the live effect (a warning), not the command's success (a script would import again).
      const live = await feedLiveRecommendations(config, db, since).catch((err: unknown) => {
        console.error(`warning: the imported purchases reach recommendations at the next training: ${(err as Error).message}`);
        return 0;
      });
      if (live > 0) console.log(`${num(live)} purchases newer than the active model's data now count in its live recommendations`);
    }
    return 0;
  } finally {
    // PGlite writes its files on close: always close, also after a failure.
    await db.close();
  }
}

// The database, the model store and the job machinery are loaded once the arguments and the file's header have
// passed: a usage error or a refused file is told without loading them (about 2 s of CPU of a start).
runCli(import.meta.url, main);
