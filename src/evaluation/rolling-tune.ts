import type { HybridConfig } from '../recommenders/hybrid.js';
import type { Recipe } from '../training/recipe.js';
import type { BlendScores } from './blend-cache.js';
import { localFoldPool, threadedFoldPool, type FoldsHeld } from './fold-pool.js';
import type { FoldBlend, FoldInfo, FoldSpec } from './rolling-fold.js';
import type { KeepOn, LeftOutJudgement, SampleJudgement } from './keep-on.js';
import { makeSplit } from './run-evaluation.js';
import { columnarInput, purchasesOf, type EvaluationSplit, type SplitInput } from './splits.js';
import { KEEP_RULES, LOOSER_RULES, keepDecision, keepOwnHalfAgainstSingle, keepOwnHalfAsServed, servedWeights, type KeepDecision, type KeepRule, type ModeObjectives } from './keep-rule.js';
import { DEFAULT_DISCOUNT_GRID, meanScores, objective, trialKey, tuneWeights, withoutRepeatWeights, type BlendTrial } from './tune.js';
import { searchSingleSourceDiscount, type SingleSourceCoverage, type SingleSourceDiscount } from './single-source-coverage.js';
import { keptOutOfFold, leaveOneOut, outOfFoldScores, type BlendJudgement } from './out-of-fold.js';
import { boundedCoverage, DEFAULT_TUNING_RULES, foldWeightsOf, ownItemFoldWeightsOf, weightedMeanScores, type ComparedRules, type CoverageFloorRule, type FoldWeightRule, type TuningRules } from './tuning-rules.js';
import { catalogueKeysBefore, type CoverageCatalogueRule } from './coverage-catalogue.js';
import type { CoverageEstimateRule } from './coverage-estimate.js';

const DAY_MS = 86_400_000;

/** RollingTuneOptions.maxCoverageCost's default. */
export const DEFAULT_MAX_COVERAGE_COST = 0.1;

type Weights = HybridConfig['weights'];

export interface RollingTuneOptions {
  /** Number of validation windows, each `days` long, back to back and ending at `end` (see `windows`). */
  folds: number;
  days: number;
  /** Exclusive end of the latest window (the real cutoff); default: just after the latest event. Nothing at or after it is read. */
  end?: string;
  k?: number;
  grid?: number[];
  discountGrid?: number[];
  rounds?: number;
  /** Novel-mode catalog coverage the blend should keep (on the folds' mean, see `coverageOn`); below it the objective is penalised. */
  minCoverage?: number;
  coveragePenalty?: number;
  /**
   * The most the coverage requirement may cost (default 0.1): the coverage search keeps the novel NDCG
   * within this share of the most accurate blend's, and the shortfall penalty a blend or single source is
   * judged with is at most this share of its own novel NDCG. Infinity: no bound (the penalty alone).
   */
  maxCoverageCost?: number;
  /**
   * `back-to-back` (default): each fold validates on its own `days`-day window. `to-end`: each fold
   * validates from the start of that window to `end` (the oldest on folds x days), as an evaluation
   * from a cutoff to the end of the data does. Tried for the default recipe and not kept (bench/README,
   * "Validation windows that run to the end"); only the benchmarks set it.
   */
  windows?: 'back-to-back' | 'to-end';
  /**
   * Also validate on the `days` days one calendar year before the held-out month [end, end + days): the window
   * [end - 1 year, end - 1 year + days), added as the oldest fold (yearAgoWindow), so a shop with a yearly calendar
   * (collections, Black Friday) is also judged where the month it will serve sat a year ago. Not added (and the
   * record says why) when no purchase precedes it, when it would reach into the other windows, or when it has fewer
   * than MIN_FOLD_USERS customers (or such who bought something new): tuning then goes on without it, as with the
   * option absent. Absent: the windows are as before.
   */
  yearAgo?: boolean;
  /**
   * With `yearAgo`, where the year-ago window was added: minCoverage also holds on that window alone (the reach the
   * requirement is held on is the lesser of the folds' pooled one and the year-ago window's, pooledScores), since
   * that window sits where the month to be served sits in the shop's calendar (issue 11, sixtieth session,
   * bench/year-ago-floor-criterion.md). Elsewhere (the window not added, yearAgo off) it changes nothing.
   */
  yearAgoFloor?: boolean;
  /** Whether minCoverage holds on the folds' mean coverage (default) or on the least of them. */
  coverageOn?: 'mean' | 'least';
  /**
   * Items kept per source and validation user (default 200): the blend can only reach this deep into a
   * source's list. Each blend evaluation costs about sources x depth per user, and coordinate descent
   * runs ~500 of them per fold, so this is the tuner's main speed knob.
   */
  depth?: number;
  /** Alternative hyperparameters per source (merged over the recipe's); each source keeps the set it scores best with alone. */
  variants?: Record<string, Record<string, unknown>[]>;
  /**
   * Worker threads for the folds (default 1: all folds in this thread). With 2 or more, min(threads, folds)
   * threads hold the folds as `foldsHeld` says; the result is the same.
   */
  threads?: number;
  /**
   * With fold threads, where the folds live (fold-pool.ts FoldsHeld): `own` (default, threadedFoldPool's too), each
   * fold on the one thread that split it, which fits and scores it; `every`, a copy of every fold on every thread, the
   * fits shared out one fold at a time and each blend scored by every thread on its share of the users. The result is
   * the same.
   */
  foldsHeld?: FoldsHeld;
  /** Aborting ends the fold threads and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The share of the shop's customers `input` holds when it is a sample of them (tuning's, tune.maxCustomers); default 1. */
  customerShare?: number;
  /**
   * The customers the folds validate when `input` holds every customer's purchases and tuning scores a
   * sample of them (FoldSpec.scored); default: every customer. `customerShare` is then 1: the folds train
   * on the whole shop.
   */
  scored?: readonly string[];
  onProgress?: (message: string) => void;
  /**
   * What of the tuned blend is kept (keep-rule.ts): `per-mode-majority` (default since issue 11's fiftieth
   * session, bench/README "A keep rule by majority of folds") judges the weights on new items and on own
   * items apart, each against the best single source of its mode, on the folds' mean and a strict majority
   * of folds; `per-mode` (the default before) the same on every fold; `sum` (the rule before,
   * kept for the benchmarks) judges novel + all against the best single source showing new items.
   */
  keepRule?: KeepRule;
  /**
   * How low the coverage search may take the novel NDCG (tuning-rules.ts): `accuracy-share` (default) at
   * most `maxCoverageCost` below the most accurate blend's; `best-single` (issue 11's rule (2)) also never
   * below the best single source's (pooled over the folds), unless the accurate blend is below it already.
   */
  coverageFloor?: CoverageFloorRule;
  /**
   * How the folds are pooled for the blend search and the coverage requirement (tuning-rules.ts): `equal`
   * (default) the plain mean; `recency` (issue 11's rule (3)) weights 1, 2, ..., F, oldest first, so the
   * latest window counts most where the blend's lead drifts; `recency-new-items` so for the weights on new
   * items only, the search of the weights on own items (all-mode) pooling the folds equally.
   */
  foldWeights?: FoldWeightRule;
  /**
   * Benchmarks only: further rule sets searched on the same fits (each a blend search of its own); what
   * each keeps is recorded in `validation.compared`, the published recipe is the one of the options above.
   */
  compare?: TuningRules[];
  /**
   * What the keep rule judges the tuned blend on (out-of-fold.ts): `in-fold` (default) its scores on the folds
   * its weights were searched on; `out-of-fold`, per fold, the scores of the blend searched on the other
   * folds (one more search per fold). The served weights are the ones searched on every fold either way.
   */
  blendJudgedOn?: BlendJudgement;
  /**
   * What each window's novel coverage divides by (coverage-catalogue.ts): `window` (default) the window's own train
   * catalogue, `served` every product (or group) bought before the last window ends, as the trained model's.
   */
  coverageCatalogue?: CoverageCatalogueRule;
  /**
   * How each window's coverage counts the customers (coverage-estimate.ts): `sample` (default) the scored customers' lists,
   * `extrapolated` every customer's, estimated from theirs, `every-customer` every customer's, counted (with `scored`, the
   * customers it leaves out are listed too, from the same fitted sources, for coverage and reach only).
   */
  coverageEstimate?: CoverageEstimateRule;
  /**
   * Called as tuning's work advances: `done` of `total` units, one per candidate fitted on one fold
   * (folds x candidates in all), one for the sources scored alone and one per blend search. Called
   * with done < total only: the last unit ends with the tuning.
   */
  onAdvance?: (done: number, total: number) => void;
  /**
   * When one source alone serves new items (the keep rule dropped the blend's new-item weights), whether its
   * lists are re-ranked by the discovery discount for coverage (single-source-coverage.ts): `off` (default)
   * serves the source as it scores; `discount` serves it with the beta chosen on the same folds by the
   * coverage search's price (at most maxCoverageCost of its novel NDCG), published as hybrid.popularityDiscount.
   * The search runs either way (it is cheap) and is recorded in `validation.singleSourceDiscount`.
   */
  singleSourceCoverage?: SingleSourceCoverage;
  /**
   * Which customers the keep rule judges the searched blend on (keep-on.ts): `sample` (default) the ones its weights
   * were searched on; `left-out` the customers of `leftOut`, disjoint from `scored`, on the same windows with the same
   * fitted sources (each scored once more per fold, no fit). Without `scored` and `leftOut` (a shop too small for a
   * second sample), or with blendJudgedOn `out-of-fold`, the blend is judged on the sample and the record says why.
   */
  keepOn?: KeepOn;
  /** With `scored`: the customers keepOn `left-out` judges on (tuning-sample.ts CustomerSample.leftOut). */
  leftOut?: readonly string[];
}

/** What rolling-origin tuning found, stored as the tuned recipe's `validation` field. */
export interface RollingValidation {
  kind: 'rolling-origin';
  /** Validation windows, oldest first; each fold trains on everything before its start. */
  folds: { start: string; end: string }[];
  days: number;
  /** Present when the folds validated up to the end (RollingTuneOptions.windows). */
  windows?: 'to-end';
  /** Present when tune.yearAgo was asked: whether the year-ago window is the first fold, or why it was not added. */
  yearAgo?: { added: true } | { added: false; reason: string };
  /** Present when the coverage requirement was also held on the year-ago window alone (yearAgoFloor, the window added). */
  yearAgoFloor?: true;
  /** Present when the coverage requirement was held on the least covered fold. */
  coverageOn?: 'least';
  k: number;
  /**
   * `blend` when the tuned blend is served whole; a source's name when that source alone serves new and own
   * items; else `new items: X, own items: Y` (each `blend` or a source's name), as `served` says.
   */
  chosen: string;
  /** Who serves each half of the published recipe (the keep rule's decision; absent in records written before the halves were judged apart). */
  served?: KeepDecision;
  /** The source with the best objective alone (mean over folds) among those that show new items, judged by the same coverage requirement as the blend. */
  bestSingle: string;
  /** Objective per fold (novel + all NDCG@k, less the penalty for novel coverage below the requirement): the tuned blend's and each source's alone. */
  objective: { blend: number[]; sources: Record<string, number[]> };
  /** The same per mode (novel: less the penalty; all: all-mode NDCG), as the `per-mode` keep rule judges them. */
  modes?: { blend: ModeObjectives; sources: Record<string, ModeObjectives> };
  /** The keep rule this tuning used (absent in records written before it could be chosen: `sum`). */
  keepRule?: KeepRule;
  /** What each keep rule keeps from these folds (`blend` or a source serving that mode alone), so a benchmark compares them on one tuning. */
  keptBy?: Record<KeepRule, KeepDecision>;
  /** The tuning rules used when not the defaults (tuning-rules.ts). */
  rules?: Partial<TuningRules>;
  /** Present when `compare` asked for further rule sets: each one's tuned blend and what each keep rule keeps of it. */
  compared?: ComparedRules[];
  /** Scores of the chosen recipe, averaged over folds. */
  scores: BlendScores;
  /**
   * Present only when the blend was not kept whole: the whole tuned blend (its per-fold objective is
   * `objective.blend`), so a report or a benchmark can show and refit what lost. Not all of it lost when
   * `served` names `blend` for one half: that half of it (its repeatWeights for own items, or its weights and
   * discount for new items) is what the recipe serves.
   */
  rejectedBlend?: { weights: Weights; repeatWeights?: Weights; popularityDiscount: number };
  /** Hyperparameters of the sources that had alternatives, as chosen. */
  params: Record<string, Record<string, unknown>>;
  /** Customers tuning worked on, of those in the data (training caps them at the tune section's maxCustomers). */
  customers?: { used: number; of: number };
  /**
   * Their purchases, of those in the data (training caps them at the tune section's maxPurchases), and, when
   * customers were left out, how many purchases of every customer the folds fit the population-sensitive
   * sources from (rolling-fold.ts POPULATION_FITTED; at most ten times maxPurchases, the most recent): each
   * fold fits on those of them before its own window, so on fewer than this.
   */
  purchases?: { used: number; of: number; fittedOn?: number };
  /** Present when tune.coverageMargin raised the floor the windows were held to (every-customer count, a sample that leaves customers out): minCoverage, the margin, and the floor held. */
  coverageMargin?: { minCoverage: number; margin: number; heldAt: number };
  /** Present when tune.coverageEstimate `every-customer` was asked of a caller's own sample (no population beside it): the windows counted the sample's lists, and why. */
  coverageEstimate?: { on: 'sample'; asked: 'every-customer'; reason: string };
  /** Present when one source alone serves new items: the coverage re-rank searched for it (single-source-coverage.ts) and whether it is served. */
  singleSourceDiscount?: SingleSourceDiscount;
  /** Present when the blend was judged out of fold (blendJudgedOn): its out-of-fold objectives per mode and what each keep rule kept in fold (`keptBy` is then out of fold). */
  blendJudgedOn?: 'out-of-fold';
  outOfFold?: { blend: ModeObjectives; inFoldKeptBy: Record<KeepRule, KeepDecision> };
  /** Present when out of fold was asked for and could not be done (one validation window: no fold to leave out): why the blend was judged in fold. */
  outOfFoldSkipped?: string;
  /**
   * Present when tune.keepOn `left-out` was asked for: the left-out customers' objectives per mode and what each keep
   * rule kept on the sample (`keptBy` is then the left-out customers'), or why the sample judged the blend after all.
   */
  keepOn?: LeftOutJudgement | SampleJudgement;
}

export interface RollingTuneResult {
  /** The recipe (JSON, as for models/NAME.json) with the chosen hyperparameters and blend. */
  recipe: Record<string, unknown>;
  validation: RollingValidation;
}

/**
 * Hyperparameter alternatives tried per source by default (the recipe's own values are always a
 * candidate too). Kept small: every candidate is fitted once per fold.
 */
export const ROLLING_VARIANTS: Record<string, Record<string, unknown>[]> = {
  ease: [{ lambda: 200 }, { lambda: 800 }],
  'item-knn': [{ neighbours: 20 }, { neighbours: 200 }],
  als: [{ factors: 32 }],
};

/** A progress line's scores per fold: novel NDCG (and coverage) and all-mode NDCG. */
const perFold = (scores: readonly BlendScores[]) =>
  `novel NDCG ${scores.map((s) => s.novel.ndcg.toFixed(4)).join(' ')} (coverage ${scores.map((s) => s.novel.coverage.toFixed(3)).join(' ')}), all-mode NDCG ${scores.map((s) => s.all.ndcg.toFixed(4)).join(' ')}`;

/**
 * Families that learn per product unless a recipe says `perGroup: true` (registry.ts: ALS and EASE, which the
 * fashion shop's validation window measured worse per group, where other shops may not).
 */
export const PER_GROUP_OPTIONAL = new Set(['als', 'ease']);

/**
 * The hyperparameter alternatives tuning tries for `sources` (a recipe's, by name with their family):
 * ROLLING_VARIANTS for the sources it names, and, where the catalogue has product groups (`grouped`), one
 * more for each source of a family in PER_GROUP_OPTIONAL whose params do not say `perGroup`: the recipe's
 * own params learning per group. Like every alternative it is kept only if it scores better alone over
 * the folds (tuneRollingOrigin step 2), so a shop decides on its own windows whether per group helps.
 * Without groups nothing is added (`perGroup` would change nothing).
 */
export function tuningVariants(sources: Record<string, { recommender: string; params?: unknown }>, grouped: boolean): Record<string, Record<string, unknown>[]> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [name, source] of Object.entries(sources)) {
    const listed = ROLLING_VARIANTS[name] ?? [];
    const params = (source.params ?? {}) as Record<string, unknown>;
    const perGroup = grouped && PER_GROUP_OPTIONAL.has(source.recommender) && !('perGroup' in params) ? [{ perGroup: true }] : [];
    if (listed.length + perGroup.length > 0) out[name] = [...listed, ...perGroup];
  }
  return out;
}

type WindowOptions = Pick<RollingTuneOptions, 'folds' | 'days' | 'end' | 'windows' | 'yearAgo'>;

/**
 * The fold splits, oldest first: fold f of F validates on [end - (F - f) days, end - (F - f - 1) days),
 * or with windows `to-end` on [end - (F - f) days, end); each trains on everything before its window.
 */
export function rollingFolds(input: SplitInput, opts: WindowOptions): EvaluationSplit[] {
  return foldWindows(input, opts).map((w) => makeSplit(input, { kind: 'validation', ...w }));
}

/** Each fold's validation window, oldest first: its exclusive end (ISO) and its length in days. */
export function foldWindows(input: SplitInput, opts: WindowOptions): { end: string; days: number }[] {
  return yearAgoFolds(input, opts).windows;
}

/**
 * The fold windows (as foldWindows) and, when `yearAgo` is asked, whether the year-ago window leads them: it is
 * added only when some purchase precedes its start (a fold needs a past to train on) and it ends at or before the
 * oldest window's start (so no purchase is validated twice). Nothing at or after `end` is read either way.
 */
export function yearAgoFolds(input: SplitInput, opts: WindowOptions): { windows: { end: string; days: number }[]; yearAgo?: NonNullable<RollingValidation['yearAgo']> } {
  const ends = foldEnds(input, opts);
  const windows = opts.windows !== 'to-end' ? ends.map((end) => ({ end, days: opts.days })) : ends.map((_, f) => ({ end: ends[ends.length - 1], days: opts.days * (ends.length - f) }));
  if (!opts.yearAgo) return { windows };
  const year = yearAgoWindow(ends[ends.length - 1], opts.days);
  const start = Date.parse(year.end) - year.days * DAY_MS;
  const oldestStart = Math.min(...windows.map((w) => Date.parse(w.end) - w.days * DAY_MS));
  if (Date.parse(year.end) > oldestStart) {
    return { windows, yearAgo: { added: false, reason: `the year-ago window [${iso(start)}, ${year.end}) reaches into the windows from ${iso(oldestStart)} (folds + 1 windows of ${opts.days} days are more than a year)` } };
  }
  const c = purchasesOf(input);
  let earlier = false;
  for (let i = 0; i < c.length && !earlier; i++) earlier = c.ts[i] < start;
  if (!earlier) return { windows, yearAgo: { added: false, reason: `no purchase before the year-ago window [${iso(start)}, ${year.end})` } };
  return { windows: [year, ...windows], yearAgo: { added: true } };
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The held-out month's window one calendar year earlier: the month served is [end, end + days), so the window is
 * [end - 1 year, end - 1 year + days), returned as its exclusive end and length (a 29 February end moves to 1 March).
 */
export function yearAgoWindow(end: string, days: number): { end: string; days: number } {
  const start = new Date(end);
  start.setUTCFullYear(start.getUTCFullYear() - 1);
  return { end: iso(start.getTime() + days * DAY_MS), days };
}

/**
 * How far before the end of the data tuning's windows reach, in days: folds x days, or with yearAgo at least a
 * year and a day (the year-ago window's start). Returns made before this are netted into tuning's purchases.
 */
export function tuningSpanDays(spec: { folds: number; days: number; yearAgo?: boolean }): number {
  return spec.yearAgo ? Math.max(spec.folds * spec.days, 367) : spec.folds * spec.days;
}

/** The exclusive ends of the fold windows (ISO), oldest first. */
export function foldEnds(input: SplitInput, opts: { folds: number; days: number; end?: string }): string[] {
  let end = opts.end ? Date.parse(opts.end) : Number.NEGATIVE_INFINITY;
  if (!opts.end) {
    const c = purchasesOf(input);
    for (let i = 0; i < c.length; i++) end = Math.max(end, c.ts[i] + 1);
  }
  const ends: string[] = [];
  for (let f = opts.folds - 1; f >= 0; f--) ends.push(new Date(end - f * opts.days * DAY_MS).toISOString());
  return ends;
}

/**
 * The folds' scores as tuning judges them: their mean, metric by metric, with the novel reach the coverage
 * requirement is held on replaced by the least fold's when `coverageOn` is `least` (of the folds weighted above 0),
 * and, when `floorFold` names a fold (the year-ago window, yearAgoFloor) weighted above 0, by that fold's own
 * reach where it is lower: the requirement then holds on that fold alone as well as on the pool.
 */
export function pooledScores(perFold: readonly BlendScores[], coverageOn: RollingTuneOptions['coverageOn'] = 'mean', foldWeights?: readonly number[], floorFold?: number): BlendScores {
  const m = foldWeights ? weightedMeanScores(perFold, foldWeights) : meanScores(perFold);
  // A fold of weight 0 (left out: blendJudgedOn 'out-of-fold') is not read; no other rule weights a fold 0.
  if (coverageOn === 'least') m.novel.reach = Math.min(...perFold.filter((_, f) => (foldWeights?.[f] ?? 1) > 0).map((s) => s.novel.reach));
  if (floorFold !== undefined && (foldWeights?.[floorFold] ?? 1) > 0) m.novel.reach = Math.min(m.novel.reach, perFold[floorFold].novel.reach);
  return m;
}

/** Fewer validation customers than this in a window and tuning would fit noise: the recipe is kept as written. */
export const MIN_FOLD_USERS = 5;

/** Thrown when a validation window has too few customers to tune on. */
export class ThinValidationError extends Error {}

/**
 * Throws ThinValidationError when a window has fewer than MIN_FOLD_USERS validation customers, or fewer
 * than that who bought something new to them: the weights on new items are tuned on the novel lists
 * alone, so without such customers every blend scores as the sources of repurchases do, and tuning
 * would publish one of them alone (a shop whose customers only re-order).
 */
function thinWindowCheck(folds: readonly FoldInfo[]): void {
  const thin = folds.findIndex((c) => c.users < MIN_FOLD_USERS);
  if (thin >= 0) {
    throw new ThinValidationError(`validation window ${thin + 1} of ${folds.length} has ${folds[thin].users} customers who bought in it (at least ${MIN_FOLD_USERS} are needed)`);
  }
  const thinNovel = folds.findIndex((c) => c.novelUsers < MIN_FOLD_USERS);
  if (thinNovel < 0) return;
  const need = `at least ${MIN_FOLD_USERS} are needed to judge recommendations of new products`;
  if (folds.length > 1 && folds.every((c) => c.novelUsers < MIN_FOLD_USERS)) {
    const most = Math.max(...folds.map((c) => c.novelUsers));
    throw new ThinValidationError(`no validation window has enough customers who bought something new to them (at most ${most} in a window; ${need})`);
  }
  throw new ThinValidationError(`validation window ${thinNovel + 1} of ${folds.length} has ${folds[thinNovel].novelUsers} customers who bought something new to them (${need})`);
}

const alone = (name: string) => ({ cold: { [name]: 1 }, warm: { [name]: 1 } });

/**
 * Why keepOn `left-out` cannot judge on left-out customers (undefined when it can): no second sample was drawn (every
 * customer is in the tuning sample, or the customers it leaves out are fewer than its bounds hold), the blend is
 * judged out of fold, or a left-out window is thinner than tuning's own minimum. The sample then judges, as by default.
 */
function keepOnLeftOutSkipped(opts: Pick<RollingTuneOptions, 'scored' | 'leftOut' | 'blendJudgedOn'>, folds: readonly FoldInfo[]): string | undefined {
  if (opts.scored === undefined) return 'every customer is in the tuning sample (tune.maxCustomers, tune.maxPurchases): no customer is left out, so the keep rule judged on the sample';
  if ((opts.leftOut?.length ?? 0) === 0) return 'the customers the tuning sample leaves out are fewer than a second sample of the same bounds (tune.maxCustomers, tune.maxPurchases): the keep rule judged on the sample';
  if (opts.blendJudgedOn === 'out-of-fold') return 'the blend is judged out of fold (tune.blendJudgedOn), on the sample: the keep rule judged on the sample';
  const thin = folds.findIndex((f) => (f.leftOut?.users ?? 0) < MIN_FOLD_USERS || (f.leftOut?.novelUsers ?? 0) < MIN_FOLD_USERS);
  if (thin >= 0) return `validation window ${thin + 1} of ${folds.length} has ${folds[thin].leftOut?.novelUsers ?? 0} left-out customers who bought something new to them (at least ${MIN_FOLD_USERS} are needed): the keep rule judged on the sample`;
  return undefined;
}

/** Stands for the scores of a fold a search leaves out: pooledScores weights it 0 (0 times these zeros adds what 0 times any scores would), and reads no other of its values. */
const nothing = { ndcg: 0, recall: 0, coverage: 0, reach: 0, users: 0 };
const NOT_SCORED: Promise<BlendScores> = Promise.resolve(Object.freeze({ novel: Object.freeze({ ...nothing }), all: Object.freeze({ ...nothing }) }));

/**
 * Rolling-origin tuning on data before `end` only:
 *  1. `folds` validation windows of `days` days back to back before `end` (or, with windows `to-end`,
 *     each from there up to `end`); fold f trains on everything before its window (validationSplit
 *     ignores events at or after its end).
 *  2. Per source, each hyperparameter candidate is fitted on every fold and the one whose own
 *     accuracy objective (novel + all NDCG@k, mean over folds) is best is kept.
 *  3. Blend weights and the discovery discount are tuned by coordinate descent on the mean over
 *     folds: the weights on new items and the discount by novel-mode NDCG (accuracy first, then with
 *     the coverage requirement), then the weights on the customer's own items (repeatWeights) by
 *     all-mode NDCG with the rest held fixed.
 *  4. Regularisation toward the simplest good recipe, each half of the blend judged on its own mode
 *     (keepRule `per-mode-majority`, the default, keep-rule.ts; below as `per-mode` words it, where
 *     "on every fold" reads "on the folds' mean and a strict majority of folds"): the weights on new items are kept only if the blend's novel
 *     NDCG beats the best single source's on every fold, both judged with the same coverage requirement
 *     (on their coverage pooled over the folds as in step 3: the mean, or the least with coverageOn
 *     `least`), otherwise that source alone serves new items; the weights on own items are kept only if
 *     the blend's all-mode NDCG beats the best source of own items' (buy-again, repurchase) on every
 *     fold, otherwise that source serves them; when a single source serves the new items, the own-item
 *     weights are scored again beside its new items and kept only if they still win every fold (keep-rule.ts
 *     keepOwnHalfAsServed). (keepRule `sum`: novel + all against the best single
 *     source, which then serves both.) Only sources that show new items compete as the single
 *     source (one that scores only the customer's own items would leave the default lists to backfill),
 *     and, when the recipe caps some sources' share of warm lists (hybrid.sourceCap), only sources it does
 *     not cap; a blend that weights none but capped sources for warm customers is not kept either. A cap
 *     with nothing else weighted beside it cannot act: every warm customer would get the same trend list.
 * Windows with fewer than MIN_FOLD_USERS customers, or customers who bought something new, are refused
 * (ThinValidationError).
 */
export async function tuneRollingOrigin(input: SplitInput, recipe: Recipe, raw: Record<string, unknown>, opts: RollingTuneOptions): Promise<RollingTuneResult> {
  const log = opts.onProgress ?? (() => {});
  // Columns once: the windows and every fold read them.
  input = columnarInput(input);
  const k = opts.k ?? 10;
  const fullHistoryOrders = recipe.hybrid.fullHistoryOrders;
  const { windows, yearAgo } = yearAgoFolds(input, opts);
  if (yearAgo && !yearAgo.added) log(`year-ago window not added: ${yearAgo.reason}`);
  // coverageCatalogue `served`: coverage on every window counts against the catalogue the served model will have, every product bought before the last window's end (coverage-catalogue.ts).
  const served = opts.coverageCatalogue === 'served' ? { coverageCatalogue: catalogueKeysBefore(purchasesOf(input), input.items, Math.max(...windows.map((w) => Date.parse(w.end)))) } : {};
  // keepOn `left-out` (keep-on.ts): the folds also validate the left-out customers, apart.
  const leftOutGiven = opts.keepOn === 'left-out' && opts.scored !== undefined && (opts.leftOut?.length ?? 0) > 0 && opts.blendJudgedOn !== 'out-of-fold';
  const specs: FoldSpec[] = windows.map((w) => ({ ...w, k, fullHistoryOrders, depth: opts.depth ?? 200, discountShare: recipe.hybrid.discountShare, customerShare: opts.customerShare, ...served, ...(opts.coverageEstimate === 'extrapolated' || opts.coverageEstimate === 'every-customer' ? { coverageEstimate: opts.coverageEstimate } : {}), ...(opts.scored ? { scored: opts.scored } : {}), ...(leftOutGiven ? { leftOut: opts.leftOut } : {}) }));
  const threads = opts.threads ?? 1;
  const pool = threads >= 2 ? threadedFoldPool(input, specs, threads, opts.signal, opts.foldsHeld) : localFoldPool(input, specs);
  let thinYearAgo: string | undefined;
  try {
    const tuned = await tuneOnFolds();
    if (typeof tuned !== 'string') return tuned;
    thinYearAgo = tuned;
  } finally {
    await pool.close();
  }
  // The year-ago window too thin to validate on (a shop whose first year was small): tuned on the other windows, as
  // without the option, rather than not at all (ThinValidationError), and the record says why.
  log(`year-ago window left out: ${thinYearAgo}`);
  const without = await tuneRollingOrigin(input, recipe, raw, { ...opts, yearAgo: false });
  return { ...without, validation: { ...without.validation, yearAgo: { added: false, reason: thinYearAgo } } };

  /** The tuning, or when the year-ago window was added and is too thin to validate on, why (the caller tunes without it). */
  async function tuneOnFolds(): Promise<RollingTuneResult | string> {
    const folds = await pool.info();
    folds.forEach((s, f) => log(`fold ${f + 1}: train ${s.trainEvents} events, ${s.users} validation users (${s.novelUsers} who bought something new), window from ${new Date(s.start).toISOString().slice(0, 10)}${s.listedOnly !== undefined ? `; ${s.listedOnly} customers the sample left out listed for coverage (tune.coverageEstimate every-customer)` : ''}`));
    if (yearAgo?.added && (folds[0].users < MIN_FOLD_USERS || folds[0].novelUsers < MIN_FOLD_USERS)) {
      return `the year-ago window [${new Date(folds[0].start).toISOString()}, ${windows[0].end}) has too few customers to validate on: ${folds[0].users} who bought in it, ${folds[0].novelUsers} who bought something new to them (at least ${MIN_FOLD_USERS} of each are needed)`;
    }
    thinWindowCheck(folds);
    // yearAgoFloor: the year-ago window (the first fold, when added) also holds the coverage requirement alone.
    const floorFold = opts.yearAgoFloor && yearAgo?.added ? 0 : undefined;
    const rawSources = (raw.sources ?? {}) as Record<string, { recommender?: string; params?: Record<string, unknown> }>;
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

    const chosenParams: Record<string, Record<string, unknown>> = {};
    // Every candidate of every source is asked for at once (with fold threads they share the threads
    // fit by fit), then judged source by source in recipe order.
    const allCandidates = Object.keys(recipe.sources).map((name) => {
      const base = rawSources[name]?.params ?? {};
      return { name, candidates: [base, ...(opts.variants?.[name] ?? []).map((v) => ({ ...base, ...v }))] };
    });
    // Progress in units of work: every candidate on every fold, the sources scored alone, each blend search.
    const searches = (opts.minCoverage ?? 0) > 0 ? 3 : 2;
    // Out of fold needs a fold to leave out and another to search on: with one fold the blend is judged in fold (and the record says so).
    const judgedOutOfFold = opts.blendJudgedOn === 'out-of-fold' && folds.length >= 2;
    const outOfFoldSkipped = opts.blendJudgedOn === 'out-of-fold' && !judgedOutOfFold ? 'one validation window: no other window to search the blend on, so it was judged in fold' : undefined;
    if (outOfFoldSkipped) log(`out of fold: ${outOfFoldSkipped}`);
    const keepOnSkipped = opts.keepOn === 'left-out' ? keepOnLeftOutSkipped(opts, folds) : undefined;
    const keepOnLeftOut = opts.keepOn === 'left-out' && keepOnSkipped === undefined;
    if (keepOnSkipped) log(`keep on left-out customers: ${keepOnSkipped}`);
    else if (keepOnLeftOut) folds.forEach((s, f) => log(`fold ${f + 1}: ${s.leftOut!.users} left-out customers validated apart for the keep rule (${s.leftOut!.novelUsers} who bought something new)`));
    const total = allCandidates.reduce((n, s) => n + s.candidates.length, 0) * folds.length + 1 + searches * (judgedOutOfFold ? 1 + folds.length : 1);
    let done = 0;
    const advance = () => {
      done++;
      if (done < total) opts.onAdvance?.(done, total);
    };
    const fits = allCandidates.map(({ name, candidates }) => ({
      name,
      candidates,
      fits: candidates.map((candidate, index) => pool.fit(name, recipe.sources[name].recommender, candidate, index, advance)),
    }));
    // Every fit is awaited, even after one failed, so none is left rejecting unobserved.
    const settled = Promise.allSettled(fits.flatMap((s) => s.fits));
    try {
      for (const { name, candidates, fits: candidateFits } of fits) {
        let best: { index: number; perFold: number[] } | null = null;
        for (const [index, candidate] of candidates.entries()) {
          const { perFold, ms } = await candidateFits[index];
          log(`${name} ${JSON.stringify(candidate)}: alone ${mean(perFold).toFixed(4)} (${perFold.map((o) => o.toFixed(4)).join(' ')}), fitted in ${Math.round(ms)} ms`);
          if (!best || mean(perFold) > mean(best.perFold) + 1e-9) best = { index, perFold };
        }
        await pool.keep(name, best!.index);
        if (candidates.length > 1) chosenParams[name] = candidates[best!.index];
      }
    } finally {
      await settled;
    }

    // Each blend is scored on every fold it is asked for at once (in parallel with fold threads), then
    // pooled. The folds' scores are kept per blend and fold, so rule sets that pool them differently
    // (foldWeights) share them, and so do the searches that leave a fold out (blendJudgedOn `out-of-fold`):
    // such a search asks only for the folds it pools, and a blend another search scored costs it nothing.
    const seen = new Map<string, Promise<BlendScores>[]>();
    let hits = 0;
    // Blends sent to the folds and fold scorings (a blend on one fold): what the searches cost, whatever the machine's load.
    const count = { blends: 0, folds: 0 };
    /** The trial's scores by fold, holding at least folds `wanted`: those scored before as they were, the rest scored now (at once). */
    const scoresOn = (trial: BlendTrial, wanted: readonly number[]): readonly Promise<BlendScores>[] => {
      const key = trialKey(trial);
      let known = seen.get(key);
      if (!known) seen.set(key, (known = []));
      const missing = wanted.filter((f) => !known[f]);
      if (missing.length === 0) hits++;
      else {
        const scored = pool.scoreFolds(trial, missing);
        count.blends++;
        count.folds += missing.length;
        missing.forEach((f, i) => (known[f] = scored.then((s) => s[i])));
      }
      return known;
    };
    const everyFold = folds.map((_, f) => f);
    const stepFolds: { every?: number[]; leftOut?: number[] } = {};
    /** The trial's scores on every fold; with `leftOut`, that fold's is not scored (NOT_SCORED): it is weighted 0 wherever these are pooled (pooledScores). */
    const foldScores = (trial: BlendTrial, leftOut?: number): Promise<BlendScores[]> => {
      const scored = scoresOn(trial, everyFold.filter((f) => f !== leftOut));
      return Promise.all(everyFold.map((f) => (f === leftOut ? NOT_SCORED : scored[f])));
    };
    const names = Object.keys(recipe.sources);
    const aloneScores: Record<string, BlendScores[]> = {};
    for (const name of names) {
      aloneScores[name] = await pool.score({ weights: alone(name), popularityDiscount: 0 });
      log(`${name} alone per fold: ${perFold(aloneScores[name])}`);
    }
    // keepOn `left-out`: each source alone once more per fold, on the left-out customers (the keep rule's comparison).
    const leftOutAlone: Record<string, BlendScores[]> = {};
    if (keepOnLeftOut) for (const name of names) leftOutAlone[name] = await pool.scoreLeftOut({ weights: alone(name), popularityDiscount: 0 });
    advance();
    // A source that alone shows no new item on any fold (it scores only the customer's own items, like
    // buy-again) cannot change a list of new items: the searches on new items leave its weight as it is.
    const onNewItems = names.filter((name) => aloneScores[name].some((s) => s.novel.coverage > 0));
    // The recipe a single source makes must still recommend new items: a source that scores only the
    // customer's own items (buy-again, repurchase) alone would leave every default list (purchases left
    // out) to popularity backfill, however well it ranks repurchases. So the best single source is one
    // of those that show new items (all of them only when none does).
    // Nor one the recipe caps (trend, popularity in the default): alone, its cap has nothing to give the rest of
    // a warm list to. The same holds for a blend that weights, of the sources showing new items, only capped ones
    // for warm customers.
    const capped = new Set(recipe.hybrid.sourceCap?.sources ?? []);
    const uncapped = onNewItems.filter((name) => !capped.has(name));
    const candidates = uncapped.length > 0 ? uncapped : onNewItems.length > 0 ? onNewItems : names;
    const ownItems = names.filter((name) => !onNewItems.includes(name));
    const tuneOpts = { grid: opts.grid, rounds: opts.rounds, coveragePenalty: opts.coveragePenalty, discountGrid: opts.discountGrid ?? DEFAULT_DISCOUNT_GRID };
    const maxCost = opts.maxCoverageCost ?? DEFAULT_MAX_COVERAGE_COST;
    const rules: TuningRules = { coverageFloor: opts.coverageFloor ?? 'accuracy-share', foldWeights: opts.foldWeights ?? 'equal' };

    /**
     * Step 3 under one rule set (the search's log lines only when `quiet` is not set): the tuned blend. With
     * `leftOut` fold k's weight is 0 in every pooling, so the weights are searched on the other folds only
     * (blendJudgedOn `out-of-fold`, out-of-fold.ts).
     */
    async function searchBlend(rules: TuningRules, quiet: boolean, leftOut?: number) {
      const say = quiet ? () => {} : log;
      const without = (w: number[] | undefined) => (leftOut === undefined ? w : leaveOneOut(w, folds.length, leftOut));
      const weightsOfFolds = without(foldWeightsOf(rules.foldWeights, folds.length));
      // The folds' pooled scores, with the coverage the requirement is held on (the mean's, or the least fold's).
      const pooled = (perFold: readonly BlendScores[]) => pooledScores(perFold, opts.coverageOn, weightsOfFolds, floorFold);
      const evaluate = async (blend: BlendTrial) => pooled(await foldScores(blend, leftOut));
      // A search leaving a fold out is a unit of tuning's progress as the search on every fold is (a rule set compared is not).
      const progress = !quiet || leftOut !== undefined ? advance : () => {};
      // Fold scorings per step of the search (new items for accuracy, for coverage, own items), summed over the searches of each kind.
      let mark = count.folds;
      const step = () => {
        progress();
        const spent = (stepFolds[leftOut === undefined ? 'every' : 'leftOut'] ??= []);
        spent.push(count.folds - mark);
        mark = count.folds;
      };
      // The weights on new items are fitted to the novel lists only (which depend on nothing else), the
      // weights on the customer's own items then to the lists with repurchases, new items held fixed.
      const novelOnly = ['novel'] as const;
      let blend = await tuneWeights(evaluate, onNewItems, recipe.hybrid.weights, { ...tuneOpts, modes: novelOnly, minCoverage: 0, popularityDiscount: recipe.hybrid.popularityDiscount });
      step();
      say(`blend on new items (accuracy only): novel NDCG ${blend.scores.novel.ndcg.toFixed(4)}, novel coverage ${blend.scores.novel.coverage.toFixed(3)} (reach ${blend.scores.novel.reach.toFixed(3)})`);
      if ((opts.minCoverage ?? 0) > 0) {
        const accurate = blend;
        const search = { ...tuneOpts, modes: novelOnly, minCoverage: opts.minCoverage, popularityDiscount: accurate.popularityDiscount };
        blend = await tuneWeights(evaluate, onNewItems, accurate.weights, search);
        say(`blend on new items (coverage >= ${opts.minCoverage}): novel NDCG ${blend.scores.novel.ndcg.toFixed(4)}, novel coverage ${blend.scores.novel.coverage.toFixed(3)} (reach ${blend.scores.novel.reach.toFixed(3)})`);
        // Coverage is bought with accuracy only up to maxCost: a shop whose accurate lists cannot reach the
        // requirement would otherwise trade all of it for reach (lists of the far long tail). The bound is
        // checked after the free search rather than imposed on it, so a search whose path dips below it and
        // comes back is not cut short; only a result past it is searched again within it. With coverageFloor
        // `best-single` the bound is also the best single source's novel NDCG (tuning-rules.ts).
        const bestSingleNovel = Math.max(...candidates.map((name) => pooled(aloneScores[name]).novel.ndcg));
        const bounded = await boundedCoverage(evaluate, onNewItems, accurate, blend, search, { rule: rules.coverageFloor, bestSingleNovel, maxCost });
        if (bounded !== blend) {
          blend = bounded;
          say(`blend on new items (coverage at most ${maxCost} of the accuracy${rules.coverageFloor === 'best-single' ? `, novel NDCG at least the best single source's ${bestSingleNovel.toFixed(4)}` : ''}): novel NDCG ${blend.scores.novel.ndcg.toFixed(4)}, novel coverage ${blend.scores.novel.coverage.toFixed(3)} (reach ${blend.scores.novel.reach.toFixed(3)})`);
        }
        step();
      }
      // The weights on own items are judged on all-mode lists, pooled as `ownItemFoldWeightsOf` says.
      const ownWeightsOfFolds = without(ownItemFoldWeightsOf(rules.foldWeights, folds.length));
      const evaluateOwn = async (trial: BlendTrial) => pooledScores(await foldScores(trial, leftOut), opts.coverageOn, ownWeightsOfFolds, floorFold);
      blend = await tuneWeights(evaluateOwn, names, blend.weights, {
        ...tuneOpts,
        discountGrid: [],
        modes: ['all'],
        popularityDiscount: blend.popularityDiscount,
        repeatWeights: recipe.hybrid.repeatWeights ?? blend.weights,
      });
      step();
      return blend;
    }

    /** Step 3 and the judgement of step 4 under one rule set (the search's log lines only when `quiet` is not set). */
    async function searchAndKeep(rules: TuningRules, quiet: boolean) {
      const say = quiet ? () => {} : log;
      const weightsOfFolds = foldWeightsOf(rules.foldWeights, folds.length);
      const pooled = (perFold: readonly BlendScores[]) => pooledScores(perFold, opts.coverageOn, weightsOfFolds, floorFold);
      const blend = await searchBlend(rules, quiet);
      const inFoldCount = { ...count };
      say(`blend search: ${inFoldCount.blends} blends scored (${inFoldCount.folds} fold scorings: ${(stepFolds.every ?? []).slice(0, searches).join(' / ')} by step), ${hits} revisited`);
      // The blend and the single sources are judged by the same bar: accuracy, less the coverage
      // shortfall the blend was held to. A single source that reaches the accuracy only by collapsing onto
      // a few items must not beat a blend that was forbidden to.
      // As in the search, the requirement is on the pooled coverage; accuracy is per fold.
      // The shortfall is held to the same bound as the search: at most maxCost of the candidate's own novel
      // NDCG, so a source that cannot reach the requirement is not judged by reach alone.
      const judgedModes = (perFold: BlendScores[]): ModeObjectives => {
        const all = pooled(perFold);
        const bound = maxCost === Number.POSITIVE_INFINITY ? maxCost : maxCost * all.novel.ndcg;
        const shortfall = Math.min(objective(all) - objective(all, opts.minCoverage ?? 0, opts.coveragePenalty), bound);
        // The shortfall rides along (only when charged, so records without one are as before): the keep rule's tie
        // at NDCG 1 is at 1 less it (keep-rule.ts beatsEveryFold).
        return { novel: perFold.map((s) => s.novel.ndcg - shortfall), all: perFold.map((s) => s.all.ndcg), ...(shortfall > 0 ? { novelShortfall: shortfall } : {}) };
      };
      // The recorded sum as before the modes were judged apart (same arithmetic, same digits).
      const judged = (perFold: BlendScores[]) => {
        const all = pooled(perFold);
        const bound = maxCost === Number.POSITIVE_INFINITY ? maxCost : maxCost * all.novel.ndcg;
        const shortfall = Math.min(objective(all) - objective(all, opts.minCoverage ?? 0, opts.coveragePenalty), bound);
        return perFold.map((s) => objective(s) - shortfall);
      };
      // Both modes, for the judgement and the report (each search scored only the mode it judged).
      const blendScores = await pool.score({ weights: blend.weights, repeatWeights: blend.repeatWeights, popularityDiscount: blend.popularityDiscount });
      const blendModes = judgedModes(blendScores);
      const blendPerFold = judged(blendScores);
      say(`blend per fold: ${perFold(blendScores)}`);
      say(`blend on own items: all-mode NDCG ${blend.scores.all.ndcg.toFixed(4)}, objective ${objective(pooled(blendScores), opts.minCoverage ?? 0, opts.coveragePenalty).toFixed(4)}`);
      const sourceModes: Record<string, ModeObjectives> = {};
      const singles: Record<string, number[]> = {};
      for (const name of names) {
        sourceModes[name] = judgedModes(aloneScores[name]);
        singles[name] = judged(aloneScores[name]);
      }
      const bestSingle = candidates.reduce((a, b) => (mean(singles[b]) > mean(singles[a]) + 1e-9 ? b : a));
      // Weighted uncapped sources that show new items: buy-again's weight (own items only) leaves the cap nothing either.
      const blendActsOnCap = capped.size === 0 || uncapped.length === 0 || uncapped.some((name) => (blend.weights.warm[name] ?? 0) > 0);
      // Without a source of own items the own half is judged against the sources that may serve alone (`candidates`):
      // a capped source alone is no recipe for own items either (its cap would cut the lists it was judged on).
      // The keep rules' judgement of the searched blend, on the scores `score` gives (the folds' sample, or with
      // keepOn `left-out` the customers the folds validate apart): each rule's decision, the own half as served
      // scored again beside a single source's new items on the same customers. `on` heads its log lines.
      const judgeKeep = async (blendModes: ModeObjectives, sourceModes: Record<string, ModeObjectives>, score: (b: FoldBlend) => Promise<BlendScores[]>, on = '') => {
        const keepInput = { blend: blendModes, sources: sourceModes, novelCandidates: candidates, ownCandidates: ownItems.length > 0 ? ownItems : candidates, blendActsOnCap };
        const keptBy = Object.fromEntries(KEEP_RULES.map((rule) => [rule, keepDecision(rule, keepInput)])) as Record<KeepRule, KeepDecision>;
        // The blend's own-item weights beside a single source's new items are a recipe the rule never judged:
        // scored as served (validation folds only), they stay only if they still beat the own-items source on every fold.
        const split = keptBy['per-mode'];
        // The own half as served, all-mode per fold, by the source serving new items (per-mode-majority may split elsewhere).
        const servedAllBy = new Map<string, number[]>();
        if (split.all === 'blend' && split.novel !== 'blend') {
          const asServed = await score(servedWeights(split, blend));
          servedAllBy.set(split.novel, asServed.map((s) => s.all.ndcg));
          keptBy['per-mode'] = keepOwnHalfAsServed(split, asServed.map((s) => s.all.ndcg), keepInput);
          say(`${on}own-item weights beside ${split.novel}'s new items, all-mode per fold ${asServed.map((s) => s.all.ndcg.toFixed(4)).join(' ')}: own items by ${keptBy['per-mode'].all}`);
          // `per-mode-single` splits as `per-mode` and also holds the served own half against the new-item source alone.
          keptBy['per-mode-single'] = keepOwnHalfAgainstSingle(keptBy['per-mode-single'], asServed.map((s) => s.all.ndcg), keepInput);
          log(`${on}rules ${JSON.stringify(rules)}: own-item weights beside ${split.novel}'s new items, all-mode per fold ${asServed.map((s) => s.all.ndcg.toFixed(4)).join(' ')}; ${split.novel} alone ${sourceModes[split.novel].all.map((x) => x.toFixed(4)).join(' ')}: per-mode-single serves own items by ${keptBy['per-mode-single'].all}`);
        }
        // per-mode-majority and its variants (per-mode-trimmed, per-mode-outlier): each checks its own half as served by its own test.
        for (const looser of LOOSER_RULES) {
          const majority = keptBy[looser];
          if (majority.all !== 'blend' || majority.novel === 'blend') continue;
          const servedAll = servedAllBy.get(majority.novel) ?? (await score(servedWeights(majority, blend))).map((s) => s.all.ndcg);
          servedAllBy.set(majority.novel, servedAll);
          keptBy[looser] = keepOwnHalfAsServed(majority, servedAll, keepInput, looser);
          say(`${on}${looser}: own-item weights beside ${majority.novel}'s new items, all-mode per fold ${servedAll.map((x) => x.toFixed(4)).join(' ')}: own items by ${keptBy[looser].all}`);
        }
        return { keepInput, keptBy };
      };
      // With coverageEstimate `every-customer` the floor is held on every customer's lists (the folds' count, the left-out
      // customers' lists among them): the left-out judgement prices coverage on that same count, its accuracy its own.
      // (`extrapolated` needs nothing: the left-out customers' count is extrapolated to every customer's lists as the sample's.)
      const countedAsSearched = (judged: BlendScores[], counted: readonly BlendScores[]): BlendScores[] =>
        opts.coverageEstimate === 'every-customer' ? judged.map((s, f) => ({ ...s, novel: { ...s.novel, coverage: counted[f].novel.coverage, reach: counted[f].novel.reach } })) : judged;
      const onSample = await judgeKeep(blendModes, sourceModes, (b) => pool.score(b));
      let { keepInput, keptBy } = onSample;
      let judgeScore = (b: FoldBlend) => pool.score(b);
      // keepOn `left-out`: the same searched blend and the same fitted sources, judged on customers it was not searched on.
      let leftOut: LeftOutJudgement | undefined;
      if (keepOnLeftOut) {
        const leftOutBlend = judgedModes(countedAsSearched(await pool.scoreLeftOut({ weights: blend.weights, repeatWeights: blend.repeatWeights, popularityDiscount: blend.popularityDiscount }), blendScores));
        const leftOutSources = Object.fromEntries(names.map((name) => [name, judgedModes(countedAsSearched(leftOutAlone[name], aloneScores[name]))]));
        say(`left out: blend novel judged ${leftOutBlend.novel.map((x) => x.toFixed(4)).join(' ')} (sample ${blendModes.novel.map((x) => x.toFixed(4)).join(' ')}), all ${leftOutBlend.all.map((x) => x.toFixed(4)).join(' ')} (sample ${blendModes.all.map((x) => x.toFixed(4)).join(' ')})`);
        judgeScore = (b: FoldBlend) => pool.scoreLeftOut(b);
        ({ keepInput, keptBy } = await judgeKeep(leftOutBlend, leftOutSources, judgeScore, 'left out: '));
        leftOut = { on: 'left-out', customers: opts.leftOut!.length, modes: { blend: leftOutBlend, sources: leftOutSources }, sampleKeptBy: onSample.keptBy };
      }
      if (quiet || !judgedOutOfFold) return { blend, blendScores, blendModes, blendPerFold, sourceModes, singles, bestSingle, blendActsOnCap, keptBy, keepInput, pooled, judgeScore, leftOut };
      // blendJudgedOn `out-of-fold` (out-of-fold.ts): the keep rules judge, on each fold, the blend searched on the other folds.
      // Each search asks only for the folds it pools, and the blends any search scored before are not scored again.
      const before = { ...count };
      const oof = await outOfFoldScores(folds.length, (left) => searchBlend(rules, true, left), (b, f) => scoresOn({ weights: b.weights, repeatWeights: b.repeatWeights, popularityDiscount: b.popularityDiscount }, [f])[f]);
      const byStep = everyFold.map((f) => (stepFolds.leftOut ?? []).slice(f * searches, (f + 1) * searches).join(' / ')).join('; ');
      log(`out of fold: ${folds.length} searches, each leaving a fold out, scored ${count.blends - before.blends} blends anew (${count.folds - before.folds} fold scorings; by step, each search: ${byStep}); the search on every fold ${inFoldCount.blends} (${inFoldCount.folds})`);
      const oofModes = judgedModes(oof.perFold);
      const inFold = keptBy;
      const oofKept = keptOutOfFold(keepInput, oofModes);
      say(`out of fold: blend novel judged ${oofModes.novel.map((x) => x.toFixed(4)).join(' ')} (in fold ${blendModes.novel.map((x) => x.toFixed(4)).join(' ')}), all ${oofModes.all.map((x) => x.toFixed(4)).join(' ')} (in fold ${blendModes.all.map((x) => x.toFixed(4)).join(' ')})`);
      const oofSplit = oofKept['per-mode'];
      if (oofSplit.all === 'blend' && oofSplit.novel !== 'blend') {
        // The own half as served, out of fold: each fold's left-out blend's own-item weights beside the single source's new items.
        const servedAll: number[] = [];
        for (const [f, b] of oof.blends.entries()) servedAll.push((await scoresOn(servedWeights(oofSplit, b), [f])[f]).all.ndcg);
        oofKept['per-mode'] = keepOwnHalfAsServed(oofSplit, servedAll, keepInput);
        oofKept['per-mode-single'] = keepOwnHalfAgainstSingle(oofKept['per-mode-single'], servedAll, keepInput);
        say(`out of fold: own-item weights beside ${oofSplit.novel}'s new items, all-mode per fold ${servedAll.map((x) => x.toFixed(4)).join(' ')}: own items by ${oofKept['per-mode'].all}`);
      }
      // The own half as served by the source serving new items, shared by per-mode-majority's variants (each reads it once).
      const oofServedAllBy = new Map<string, number[]>();
      for (const looser of LOOSER_RULES) {
        const oofMajority = oofKept[looser];
        if (oofMajority.all !== 'blend' || oofMajority.novel === 'blend') continue;
        let servedAll = oofServedAllBy.get(oofMajority.novel);
        if (!servedAll) {
          servedAll = [];
          // As per-mode's check above: each left-out blend's served half on its own fold only, from the shared fold scores.
          for (const [f, b] of oof.blends.entries()) servedAll.push((await scoresOn(servedWeights(oofMajority, b), [f])[f]).all.ndcg);
          oofServedAllBy.set(oofMajority.novel, servedAll);
        }
        oofKept[looser] = keepOwnHalfAsServed(oofMajority, servedAll, keepInput, looser);
      }
      const outOfFold = { blend: oofModes, inFoldKeptBy: inFold };
      return { blend, blendScores, blendModes, blendPerFold, sourceModes, singles, bestSingle, blendActsOnCap, keptBy: oofKept, outOfFold, keepInput, pooled, judgeScore, leftOut };
    }

    const found = await searchAndKeep(rules, false);
    const compared: ComparedRules[] = [];
    // The keep rule in use, whose decision the compare lines report (they printed per-mode's whatever the rule).
    const ruleInUse = opts.keepRule ?? 'per-mode-majority';
    for (const other of opts.compare ?? []) {
      const r = await searchAndKeep(other, true);
      const b = r.blend;
      compared.push({ rules: other, blend: { weights: b.weights, ...(b.repeatWeights ? { repeatWeights: b.repeatWeights } : {}), popularityDiscount: b.popularityDiscount }, keptBy: r.keptBy, modes: r.blendModes });
      log(`rules ${JSON.stringify(other)}: blend novel judged ${r.blendModes.novel.map((o) => o.toFixed(4)).join(' ')}, all ${r.blendModes.all.map((o) => o.toFixed(4)).join(' ')}; ${ruleInUse} keeps new items: ${r.keptBy[ruleInUse].novel}, own items: ${r.keptBy[ruleInUse].all}`);
    }
    log(`${hits} blends were revisited and not scored again`);
    const { blend, blendScores, blendModes, blendPerFold, sourceModes, singles, bestSingle, blendActsOnCap, keptBy, keepInput, outOfFold } = found;
    const rule = opts.keepRule ?? 'per-mode-majority';
    let kept = keptBy[rule];
    // A source alone serving new items: the coverage re-rank of its lists, searched on the same folds by the
    // coverage search's price, and the own half judged again beside the re-ranked new items (as served) by the
    // keep rule's own check: per-mode-single's also holds it against the new-item source alone.
    let singleSource: SingleSourceDiscount | undefined;
    if (kept.novel !== 'blend') {
      const evaluate = async (trial: BlendTrial) => found.pooled(await foldScores(trial));
      const searched = await searchSingleSourceDiscount(evaluate, kept.novel, { minCoverage: opts.minCoverage ?? 0, coveragePenalty: opts.coveragePenalty, maxCost, discountGrid: tuneOpts.discountGrid });
      const beta = searched.popularityDiscount;
      let served = kept;
      if (beta > 0 && kept.all === 'blend') {
        const asServed = await found.judgeScore({ ...servedWeights(kept, blend), popularityDiscount: beta });
        const servedAll = asServed.map((s) => s.all.ndcg);
        served = rule === 'per-mode-single' ? keepOwnHalfAgainstSingle(kept, servedAll, keepInput) : keepOwnHalfAsServed(kept, servedAll, keepInput, rule);
      }
      const applied = beta > 0 && opts.singleSourceCoverage === 'discount';
      singleSource = { ...searched, applied, ...(beta > 0 ? { served } : {}) };
      log(`${kept.novel}'s new items re-ranked by discount ${beta}: novel NDCG ${searched.without.ndcg.toFixed(4)} -> ${searched.with.ndcg.toFixed(4)}, coverage ${searched.without.coverage.toFixed(3)} -> ${searched.with.coverage.toFixed(3)} (${applied ? 'served' : 'not served'}; own items by ${served.all})`);
      if (applied) kept = served;
    }
    const keepBlend = kept.novel === 'blend' || kept.all === 'blend' || kept.novel !== kept.all;
    const keptWhole = kept.novel === 'blend' && kept.all === 'blend';
    const verdict = keptWhole ? 'blend kept' : keepBlend ? `new items: ${kept.novel}, own items: ${kept.all}` : blendActsOnCap ? `${kept.novel} alone wins` : `${kept.novel} alone (the blend weights only capped sources for warm customers)`;
    log(`blend per fold ${blendPerFold.map((o) => o.toFixed(4)).join(' ')} vs ${bestSingle} alone ${singles[bestSingle].map((o) => o.toFixed(4)).join(' ')} (${rule} rule): ${verdict}`);
    const served = singleSource?.applied ? { ...servedWeights(kept, blend), popularityDiscount: singleSource.popularityDiscount } : servedWeights(kept, blend);
    const { weights, popularityDiscount } = served;
    const scores = meanScores(keptWhole ? blendScores : await pool.score(served));
    const nonDefault = Object.fromEntries(Object.entries(rules).filter(([key, value]) => value !== DEFAULT_TUNING_RULES[key as keyof TuningRules]));
    const sources: Record<string, unknown> = {};
    for (const [name, s] of Object.entries(rawSources)) sources[name] = chosenParams[name] ? { ...s, params: chosenParams[name] } : s;
    return {
      recipe: { ...raw, sources, hybrid: { ...withoutRepeatWeights(raw.hybrid), weights, ...(served.repeatWeights ? { repeatWeights: served.repeatWeights } : {}), popularityDiscount } },
      validation: {
        kind: 'rolling-origin',
        folds: folds.map((s) => ({ start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString() })),
        days: opts.days,
        // Only when not the default, so a default tuning's record is as it was.
        ...(opts.windows === 'to-end' ? { windows: 'to-end' as const } : {}),
        ...(yearAgo ? { yearAgo } : {}),
        ...(floorFold !== undefined ? { yearAgoFloor: true as const } : {}),
        ...(opts.coverageOn === 'least' ? { coverageOn: 'least' as const } : {}),
        k,
        chosen: keptWhole ? 'blend' : keepBlend ? `new items: ${kept.novel}, own items: ${kept.all}` : kept.novel,
        served: kept,
        bestSingle,
        objective: { blend: blendPerFold, sources: singles },
        modes: { blend: blendModes, sources: sourceModes },
        keepRule: rule,
        keptBy,
        scores,
        ...(keptWhole ? {} : { rejectedBlend: { weights: blend.weights, ...(blend.repeatWeights ? { repeatWeights: blend.repeatWeights } : {}), popularityDiscount: blend.popularityDiscount } }),
        params: chosenParams,
        ...(Object.keys(nonDefault).length > 0 ? { rules: nonDefault } : {}),
        ...(compared.length > 0 ? { compared } : {}),
        ...(singleSource ? { singleSourceDiscount: singleSource } : {}),
        ...(outOfFold ? { blendJudgedOn: 'out-of-fold' as const, outOfFold } : {}),
        ...(outOfFoldSkipped ? { outOfFoldSkipped } : {}),
        ...(found.leftOut ? { keepOn: found.leftOut } : keepOnSkipped ? { keepOn: { on: 'sample' as const, asked: 'left-out' as const, reason: keepOnSkipped } } : {}),
      },
    };
  }
}
