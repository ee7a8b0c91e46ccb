import { backgroundLog } from '../background-log.js';
import { pino } from 'pino';
import { configSummary, configWarnings, loadConfig } from '../config.js';
import { checkStartupConfig } from '../startup-checks.js';
import { openLoggedDatabase } from '../open-logged-database.js';
import { createJobRunner, type Logger } from '../jobs/job-runner.js';
import { createServices } from '../services.js';
import { createModelStore } from '../store/create-model-store.js';
import { startPeriodic } from '../periodic-task.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';

const USAGE = `Usage: npm run worker

Claims queued jobs (trainings, imports, evaluations, exports, factor imports), and completes erasures asked for
and not finished (ERASURE_REDRIVE_MS), until SIGTERM or SIGINT, with
the server's configuration (environment variables; see README). Run the API with JOB_RUNNER=worker so
trainings never compete with requests for its CPU; several workers may run side by side. Takes no arguments.`;

/** The worker takes no arguments: anything given is a mistake, refused before it opens the database. */
export function parseWorkerArgs(args: string[]): true {
  if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}": the worker takes none (its configuration is the environment)`);
  return true;
}

/** Seconds a stopping worker lets the job in hand finish before it is recorded as interrupted. */
const STOP_GRACE_MS = 30_000;

/**
 * `npm run worker`: claims queued jobs (trainings, imports, evaluations, exports, factor imports) from Postgres until SIGTERM or
 * SIGINT, with the same configuration as the server. Run it with JOB_RUNNER=worker on the API so
 * training never competes with requests for the API's CPU; several workers may run side by side.
 */
async function main(args: string[]): Promise<number | void> {
  const cli = parseCommandLine(args, USAGE, parseWorkerArgs, 'worker');
  if (!cli.ok) return cli.exit;
  const config = loadConfig();
  await checkStartupConfig(config);
  // pino, as the server's (Fastify's) logger is: the same line format (numeric levels, pid, hostname), so one
  // log query reads both. Only job ids and types are logged, no personal data.
  const log: Logger = pino({ level: config.LOG_LEVEL });
  log.info(configSummary(config), 'configuration');
  for (const warning of configWarnings()) log.warn({}, warning);
  // A Postgres that cannot be reached at start is waited for: claims fail (quietly, as in an outage) until it is migrated.
  const { db, migrated } = await openLoggedDatabase(config, log, 'waiting for the database');
  // A migration that does not apply stops the worker, as it would have at start.
  migrated.catch((err: unknown) => {
    log.error({ err }, 'migrating the database failed');
    process.exit(1);
  });
  const store = await createModelStore(config, { log: backgroundLog(log, { everyMs: 30_000 }) }).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  const services = createServices({ config, db, store, logger: log });
  const runner = createJobRunner({ ...services.jobRunnerOptions, mode: 'worker', exclusiveDatabase: db.kind === 'pglite', log });
  if (config.JOB_RUNNER === 'inline') log.info({}, 'JOB_RUNNER=inline: API processes on this database claim jobs too');
  if (db.kind === 'pglite') log.info({}, 'embedded database: stop the server first, PGlite is one process only');

  // Erasures asked for and not completed (a DELETE answered 503, one cut short by a close, a process that died) are
  // completed here too, as in every API process (privacy/erasure-redriver.ts): a deployment whose API replicas are all
  // down or scaled to zero still completes them. One process drives each (FOR UPDATE SKIP LOCKED and a lease).
  const redriving = startPeriodic((signal) => services.erasureRedriver.run(signal), { firstMs: config.ERASURE_REDRIVE_MS, everyMs: config.ERASURE_REDRIVE_MS });

  let stopping: Promise<void> | null = null;
  const stop = (signal: string) => {
    if (stopping) {
      log.info({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'stopping: no new jobs; waiting for the job in hand');
    // Started together, as the server's close hooks are (app.ts): the erasures' worker thread gets ERASURE_CLOSE_WAIT_MS
    // from now, so a re-driven erasure held in it does not keep the job's stop waiting (the erasures it gives up on
    // stay owed), and the re-driver's stop, which waits for its pass, is awaited with the others, not before them.
    const closing = services.redaction.close();
    stopping = Promise.allSettled([runner.stop({ graceMs: STOP_GRACE_MS }), redriving.stop(), closing])
      .then(() => store.close())
      .then(() => db.close())
      .then(() => log.info({}, 'worker stopped'));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await runner.start();
  log.info({ workerId: runner.workerId, types: Object.keys(services.jobRunnerOptions.handlers) }, 'worker claiming jobs');
}

runCli(import.meta.url, main);
