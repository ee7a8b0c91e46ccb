import { recommenderFactory } from '../recommenders/registry.js';
import type { Recipe } from '../training/recipe.js';
import { addSourcePart, createBlendCache, scoreBlend, type BlendScores, type SourcePart } from './blend-cache.js';
import { makeSplit } from './run-evaluation.js';
import type { EvaluationSplit, SplitInput } from './splits.js';
import { DEFAULT_DISCOUNT_GRID, meanScores, objective, tuneWeights } from './tune.js';

const DAY_MS = 86_400_000;

export interface RollingTuneOptions {
  /** Number of validation windows, each `days` long, back to back and ending at `end`. */
  folds: number;
  days: number;
  /** Exclusive end of the latest window (the real cutoff); default: just after the latest event. Nothing at or after it is read. */
  end?: string;
  k?: number;
  grid?: number[];
  discountGrid?: number[];
  rounds?: number;
  /** Novel-mode catalog coverage the blend should keep (averaged over folds); below it the objective is penalised. */
  minCoverage?: number;
  coveragePenalty?: number;
  /**
   * Items kept per source and validation user (default 200): the blend can only reach this deep into a
   * source's list. Each blend evaluation costs about sources x depth per user, and coordinate descent
   * runs ~500 of them per fold, so this is the tuner's main speed knob.
   */
  depth?: number;
  /** Alternative hyperparameters per source (merged over the recipe's); each source keeps the set it scores best with alone. */
  variants?: Record<string, Record<string, unknown>[]>;
  onProgress?: (message: string) => void;
}

/** What rolling-origin tuning found, stored as the tuned recipe's `validation` field. */
export interface RollingValidation {
  kind: 'rolling-origin';
  /** Validation windows, oldest first; each fold trains on everything before its start. */
  folds: { start: string; end: string }[];
  days: number;
  k: number;
  /** `blend`, or the single source kept because the blend did not beat it on every fold. */
  chosen: string;
  /** The source with the best accuracy objective alone (mean over folds). */
  bestSingle: string;
  /** Accuracy objective (novel + all NDCG@k, no coverage term) per fold: the tuned blend's and each source's alone. */
  objective: { blend: number[]; sources: Record<string, number[]> };
  /** Scores of the chosen recipe, averaged over folds. */
  scores: BlendScores;
  /** Hyperparameters of the sources that had alternatives, as chosen. */
  params: Record<string, Record<string, unknown>>;
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

/** The fold splits, oldest first: fold f validates on [end - (F - f) days, end - (F - f - 1) days). */
export function rollingFolds(input: SplitInput, opts: { folds: number; days: number; end?: string }): EvaluationSplit[] {
  let end = opts.end ? Date.parse(opts.end) : Number.NEGATIVE_INFINITY;
  if (!opts.end) for (const e of input.events) end = Math.max(end, e.ts + 1);
  const splits: EvaluationSplit[] = [];
  for (let f = opts.folds - 1; f >= 0; f--) {
    splits.push(makeSplit(input, { kind: 'validation', days: opts.days, end: new Date(end - f * opts.days * DAY_MS).toISOString() }));
  }
  return splits;
}

/** Fewer validation customers than this in a window and tuning would fit noise: the recipe is kept as written. */
export const MIN_FOLD_USERS = 5;

/** Thrown when a validation window has too few customers to tune on. */
export class ThinValidationError extends Error {}

const alone = (name: string) => ({ cold: { [name]: 1 }, warm: { [name]: 1 } });

/**
 * Rolling-origin tuning on data before `end` only:
 *  1. `folds` validation windows of `days` days back to back before `end`; fold f trains on
 *     everything before its window (validationSplit ignores events at or after its end).
 *  2. Per source, each hyperparameter candidate is fitted on every fold and the one whose own
 *     accuracy objective (novel + all NDCG@k, mean over folds) is best is kept.
 *  3. Blend weights and the discovery discount are tuned by coordinate descent on the mean over
 *     folds (accuracy first, then with the coverage requirement).
 *  4. Regularisation toward the simplest good recipe: the blend is kept only if its accuracy
 *     objective beats the best single source's on every fold; otherwise that source alone is the recipe.
 */
export async function tuneRollingOrigin(input: SplitInput, recipe: Recipe, raw: Record<string, unknown>, opts: RollingTuneOptions): Promise<RollingTuneResult> {
  const log = opts.onProgress ?? (() => {});
  const k = opts.k ?? 10;
  const splits = rollingFolds(input, opts);
  const caches = splits.map((split) => createBlendCache(split));
  splits.forEach((s, f) => log(`fold ${f + 1}: train ${s.train.eventUser.length} events, ${caches[f].users.length} validation users, window from ${new Date(s.cutoff!).toISOString().slice(0, 10)}`));
  const thin = caches.findIndex((c) => c.users.length < MIN_FOLD_USERS);
  if (thin >= 0) {
    throw new ThinValidationError(`validation window ${thin + 1} of ${splits.length} has ${caches[thin].users.length} customers who bought in it (at least ${MIN_FOLD_USERS} are needed)`);
  }
  const rawSources = (raw.sources ?? {}) as Record<string, { recommender?: string; params?: Record<string, unknown> }>;
  const fullHistoryOrders = recipe.hybrid.fullHistoryOrders;
  const perFoldAlone = (name: string) => caches.map((c) => objective(scoreBlend(c, { weights: alone(name), fullHistoryOrders }, k)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  const chosenParams: Record<string, Record<string, unknown>> = {};
  const sourceObjectives: Record<string, number[]> = {};
  for (const name of Object.keys(recipe.sources)) {
    const factory = recommenderFactory(recipe.sources[name].recommender)!;
    const base = rawSources[name]?.params ?? {};
    const candidates = [base, ...(opts.variants?.[name] ?? []).map((v) => ({ ...base, ...v }))];
    let best: { params: Record<string, unknown>; parts: SourcePart[]; perFold: number[] } | null = null;
    for (const candidate of candidates) {
      const started = performance.now();
      const params = factory.parseParams(candidate);
      for (const [f, split] of splits.entries()) {
        addSourcePart(caches[f], split, name, factory.fit(split.train, params), opts.depth ?? 200);
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const perFold = perFoldAlone(name);
      log(`${name} ${JSON.stringify(candidate)}: alone ${mean(perFold).toFixed(4)} (${perFold.map((o) => o.toFixed(4)).join(' ')}) in ${Math.round(performance.now() - started)} ms`);
      if (!best || mean(perFold) > mean(best.perFold) + 1e-9) best = { params: candidate, parts: caches.map((c) => c.parts.get(name)!), perFold };
    }
    caches.forEach((c, f) => c.parts.set(name, best!.parts[f]));
    sourceObjectives[name] = best!.perFold;
    if (candidates.length > 1) chosenParams[name] = best!.params;
  }

  const tuneOpts = { grid: opts.grid, rounds: opts.rounds, coveragePenalty: opts.coveragePenalty, k, fullHistoryOrders, discountGrid: opts.discountGrid ?? DEFAULT_DISCOUNT_GRID };
  let blend = tuneWeights(caches, recipe.hybrid.weights, { ...tuneOpts, minCoverage: 0, popularityDiscount: recipe.hybrid.popularityDiscount });
  log(`blend (accuracy only): objective ${blend.objective.toFixed(4)}, novel coverage ${blend.scores.novel.coverage.toFixed(3)}`);
  if ((opts.minCoverage ?? 0) > 0) {
    blend = tuneWeights(caches, blend.weights, { ...tuneOpts, minCoverage: opts.minCoverage, popularityDiscount: blend.popularityDiscount });
    log(`blend (coverage >= ${opts.minCoverage}): objective ${blend.objective.toFixed(4)}, novel coverage ${blend.scores.novel.coverage.toFixed(3)}`);
  }
  const blendPerFold = caches.map((c) => objective(scoreBlend(c, { weights: blend.weights, fullHistoryOrders, popularityDiscount: blend.popularityDiscount }, k)));

  const names = Object.keys(sourceObjectives);
  const bestSingle = names.reduce((a, b) => (mean(sourceObjectives[b]) > mean(sourceObjectives[a]) + 1e-9 ? b : a));
  const keepBlend = blendPerFold.every((o, f) => o > sourceObjectives[bestSingle][f] + 1e-9);
  log(`blend per fold ${blendPerFold.map((o) => o.toFixed(4)).join(' ')} vs ${bestSingle} alone ${sourceObjectives[bestSingle].map((o) => o.toFixed(4)).join(' ')}: ${keepBlend ? 'blend kept' : `${bestSingle} alone wins`}`);
  const weights = keepBlend ? blend.weights : alone(bestSingle);
  const popularityDiscount = keepBlend ? blend.popularityDiscount : 0;
  const scores = keepBlend ? blend.scores : meanScores(caches.map((c) => scoreBlend(c, { weights, fullHistoryOrders }, k)));

  const sources: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(rawSources)) sources[name] = chosenParams[name] ? { ...s, params: chosenParams[name] } : s;
  return {
    recipe: { ...raw, sources, hybrid: { ...(raw.hybrid as object), weights, popularityDiscount } },
    validation: {
      kind: 'rolling-origin',
      folds: splits.map((s) => ({ start: new Date(s.cutoff!).toISOString(), end: new Date(s.testEnd!).toISOString() })),
      days: opts.days,
      k,
      chosen: keepBlend ? 'blend' : bestSingle,
      bestSingle,
      objective: { blend: blendPerFold, sources: sourceObjectives },
      scores,
      params: chosenParams,
    },
  };
}

