import type { CatalogRepository } from '../data/catalog-repository.js';
import type { EventRepository } from '../data/event-repository.js';
import type { MetricPoint, ReportHeadline, ReportRepository, ReportSummary, StoredReport } from '../data/report-repository.js';
import { AppError } from '../errors.js';
import type { JobRecord, JobRepository, JobStatus } from '../jobs/job-repository.js';
import type { JobContext, JobHandler } from '../jobs/job-runner.js';
import { JOB_TYPES } from '../jobs/job-types.js';
import { withTuning, type Recipe } from '../training/recipe.js';
import { tuningSpanDays } from './rolling-tune.js';
import { resolveRecipe } from '../training/train-model.js';
import type { EvaluationGauges } from './evaluation-gauges.js';
import type { EvaluationReport, MetricName } from './evaluation-report.js';
import type { EvalMode } from './splits.js';
import { evaluationParamsSchema, normalizeRequest, type EvaluationParams, type EvaluationRequestInput } from './evaluation-request.js';
import { submitOnce } from '../jobs/request-fingerprint.js';
import { JOB_OUTAGE_WAIT_MS, retryWhileUnavailable } from '../retry-while-unavailable.js';
import { runEvaluationInWorker } from './evaluate-in-worker.js';
import { purchaseTimeRange, type PurchaseColumns } from './purchase-columns.js';
import { nothingToRead, onlyOwedStored, purchaseRangeWithoutOwed, readOwedFreeInput, type RangeWithoutOwed } from './owed-free-input.js';
import { BASELINE, rowNameCollisions, runEvaluation, type EvaluationProgress, type EvaluationRequest, type SplitRequest } from './run-evaluation.js';

export interface EvaluationServiceDeps {
  jobs: JobRepository;
  reports: ReportRepository;
  /** Its owedAndLatest: the customers whose erasure is owed are left out of a run's data (owed-free-input.ts). */
  events: Pick<EventRepository, 'streamPurchaseRows' | 'purchaseRange' | 'owedAndLatest'>;
  catalog: Pick<CatalogRepository, 'listItems' | 'listUsersWithAttributes'>;
  /** Told about every stored report (the active recipe's metrics become Prometheus gauges). */
  gauges?: Pick<EvaluationGauges, 'reportStored'>;
  /** Recipe evaluated when a request names none. */
  defaultRecipe: string;
  recipesDir?: string;
  /** Wakes an inline runner after an enqueue. */
  kick?: () => void;
  /**
   * `thread` (default): each run in a worker thread, so an API process running jobs inline keeps
   * serving while it evaluates; `inline`: on the calling thread.
   */
  isolation?: 'thread' | 'inline';
  /** How long the run's reads and its report's write wait for a Postgres that stopped answering (default JOB_OUTAGE_WAIT_MS). */
  outageWaitMs?: number;
}

/** An evaluation as the API shows it: the job's state and, once it succeeded, its report. */
export interface EvaluationView {
  id: string;
  status: JobStatus;
  progress: number;
  step: string | null;
  params: Record<string, unknown>;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  report: EvaluationReport | null;
}

/** What an evaluation job records as its result (the report itself lives in evaluation_reports). */
export interface EvaluationJobResult {
  reportId: string;
  durationMs: number;
  testUsers: EvaluationReport['split']['testUsers'];
  headline: ReportHeadline;
}

export type EvaluationService = ReturnType<typeof createEvaluationService>;

/** NDCG per strategy at k = 10 (else the k nearest to it) in mode `novel` (else the first mode). */
export function reportHeadline(report: EvaluationReport): ReportHeadline {
  const mode = report.modes.includes('novel') ? 'novel' : report.modes[0];
  const k = [...report.ks].sort((a, b) => Math.abs(a - 10) - Math.abs(b - 10) || a - b)[0];
  const ndcg: Record<string, number | null> = {};
  for (const row of report.rows) if (row.mode === mode && row.k === k) ndcg[row.strategy] = row.metrics.ndcg;
  return { mode, k, ndcg };
}

const unprocessable = (path: string, message: string) => new AppError('UNPROCESSABLE', message, [{ path, message }]);

/** Single strategies and the baseline must be sources of the first recipe (or, the baseline, a recipe of the run); popularity is always there. */
function checkStrategies(params: EvaluationParams, recipes: Recipe[]): void {
  const first = recipes[0];
  const sources = () => Object.keys(first.sources).join(', ');
  for (const name of params.strategies ?? []) {
    if (name !== BASELINE && !Object.hasOwn(first.sources, name)) {
      throw unprocessable('strategies', `strategy "${name}" is not a source of recipe "${first.name}"; sources: ${sources()}`);
    }
  }
  const baseline = params.baseline;
  if (baseline !== undefined && baseline !== BASELINE && recipeNamed(params, recipes, baseline) === undefined && !Object.hasOwn(first.sources, baseline)) {
    throw unprocessable('baseline', `baseline "${baseline}" is neither one of the recipes (${params.recipes.join(', ')}) nor a source of recipe "${first.name}" (${sources()}) nor popularity`);
  }
}

/**
 * The single strategies and baseline the run hands runEvaluation: only real sources of the first recipe by
 * name (the baseline, popularity, is evaluated whether or not it is one), and a recipe baseline under the
 * name the recipe gives itself, as its rows are labelled (it can differ from the file's name).
 */
function runStrategies(params: EvaluationParams, recipes: Recipe[]): Pick<EvaluationRequest, 'strategies' | 'baseline'> {
  const strategies = params.strategies?.filter((s) => Object.hasOwn(recipes[0].sources, s));
  const baseline = params.baseline === undefined ? undefined : (recipeNamed(params, recipes, params.baseline)?.name ?? params.baseline);
  return { ...(strategies ? { strategies } : {}), ...(baseline !== undefined ? { baseline } : {}) };
}

/**
 * Each recipe is reported under the name its file gives it: two recipes giving themselves one name, or a
 * recipe named like a single strategy the report also holds (popularity, a source asked for, the baseline
 * source), would show one strategy's numbers under both. Refused (422) naming the recipes, before a job is queued.
 */
function checkRowNames(params: EvaluationParams, recipes: Recipe[]): void {
  const collisions = rowNameCollisions(recipes, runStrategies(params, recipes));
  if (collisions.length === 0) return;
  const label = (i: number) => (params.recipes[i] === recipes[i].name ? `"${params.recipes[i]}"` : `"${params.recipes[i]}" (named "${recipes[i].name}")`);
  const messages = collisions.map(({ name, recipes: at, strategy }) => {
    const who = at.length > 1 ? `recipes ${at.map((i) => `"${params.recipes[i]}"`).join(' and ')} all give themselves the name "${name}"` : `recipe ${label(at[0])} is named`;
    const source = name !== BASELINE;
    const like = !strategy ? '' : source ? ` like the source "${name}" of recipe "${params.recipes[0]}" the report also holds` : ' like the popularity baseline every report holds';
    const rename = at.length > 1 ? 'give each recipe a "name" of its own' : 'give the recipe another "name"';
    return `${who}${like}: the report would show one row for them; ${rename}${strategy && source ? ' or leave the source out of strategies' : ''}`;
  });
  const message = messages.join('; ');
  throw new AppError('UNPROCESSABLE', message, messages.map((m) => ({ path: 'recipes', message: m })));
}

/** The recipe of the run a name means: its file name (models/NAME.json) first, else the name the file gives it. */
function recipeNamed(params: EvaluationParams, recipes: Recipe[], name: string): Recipe | undefined {
  const at = params.recipes.indexOf(name);
  return at >= 0 ? recipes[at] : recipes.find((r) => r.name === name);
}

/**
 * A temporal split's cutoff must have purchases on both sides: refused now (422) rather than as a failed job. The
 * job checks again (checkData), as purchases can change until it runs.
 */
function checkCutoff(cutoff: string, range: RangeWithoutOwed): void {
  if (range.first === null || range.last === null) throw unprocessable('split', nothingToRead(range.onlyOwed, 'evaluate'));
  const at = Date.parse(cutoff);
  if (at <= Date.parse(range.first)) throw unprocessable('split.cutoff', `no purchases before the cutoff ${cutoff} (the first is at ${range.first}): nothing to train on`);
  if (at > Date.parse(range.last)) throw unprocessable('split.cutoff', `no purchases at or after the cutoff ${cutoff} (the last is at ${range.last}): nothing to test on`);
}

const DAY_MS = 86_400_000;

/**
 * A validation split's test period, [end - days, end), is its cutoff: it must start after the first purchase
 * (something to train on) and at or before the last (something to test on), as a temporal cutoff must; an end
 * outside the data leaves neither. Refused now (422) rather than as a failed job; the job checks again
 * (checkData). Without `end` the period ends just after the last purchase (makeSplit): only `days` can reach
 * back past the first.
 */
function checkValidationPeriod(split: { days: number; end?: string }, range: RangeWithoutOwed): void {
  if (range.first === null || range.last === null) throw unprocessable('split', nothingToRead(range.onlyOwed, 'evaluate'));
  const end = split.end === undefined ? Date.parse(range.last) + 1 : Date.parse(split.end);
  const start = end - split.days * DAY_MS;
  const [path, from] = split.end === undefined ? ['split.days', `just after the last purchase less ${split.days} days`] : ['split.end', `the end ${split.end} less ${split.days} days`];
  const at = new Date(start).toISOString();
  if (start <= Date.parse(range.first)) throw unprocessable(path, `no purchases before the test period's start ${at} (${from}; the first is at ${range.first}): nothing to train on`);
  if (start > Date.parse(range.last)) throw unprocessable(path, `no purchases at or after the test period's start ${at} (${from}; the last is at ${range.last}): nothing to test on`);
}

/** The split's cutoff, or its test period, against the purchases' first and last times (checkCutoff, checkValidationPeriod). */
function checkSplitRange(split: SplitRequest, range: RangeWithoutOwed): void {
  if (split.kind === 'temporal') checkCutoff(split.cutoff, range);
  else if (split.kind === 'validation') checkValidationPeriod(split, range);
}

/**
 * A cheap look at the purchases before minutes of fitting: does the split have both sides at all? `onlyOwed`: none
 * read, whether purchases are stored all the same, each of a customer whose erasure is owed (asked when none was read).
 */
async function checkData(purchases: PurchaseColumns, split: SplitRequest, onlyOwed: () => Promise<boolean>): Promise<void> {
  const range = purchaseTimeRange(purchases);
  if (range === null) throw new Error(nothingToRead(await onlyOwed(), 'evaluate'));
  if (split.kind === 'leave-last-order') return;
  checkSplitRange(split, { first: new Date(range.first).toISOString(), last: new Date(range.last).toISOString(), onlyOwed: false });
}

/**
 * Evaluation runs as jobs: submit validates the request (unknown recipe or strategy: 422 now, not a
 * failed job later) and queues it; the handler (inline runner, worker or CLI alike) loads every
 * purchase, the catalog and the users from Postgres, runs the evaluation and stores the report under
 * the job's id.
 */
export function createEvaluationService(deps: EvaluationServiceDeps) {
  const recipesOf = (params: EvaluationParams) => Promise.all(params.recipes.map((name) => resolveRecipe(name, deps.recipesDir)));

  async function prepare(input: EvaluationRequestInput): Promise<EvaluationParams> {
    const params = normalizeRequest(input, deps.defaultRecipe);
    const recipes = await recipesOf(params);
    checkStrategies(params, recipes);
    checkRowNames(params, recipes);
    if (params.tune && params.split.kind === 'leave-last-order') throw unprocessable('tune', 'tuning needs a split with a cutoff (temporal or validation); a leave-last-order split has none');
    // The period is checked against the purchases the run will read: those of customers whose erasure is owed are not.
    if (params.split.kind !== 'leave-last-order') checkSplitRange(params.split, await purchaseRangeWithoutOwed(deps));
    return params;
  }

  /**
   * Purchases are read net of returns (event-repository returnedUnits); an evaluation's training side must not
   * know of returns made on or after its cutoff: a temporal split's cutoff, a validation split's test period start
   * (its `end` less its days, or when it has no `end`, just after the latest purchase less its days, as the split
   * cuts it). Those are left out, and a purchase returned after the cutoff counts as bought on both sides, as the
   * data before the cutoff showed it. A split cut per customer (leave-last-order) has no one cutoff: it is read
   * net of every return. A recipe tuned first (`tune`) is tuned on rolling windows before the cutoff, each fold
   * training on what came before its window: the purchases are then read net of the returns before the earliest
   * window's start only (conservative: the evaluated fit after tuning, too, sees no return made in the windows).
   */
  async function returnsWindow(split: EvaluationParams['split'], tuned: readonly Recipe[], latest: () => Promise<string | null>): Promise<{ returnsBefore?: Date }> {
    let cutoff: number;
    if (split.kind === 'temporal') cutoff = Date.parse(split.cutoff);
    else if (split.kind === 'validation') {
      // The latest purchase of the customers whose erasure is not owed: the split is cut from their purchases.
      const end = split.end !== undefined ? Date.parse(split.end) : Date.parse((await latest()) ?? '') + 1;
      cutoff = end - split.days * DAY_MS;
    } else return {};
    // No purchases: nothing is read, and checkData says so.
    if (!Number.isFinite(cutoff)) return {};
    const windows = Math.max(0, ...tuned.map((r) => (r.tune ? tuningSpanDays(r.tune) * DAY_MS : 0)));
    return { returnsBefore: new Date(cutoff - windows) };
  }

  /** Runs one evaluation and stores its report as `id`; progress is 0..1 over the whole run. */
  async function run(id: string, params: EvaluationParams, onProgress: (p: EvaluationProgress) => void, signal?: AbortSignal): Promise<StoredReport> {
    const started = performance.now();
    const recipes = await recipesOf(params);
    checkStrategies(params, recipes);
    checkRowNames(params, recipes);
    // Reads and the report's write wait for a Postgres that restarts (the write is an upsert by id): a
    // failover in the seconds of a load or after minutes of fitting does not throw the run away.
    const throughOutage = <T>(fn: () => Promise<T>) => retryWhileUnavailable(fn, { forMs: deps.outageWaitMs ?? JOB_OUTAGE_WAIT_MS, stop: () => signal?.aborted ?? false });
    onProgress({ step: 'load', progress: 0 });
    // Purchases stream from a cursor in batches into columns, as training reads them: one query result of
    // every purchase, an object each, held this thread for minutes on a large shop (a grocery of 5.5M lines:
    // 3 minutes, GBs of heap, storefront requests answered 503 meanwhile), then was cloned whole to the
    // thread. A cursor cannot resume part-way: a load that loses Postgres starts again with a new builder.
    // Without the customers whose erasure is owed (owed-free-input.ts, as npm run tune reads them).
    const tuned = params.split.kind === 'leave-last-order' ? [] : recipes.map((r) => withTuning(r, params.tune));
    const { purchases, items, users, owedIds } = await throughOutage(() => readOwedFreeInput(deps, (latest) => returnsWindow(params.split, tuned, latest)));
    await checkData(purchases, params.split, () => throughOutage(() => onlyOwedStored(deps.events, owedIds)));
    // Loading is a few percent of a run; fitting and scoring share the rest as runEvaluation reports it.
    const request = {
      split: params.split,
      modes: params.modes,
      ks: params.ks,
      ...runStrategies(params, recipes),
      ...(params.tune !== undefined ? { tune: params.tune } : {}),
    };
    const onRunProgress = (p: EvaluationProgress) => onProgress({ step: p.step, progress: 0.05 + 0.93 * p.progress });
    // To a thread the columns' buffers are transferred (not cloned); the split reads them as columns, in the order read.
    const report =
      (deps.isolation ?? 'thread') === 'thread'
        ? await runEvaluationInWorker({ purchases, items, users }, recipes, request, onRunProgress)
        : await runEvaluation({ purchases, items, users }, recipes, request, onRunProgress);
    if (Object.values(report.split.testUsers).every((n) => !n)) {
      throw new Error(`the ${params.split.kind} split leaves no test users (users with purchases on both sides of it)`);
    }
    onProgress({ step: 'store', progress: 0.98 });
    const durationMs = Math.round(performance.now() - started);
    const stored = await throughOutage(() =>
      deps.reports.insert({ id, recipes: params.recipes, recipeNames: recipes.map((r) => r.name), request: params as unknown as Record<string, unknown>, headline: reportHeadline(report), report, durationMs }),
    );
    await deps.gauges?.reportStored(stored);
    return stored;
  }

  /**
   * The job handler. Progress goes to the jobs table at most once per percent or step change (the
   * scorer reports every user); a job taken away from this runner stops at its next progress report.
   */
  const handler: JobHandler = async (raw, ctx: JobContext) => {
    const params = evaluationParamsSchema.parse(raw) as EvaluationParams;
    let last = { progress: -1, step: '' };
    const stored = await run(
      ctx.job.id,
      params,
      (p) => {
        ctx.signal.throwIfAborted();
        if (p.step === last.step && p.progress - last.progress < 0.01) return;
        last = p;
        void ctx.progress(p.progress, p.step).catch(() => {});
      },
      ctx.signal,
    );
    const result: EvaluationJobResult = {
      reportId: stored.id,
      durationMs: stored.durationMs ?? 0,
      testUsers: stored.report.split.testUsers,
      headline: stored.headline,
    };
    return result;
  };

  return {
    handler,

    /** The request with defaults filled in, checked against the recipes: INVALID_RECIPE or UNPROCESSABLE (422) for what cannot run. */
    prepare,

    /** Validates and queues an evaluation (see prepare). */
    async submit(input: EvaluationRequestInput, opts: { idempotencyKey?: string } = {}): Promise<JobRecord> {
      return submitOnce(deps.jobs, JOB_TYPES.evaluate, input, opts.idempotencyKey, async (idempotency) => {
        const params = await prepare(input);
        const job = await deps.jobs.enqueue(JOB_TYPES.evaluate, params as unknown as Record<string, unknown>, { idempotency });
        if (job.status === 'queued') deps.kick?.();
        return job;
      });
    },

    /** The evaluation's job state and report; a report whose job row is gone still answers. Null if neither exists. */
    async get(id: string): Promise<EvaluationView | null> {
      const [job, stored] = await Promise.all([deps.jobs.get(id), deps.reports.get(id)]);
      if (job && job.type === JOB_TYPES.evaluate) {
        return {
          id,
          status: job.status,
          progress: job.progress,
          step: job.step,
          params: job.params,
          error: job.error,
          createdAt: job.createdAt,
          startedAt: job.startedAt,
          finishedAt: job.finishedAt,
          report: job.status === 'succeeded' ? (stored?.report ?? null) : null,
        };
      }
      if (!stored) return null;
      const at = stored.createdAt;
      return { id, status: 'succeeded', progress: 1, step: null, params: stored.request, error: null, createdAt: at, startedAt: null, finishedAt: at, report: stored.report };
    },

    /** Stored reports, newest first. */
    list: (page: { limit: number; offset: number; after?: string; afterParam?: 'after' | 'cursor' }): Promise<{ total: number; reports: ReportSummary[]; next: string | null }> => deps.reports.list(page),

    /** One metric of one strategy across stored reports, oldest first (e.g. the active recipe's NDCG@10 over time). */
    history: (q: { strategy: string; metric: MetricName; mode: EvalMode; k: number; limit: number }): Promise<MetricPoint[]> => deps.reports.metricHistory(q),
  };
}
