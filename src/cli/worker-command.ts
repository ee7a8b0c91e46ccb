import { loadConfig, type Config } from '../config.js';
import { openDatabase } from '../data/open-database.js';
import { createJobRunner, type Logger } from '../jobs/job-runner.js';
import { createServices } from '../services.js';
import { createModelStore } from '../store/create-model-store.js';
import { runCli } from './run-cli.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** JSON lines like the server's pino logs, without personal data (job ids and types only). */
function jsonLogger(level: Config['LOG_LEVEL']): Logger {
  const min = level === 'silent' ? Infinity : LEVELS.indexOf(level);
  const write = (lvl: (typeof LEVELS)[number], obj: object, msg: string) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const { err, ...rest } = obj as { err?: unknown };
    const error = err instanceof Error ? { message: err.message, stack: err.stack } : err;
    process.stdout.write(`${JSON.stringify({ level: lvl, time: Date.now(), msg, ...rest, ...(err ? { err: error } : {}) })}\n`);
  };
  return { info: (obj, msg) => write('info', obj, msg), warn: (obj, msg) => write('warn', obj, msg), error: (obj, msg) => write('error', obj, msg) };
}

/** Seconds a stopping worker lets the job in hand finish before it is recorded as interrupted. */
const STOP_GRACE_MS = 30_000;

/**
 * `npm run worker`: claims queued jobs (training, imports, evaluations) from Postgres until SIGTERM or
 * SIGINT, with the same configuration as the server. Run it with JOB_RUNNER=worker on the API so
 * training never competes with requests for the API's CPU; several workers may run side by side.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = jsonLogger(config.LOG_LEVEL);
  const db = await openDatabase(config);
  const store = await createModelStore(config).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  const services = createServices({ config, db, store, logger: log });
  const runner = createJobRunner({ ...services.jobRunnerOptions, mode: 'worker', exclusiveDatabase: db.kind === 'pglite', log });
  if (config.JOB_RUNNER === 'inline') log.info({}, 'JOB_RUNNER=inline: API processes on this database claim jobs too');
  if (db.kind === 'pglite') log.info({}, 'embedded database: stop the server first, PGlite is one process only');

  let stopping: Promise<void> | null = null;
  const stop = (signal: string) => {
    if (stopping) {
      log.info({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    log.info({ signal }, 'stopping: no new jobs; waiting for the job in hand');
    stopping = runner
      .stop({ graceMs: STOP_GRACE_MS })
      .then(() => store.close())
      .then(() => db.close())
      .then(() => log.info({}, 'worker stopped'));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await runner.start();
  log.info({ workerId: runner.workerId, types: Object.keys(services.jobRunnerOptions.handlers) }, 'worker claiming jobs');
}

runCli(import.meta.url, () => main());
