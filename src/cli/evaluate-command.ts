import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { createCatalogRepository } from '../data/catalog-repository.js';
import { createEventRepository } from '../data/event-repository.js';
import { openDatabase } from '../data/open-database.js';
import { createReportRepository } from '../data/report-repository.js';
import { AppError } from '../errors.js';
import { evaluationRequestSchema, type EvaluationRequestInput } from '../evaluation/evaluation-request.js';
import { createEvaluationService } from '../evaluation/evaluation-service.js';
import { formatReport } from '../evaluation/format-report.js';
import { createJobRepository } from '../jobs/job-repository.js';
import { createJobRunner } from '../jobs/job-runner.js';
import { JOB_TYPES } from '../jobs/job-types.js';
import { createProgress } from './progress.js';
import { parseCommandLine, runCli, UsageError } from './run-cli.js';
import { runningServer } from './server-handoff.js';
import { jobOnServer } from './job-command.js';
import type { EvaluationReport } from '../evaluation/evaluation-report.js';

const USAGE = `Usage: npm run evaluate -- --cutoff DATE [options]

  --cutoff DATE          temporal split: train before DATE, test from it (e.g. 2011-11-01);
                         with --split validation: the end of the window
  --split KIND           temporal (default with --cutoff) | leave-last-order | validation
  --days N               validation split: the last N days of the window are the test period (default 30)
  --mode MODES           novel | all | novel,all (default novel)
  --k KS                 list lengths, e.g. 5,10,20 (each 1..100; default 10)
  --recipe NAMES         recipes under models/, comma-separated (default: DEFAULT_RECIPE)
  --strategies NAMES     single recommenders of the first recipe to report ("" = none; default all)
  --baseline NAME        what lifts and their 95% intervals are against: a recipe of --recipe or a
                         source of the first one (default popularity)
  --json FILE            also write the report as JSON to FILE
  --tune | --no-tune     tune each recipe on windows before the test period first, or evaluate its weights as
                         written (default: as the recipe's tune section says, as a training does)

Reads the purchases, catalog and users from DATABASE_URL (or the embedded database in DATA_DIR),
stores the report there (GET /v1/evaluations lists it) and prints the tables.`;


const VALUE_FLAGS = ['--cutoff', '--split', '--days', '--mode', '--k', '--recipe', '--strategies', '--baseline', '--json'] as const;
type Flag = (typeof VALUE_FLAGS)[number];

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

/** Turns the arguments into an evaluation request (checked by the API's own schema) and an output file. */
export function parseEvaluateArgs(args: string[]): { request: EvaluationRequestInput; json: string | null } {
  const flags = new Map<Flag, string>();
  let tune: boolean | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--tune' || args[i] === '--no-tune') {
      if (tune !== undefined) throw new UsageError('--tune and --no-tune: give one, once');
      tune = args[i] === '--tune';
      continue;
    }
    const [name, inline] = args[i].split(/=(.*)/s, 2) as [string, string | undefined];
    if (!(VALUE_FLAGS as readonly string[]).includes(name)) throw new UsageError(`unknown argument "${args[i]}"`);
    const value = inline ?? args[++i];
    if (value === undefined) throw new UsageError(`${name} needs a value`);
    if (flags.has(name as Flag)) throw new UsageError(`${name} given twice`);
    flags.set(name as Flag, value);
  }
  const cutoff = flags.get('--cutoff');
  const kind = flags.get('--split') ?? (cutoff !== undefined ? 'temporal' : undefined);
  if (kind === undefined) throw new UsageError('missing --cutoff (or --split leave-last-order | validation)');
  if (kind === 'temporal' && cutoff === undefined) throw new UsageError('a temporal split needs --cutoff');
  if (kind === 'leave-last-order' && cutoff !== undefined) throw new UsageError('--cutoff does not apply to a leave-last-order split');
  if (kind !== 'validation' && flags.has('--days')) throw new UsageError('--days applies to --split validation only');
  const days = flags.get('--days');
  const split =
    kind === 'validation'
      ? { kind, days: days === undefined ? 30 : Number(days), ...(cutoff !== undefined ? { end: cutoff } : {}) }
      : kind === 'temporal'
        ? { kind, cutoff }
        : { kind };
  const raw: Record<string, unknown> = { split };
  if (flags.has('--mode')) raw.modes = list(flags.get('--mode')!);
  if (flags.has('--k')) raw.ks = list(flags.get('--k')!).map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  if (flags.has('--recipe')) raw.recipes = list(flags.get('--recipe')!);
  if (flags.has('--strategies')) raw.strategies = list(flags.get('--strategies')!);
  if (flags.has('--baseline')) raw.baseline = flags.get('--baseline');
  if (tune !== undefined) raw.tune = tune;
  const parsed = evaluationRequestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.');
    throw new UsageError(`${where ? `${where}: ` : ''}${issue.message}`);
  }
  const json = flags.get('--json') ?? null;
  // Found out now, not after the whole evaluation has run.
  if (json !== null) {
    const at = resolve(json);
    try {
      accessSync(dirname(at), constants.W_OK);
      if (existsSync(at)) accessSync(at, constants.W_OK);
    } catch {
      throw new UsageError(`--json: cannot write ${json} (its directory does not exist or is not writable, or the file is read-only)`);
    }
    if (existsSync(at) && statSync(at).isDirectory()) throw new UsageError(`--json: ${json} is a directory; name a file`);
  }
  return { request: parsed.data, json };
}

async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, USAGE, parseEvaluateArgs);
  if (!cli.ok) return cli.exit;
  const parsed = cli.value;
  const started = performance.now();
  const config = loadConfig();
  // A server owns the embedded data: the evaluation runs there, followed here.
  const server = runningServer(config);
  if (server) {
    const handed = await jobOnServer(server, { label: 'evaluate', there: 'evaluating there', route: '/v1/evaluations', body: parsed.request });
    if (typeof handed === 'number') return handed;
    const { progress, job } = handed;
    if (job.status !== 'succeeded' || !job.report) {
      progress.stop('failed');
      console.error(`error: ${job.error ?? 'the evaluation did not finish'}`);
      return 1;
    }
    progress.stop();
    printReport(job.report as EvaluationReport, job.id, parsed.json, started);
    return 0;
  }
  const db = await openDatabase(config);
  try {
    const jobs = createJobRepository(db);
    const reports = createReportRepository(db);
    const evaluations = createEvaluationService({
      jobs,
      reports,
      events: createEventRepository(db),
      catalog: createCatalogRepository(db),
      defaultRecipe: config.DEFAULT_RECIPE,
      // In a thread, as a server's evaluation job: fitting on this thread blocked the event loop for minutes
      // at ten times Online Retail, so the job's heartbeat stopped, a server's sweep declared it interrupted
      // (stale after JOB_STALE_AFTER_MS) and the run was lost; the progress line froze too.
      isolation: 'thread',
    });
    let params;
    try {
      params = await evaluations.prepare(parsed.request);
    } catch (err) {
      // Refused as the API would refuse it (a 4xx): the message and the usage, exit 2, as a server's refusal exits.
      if (!(err instanceof AppError) || err.status >= 500) throw err;
      console.error(`error: ${err.message}\n\n${USAGE.split('\n')[0]}`);
      return 2;
    }

    // The run is an evaluation job held by this process, so the API shows it (and its report) like any other.
    const progress = createProgress('evaluate');
    const runner = createJobRunner({
      jobs,
      mode: 'worker',
      handlers: {
        [JOB_TYPES.evaluate]: (raw, ctx) =>
          evaluations.handler(raw, {
            ...ctx,
            progress: (fraction, step) => {
              progress.update(fraction, step);
              return ctx.progress(fraction, step);
            },
          }),
      },
    });
    const job = await jobs.enqueue(JOB_TYPES.evaluate, params as unknown as Record<string, unknown>, { runningAs: runner.workerId });
    await runner.runHeld(job);
    const done = await jobs.get(job.id);
    const stored = done?.status === 'succeeded' ? await reports.get(job.id) : null;
    if (!stored) {
      progress.stop('failed');
      console.error(`error: ${done?.error ?? 'the evaluation did not finish'}`);
      return 1;
    }
    progress.stop();
    printReport(stored.report, job.id, parsed.json, started);
    return 0;
  } finally {
    // PGlite writes its files on close: always close, also after a failure.
    await db.close();
  }
}

function printReport(report: EvaluationReport, id: string, json: string | null, started: number): void {
  console.log(`\n${formatReport(report)}\n`);
  console.log(`evaluation ${id} stored; ${((performance.now() - started) / 1000).toFixed(1)} s end to end`);
  // After the stored id is printed: a write that fails still leaves the report found by its id.
  if (json) {
    writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`JSON in ${json}`);
  }
}

runCli(import.meta.url, main);
