import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { inspectFactorDir } from '../data/importers/factor-files.js';
import type { FactorImportJobParams } from '../jobs/job-handlers.js';
import { JOB_TYPES } from '../jobs/job-types.js';
import type { SideReport } from '../recommenders/imported-factors.js';
import type { TrainResult } from '../training/train-model.js';
import { UsageError } from './run-cli.js';
import { printable } from './printable.js';

/** `factors DIR [--recipe NAME] [--source NAME]`, checked before anything is opened. */
export function parseFactorArgs(args: string[]): FactorImportJobParams {
  const [dir, ...rest] = args;
  if (!dir || dir.startsWith('--')) throw new UsageError('missing <dir>: a directory of item (and user) factors, see docs/factor-import.md');
  const out: FactorImportJobParams = { path: dir };
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i].split(/=(.*)/s, 2) as [string, string | undefined];
    if (flag !== '--recipe' && flag !== '--source') throw new UsageError(`unexpected argument "${rest[i]}"`);
    const value = inline ?? rest[++i];
    if (value === undefined || value === '') throw new UsageError(`${flag} needs a value`);
    out[flag.slice(2) as 'recipe' | 'source'] = value;
  }
  if (!existsSync(dir)) throw new UsageError(`${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`${dir} is a file: factors are a directory (item_factors.npy + item_ids.txt, or item_factors.csv / item_factors/part-*.csv)`);
  return out;
}

const side = (name: string, s: SideReport) =>
  `${name.padEnd(6)} ${s.imported.toLocaleString('en-US')} rows: ${s.matched.toLocaleString('en-US')} matched, ${s.unknown.toLocaleString('en-US')} unknown here (skipped${s.unknownSample.length ? `, e.g. ${s.unknownSample.slice(0, 3).map(printable).join(', ')}` : ''}), ${s.missing.toLocaleString('en-US')} without a row`;

/** The training summary (`formatTrainResult`'s) with what the import matched and skipped. */
export function formatFactorImport(r: TrainResult, formatTrainResult: (r: TrainResult) => string): string {
  const f = r.factorImport;
  const head = f ? [`ALS source "${f.source}" from ${f.factors} imported factors`, side('items', f.items), side('users', f.users)] : [];
  return [...head, formatTrainResult(r)].join('\n');
}

/**
 * Runs a factor import as a job, like `POST /v1/factor-imports`: in the running server that owns the
 * embedded data, else here. The directory is read with the rights of whoever runs the command, so
 * IMPORT_ROOTS (which guards the HTTP route) does not apply here.
 */
export async function importFactors(config: Config, request: FactorImportJobParams): Promise<number> {
  const params = { ...request, path: path.resolve(request.path) };
  // Loaded here, not with the module: \`npm run import\` reads parseFactorArgs, and its other commands need neither.
  const [{ runJobCommand }, { formatTrainResult }] = await Promise.all([import('./job-command.js'), import('./train-command.js')]);
  return runJobCommand(config, {
    label: 'import factors',
    what: 'factor import',
    there: 'importing the factors there',
    type: JOB_TYPES.factorImport,
    route: '/v1/factor-imports',
    body: params,
    localPath: params.path,
    precheck: async () => void (await inspectFactorDir(params.path)),
    submit: (services, runningAs) => services.jobService.submitFactorImport(params, { runningAs, anyPath: true }),
    print: (result) => console.log(formatFactorImport(result as TrainResult, formatTrainResult)),
  });
}
