import type { Config } from '../config.js';
import type { Db } from '../data/db.js';
import { openDatabase } from '../data/open-database.js';
import { AppError } from '../errors.js';
import type { JobRecord } from '../jobs/job-repository.js';
import { createJobRunner } from '../jobs/job-runner.js';
import type { JobType } from '../jobs/job-types.js';
import { createServices, type Services } from '../services.js';
import { createModelStore } from '../store/create-model-store.js';
import type { ModelStore } from '../store/model-store.js';
import { createProgress, type Progress } from './progress.js';
import { runJobOnServer, runningServer, withPathForServer, type RunningServer } from './server-handoff.js';
import { printableLines } from './printable.js';

/**
 * Opens the database and model store the configuration names, runs `work` with them and closes both,
 * also after a failure: PGlite writes its files on close, and the embedded store releases DATA_DIR's lock.
 */
export async function withDataStores<T>(config: Config, work: (db: Db, store: ModelStore) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  const store = await createModelStore(config).catch(async (err: unknown) => {
    await db.close();
    throw err;
  });
  try {
    return await work(db, store);
  } finally {
    await store.close();
    await db.close();
  }
}

/** How a finished job ends the command: 1 with the job's error, else 0 after `onSuccess` printed its result. */
export async function finishJob(
  progress: Progress,
  what: string,
  job: { id: string; status: string; error: string | null; result?: unknown },
  onSuccess: (result: unknown) => void | Promise<void>,
): Promise<number> {
  if (job.status !== 'succeeded') {
    progress.stop('failed');
    console.error(`error: ${what} job ${job.id} failed: ${printableLines(job.error ?? '')}`);
    return 1;
  }
  progress.stop();
  await onSuccess(job.result);
  return 0;
}

/** What differs between the commands that run one job here or in the server that owns the data. */
export interface JobCommand {
  /** Progress label, e.g. "train". */
  label: string;
  /** The job in messages, e.g. "training" ("training job 12 failed"). */
  what: string;
  /** Said when a server takes the job, e.g. "training there". */
  there: string;
  type: JobType;
  /** The server's jobs route (POST to submit, GET /:id to follow) and the body sent there. */
  route: string;
  body: object;
  /** When `body.path` names a local file or directory the server is to read (see withPathForServer). */
  localPath?: string;
  /**
   * Checks that need neither the database nor the store (e.g. that a directory holds factors), run before either is
   * opened when the job runs here, so a mistake is reported in a moment instead of after the embedded database started.
   */
  precheck?: () => Promise<void>;
  /** Inserts the job as already held by this process's runner (`runningAs`). */
  submit: (services: Services, runningAs: string) => Promise<JobRecord>;
  /** Prints a succeeded job's result. */
  print: (result: unknown) => void;
}

/**
 * Runs one job like its HTTP route would: in the running server that owns DATA_DIR's embedded data
 * (followed from here), else in this process through the job runner, so it is recorded, exclusive and
 * visible in the API just the same. Exit code: 0 done, 1 failed or refused as already running, 2 refused.
 */
export async function runJobCommand(config: Config, cmd: JobCommand): Promise<number> {
  const server = runningServer(config);
  if (server) {
    const handed = await jobOnServer(server, cmd);
    return typeof handed === 'number' ? handed : finishJob(handed.progress, cmd.what, handed.job, cmd.print);
  }
  // Only for a run here: a server checks the request itself, with its own rights.
  try {
    await cmd.precheck?.();
  } catch (err) {
    return refused(err);
  }
  return withDataStores(config, async (db, store) => {
    const services = createServices({ config, db, store });
    const progress = createProgress(cmd.label);
    const handler = services.jobRunnerOptions.handlers[cmd.type];
    const runner = createJobRunner({
      ...services.jobRunnerOptions,
      mode: 'worker',
      exclusiveDatabase: db.kind === 'pglite',
      handlers: {
        // The job's own progress goes to the jobs table as usual, and to the display here.
        [cmd.type]: (raw, ctx) =>
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
      job = await cmd.submit(services, runner.workerId);
    } catch (err) {
      progress.stop('failed');
      return refused(err);
    }
    await runner.runHeld(job);
    return finishJob(progress, cmd.what, (await services.jobs.get(job.id))!, cmd.print);
  });
}

/**
 * Hands a job to the server that owns the data (`body.path` replaced by a copy of `localPath` the server may read,
 * when it needs one) and follows it: the finished job with its progress display, or the exit code of a refusal.
 */
export async function jobOnServer(
  server: RunningServer,
  cmd: Pick<JobCommand, 'label' | 'there' | 'route' | 'localPath'> & { body: object },
): Promise<{ progress: Progress; job: Awaited<ReturnType<typeof runJobOnServer>> } | number> {
  console.log(`The server at ${server.url} (pid ${server.pid}) owns the data: ${cmd.there}.`);
  // The progress display starts once a copy the server may read (if one is needed) is made and announced.
  const submit = async (body: object) => {
    const progress = createProgress(cmd.label);
    return { progress, job: await runJobOnServer(server, cmd.route, body, progress) };
  };
  try {
    return cmd.localPath ? await withPathForServer(server, cmd.localPath, (serverPath) => submit({ ...cmd.body, path: serverPath })) : await submit(cmd.body);
  } catch (err) {
    return refused(err);
  }
}

/**
 * A request the service refuses (4xx, here or from the server the job was handed to) ends the command with its
 * message: 1 when the job is only busy, else 2. Anything else is thrown on.
 */
export function refused(err: unknown): number {
  if (!(err instanceof AppError) || err.status >= 500) throw err;
  console.error(`error: ${printableLines(err.message)}`);
  return err.code === 'JOB_ALREADY_RUNNING' ? 1 : 2;
}
