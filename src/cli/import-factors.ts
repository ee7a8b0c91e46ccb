import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { openDatabase } from '../data/open-database.js';
import { AppError } from '../errors.js';
import type { FactorImportJobParams } from '../jobs/job-handlers.js';
import { createJobRunner } from '../jobs/job-runner.js';
import { JOB_TYPES } from '../jobs/job-types.js';
import { createServices } from '../services.js';
import { createModelStore } from '../store/create-model-store.js';
import type { SideReport } from '../recommenders/imported-factors.js';
import type { TrainResult } from '../training/train-model.js';
import { createProgress } from './progress.js';
import { UsageError } from './run-cli.js';
import { runJobOnServer, runningServer } from './server-handoff.js';
import { formatTrainResult } from './train-command.js';

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
  `${name.padEnd(6)} ${s.imported.toLocaleString('en-US')} rows: ${s.matched.toLocaleString('en-US')} matched, ${s.unknown.toLocaleString('en-US')} unknown here (skipped${s.unknownSample.length ? `, e.g. ${s.unknownSample.slice(0, 3).join(', ')}` : ''}), ${s.missing.toLocaleString('en-US')} without a row`;

/** The training summary with what the import matched and skipped. */
export function formatFactorImport(r: TrainResult): string {
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
  const progress = createProgress('import factors');
  const server = runningServer(config);
  if (server) {
    console.log(`The server at ${server.url} (pid ${server.pid}) owns the data: importing the factors there.`);
    const job = await runJobOnServer(server, '/v1/factor-imports', params, progress);
    return report(job.id, job.status, job.error, job.result as TrainResult);
  }
  const db = await openDatabase(config);
  const store = await createModelStore(config).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  try {
    const services = createServices({ config, db, store });
    const handler = services.jobRunnerOptions.handlers[JOB_TYPES.factorImport];
    const runner = createJobRunner({
      ...services.jobRunnerOptions,
      mode: 'worker',
      exclusiveDatabase: db.kind === 'pglite',
      handlers: {
        [JOB_TYPES.factorImport]: (raw, ctx) =>
          handler(raw, {
            ...ctx,
            progress: (fraction, step) => {
              progress.update(fraction, step);
              return ctx.progress(fraction, step);
            },
          }),
      },
    });
    // Leftovers of a killed training would otherwise keep this one out.
    await runner.recover();
    let job;
    try {
      job = await services.jobService.submitFactorImport(params, { runningAs: runner.workerId, anyPath: true });
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      progress.stop('failed');
      console.error(`error: ${err.message}`);
      return err.code === 'JOB_ALREADY_RUNNING' ? 1 : 2;
    }
    await runner.runHeld(job);
    const done = (await services.jobs.get(job.id))!;
    return report(done.id, done.status, done.error, done.result as TrainResult);
  } finally {
    await store.close();
    // PGlite writes its files on close: always close, also after a failure.
    await db.close();
  }

  function report(id: string, status: string, error: string | null, result: TrainResult): number {
    if (status !== 'succeeded') {
      progress.stop('failed');
      console.error(`error: factor import job ${id} failed: ${error}`);
      return 1;
    }
    progress.stop();
    console.log(formatFactorImport(result));
    return 0;
  }
}
