import { computeProfiles } from '../profiles/profile.js';
import { segmentProfiles } from '../profiles/segments.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { fitRecipe, withTuning, type Recipe, type TuneOverride } from '../training/recipe.js';
import { recipeToRaw, tuneRecipeOn } from '../training/tune-for-training.js';
import type { EvaluationReport, EvaluationTuning } from './evaluation-report.js';
import { evalGroupsOf } from './eval-groups.js';
import { evaluateScorers, type Scorer } from './evaluate.js';
import { contentSimilarity } from './item-similarity.js';
import { columnarInput, leaveLastOrderSplit, purchasesOf, temporalSplit, validationSplit, type EvalMode, type EvaluationSplit, type SplitInput } from './splits.js';


export type SplitRequest =
  | { kind: 'temporal'; cutoff: string }
  | { kind: 'leave-last-order' }
  /** The last `days` before `end` (default: the latest event) are the test period; tuning only. */
  | { kind: 'validation'; end?: string; days: number };

export interface EvaluationRequest {
  split: SplitRequest;
  modes: EvalMode[];
  ks: number[];
  /**
   * Single strategies (source names of the first recipe) to report beside each recipe's hybrid;
   * default: all of them. Popularity is always evaluated.
   */
  strategies?: string[];
  /**
   * The strategy every lift and its confidence interval is against: a recipe of this evaluation (its
   * hybrid) or a source of the first recipe, scored even when `strategies` leaves it out; default popularity.
   */
  baseline?: string;
  /** Over each recipe's `tune` section (training/recipe.ts withTuning): tune on data before the test period first. */
  tune?: TuneOverride;
}

export interface EvaluationProgress {
  step: string;
  /** 0..1 over the whole run. */
  progress: number;
}

export const BASELINE = 'popularity';

/** The share of a run's progress its tuning moves, when any recipe is tuned. */
const TUNE_SHARE = 0.5;

/** Two or more rows of a report under one name: the recipes (indexes into the run's recipes) that give themselves `name`, and whether a single strategy of the run is `name` too. */
export interface RowNameCollision {
  name: string;
  recipes: number[];
  /** `name` is also a single strategy of the report: the popularity baseline, a source asked for, or the baseline source. */
  strategy: boolean;
}

/**
 * The single strategies a run reports beside the recipes' hybrids: the sources of the first recipe asked
 * for (default all), popularity always, and the baseline when it names a source rather than a recipe.
 */
export function singleStrategies(recipes: Recipe[], request: Pick<EvaluationRequest, 'strategies' | 'baseline'>): Set<string> {
  const first = recipes[0];
  const names = new Set(request.strategies ?? Object.keys(first.sources));
  names.add(BASELINE);
  const baseline = request.baseline;
  if (baseline !== undefined && !recipes.some((r) => r.name === baseline) && Object.hasOwn(first.sources, baseline)) names.add(baseline);
  return names;
}

/**
 * Every name that would label rows of more than one strategy: each recipe is reported under the name it
 * gives itself, so two recipes giving themselves one name, or a recipe named like a single strategy of the
 * run (e.g. `popularity` or `als`), would report one strategy's numbers under both. Empty when none.
 */
export function rowNameCollisions(recipes: Recipe[], request: Pick<EvaluationRequest, 'strategies' | 'baseline'>): RowNameCollision[] {
  const singles = singleStrategies(recipes, request);
  const byName = new Map<string, number[]>();
  for (const [i, r] of recipes.entries()) byName.set(r.name, [...(byName.get(r.name) ?? []), i]);
  const out: RowNameCollision[] = [];
  for (const [name, at] of byName) {
    const strategy = singles.has(name);
    if (at.length > 1 || strategy) out.push({ name, recipes: at, strategy });
  }
  return out;
}

export function makeSplit(input: SplitInput, request: SplitRequest): EvaluationSplit {
  if (request.kind === 'temporal') return temporalSplit(input, Date.parse(request.cutoff));
  if (request.kind === 'leave-last-order') return leaveLastOrderSplit(input);
  let end = request.end ? Date.parse(request.end) : Number.NEGATIVE_INFINITY;
  if (!request.end) {
    const c = purchasesOf(input);
    for (let i = 0; i < c.length; i++) end = Math.max(end, c.ts[i] + 1);
    // The columns just made are the split's too.
    if (!input.purchases) input = { ...input, events: undefined, purchases: c };
  }
  return validationSplit(input, { end, days: request.days });
}

/**
 * One evaluation run: split the purchases, fit every recipe on the train part, score every test user
 * with each recipe's hybrid and the single strategies, and report the protocol's metrics with lifts
 * over the baseline (popularity unless asked otherwise) and breakdowns by history length, RFM segment and lifecycle stage (computed on the train period only).
 */
export async function runEvaluation(
  input: SplitInput,
  recipes: Recipe[],
  request: EvaluationRequest,
  onProgress?: (p: EvaluationProgress) => void,
): Promise<EvaluationReport> {
  if (recipes.length === 0) throw new Error('runEvaluation: no recipe');
  // One row per strategy: never one strategy's numbers under another's name (the service refuses such a request up front).
  const collision = rowNameCollisions(recipes, request)[0];
  if (collision) throw new Error(`runEvaluation: more than one strategy would be reported as "${collision.name}"; give each recipe a name of its own, unlike the single strategies`);
  onProgress?.({ step: 'split', progress: 0 });
  // Columns once (when given rows): the split and the tuning's customer sample both read them.
  input = columnarInput(input);
  const split = makeSplit(input, request.split);
  const ds = split.train;
  const tuning: Record<string, EvaluationTuning> = {};
  const asRun: Recipe[] = [];
  // Tuning, when asked, is most of a run's work (every candidate fitted on every fold, then the blend
  // searches): it moves the first half of the progress, unit by unit (RollingTuneOptions.onAdvance),
  // and the fits and the scoring the rest.
  const toTune = split.cutoff === null ? 0 : recipes.filter((recipe) => withTuning(recipe, request.tune).tune).length;
  const tuneShare = toTune > 0 ? TUNE_SHARE : 0;
  const after = (p: number) => tuneShare + (1 - tuneShare) * p;
  let tunedSoFar = 0;
  for (const recipe of recipes) {
    const asked = withTuning(recipe, request.tune);
    if (!asked.tune) asRun.push(recipe);
    else if (split.cutoff === null) {
      tuning[recipe.name] = { skipped: 'a leave-last-order split has no single cutoff to tune before' };
      asRun.push(withTuning(recipe, false));
    } else {
      const step = `tune ${recipe.name}`;
      const at = (share: number) => 0.01 + (tuneShare - 0.01) * ((tunedSoFar + share) / toTune);
      onProgress?.({ step, progress: at(0) });
      // The folds end where the test period starts: tuning reads nothing the test will score.
      const tuned = await tuneRecipeOn(input, asked, new Date(split.cutoff).toISOString(), undefined, {
        onAdvance: (done, total) => onProgress?.({ step, progress: at(done / total) }),
      });
      tunedSoFar++;
      tuning[recipe.name] = tuned.validation;
      asRun.push(tuned.recipe);
    }
  }
  recipes = asRun;


  const baseline = request.baseline ?? BASELINE;
  const scorers = new Map<string, Scorer>();
  const fitShare = 0.5 / recipes.length;
  for (const [r, recipe] of recipes.entries()) {
    const fitted = await fitRecipe(ds, recipe, (s) =>
      onProgress?.({ step: `fit ${recipe.name}: ${s.step}`, progress: after(0.05 + fitShare * (r + s.done / s.total)) }),
    );
    scorers.set(recipe.name, (ctx, out) => fitted.hybrid.scoreUser(ctx, out));
    if (r > 0) continue;
    const wanted = request.strategies ?? [...fitted.sources.keys()];
    for (const name of wanted) {
      const source = fitted.sources.get(name);
      if (!source) throw new Error(`strategy "${name}" is not a source of recipe "${recipe.name}"`);
      if (!scorers.has(name)) scorers.set(name, (ctx, out) => source.scoreUser(ctx, out));
    }
    if (!scorers.has(BASELINE)) {
      // The registry's popularity: per product group where the catalogue has groups, as a recipe's.
      const factory = recommenderFactory(BASELINE)!;
      const popularity = fitted.sources.get(BASELINE) ?? factory.fit(ds, factory.parseParams({}));
      scorers.set(BASELINE, (ctx, out) => popularity.scoreUser(ctx, out));
    }
    // A baseline a recipe gives itself as name is that recipe's hybrid, not the source of the same name.
    const against = recipes.some((other) => other.name === baseline) ? undefined : fitted.sources.get(baseline);
    if (against && !scorers.has(baseline)) scorers.set(baseline, (ctx, out) => against.scoreUser(ctx, out));
  }
  if (!scorers.has(baseline)) throw new Error(`baseline "${baseline}" is neither a recipe of this evaluation nor a source of recipe "${recipes[0].name}"`);

  const labels = new Map<string, { segment: string; lifecycle: string }>();
  for (const p of segmentProfiles(computeProfiles(ds, { now: split.cutoff ?? ds.now }))) labels.set(p.userId, p);
  onProgress?.({ step: 'score', progress: after(0.55) });
  const report = await evaluateScorers({
    split,
    mode: request.modes,
    ks: request.ks,
    scorers,
    baseline,
    itemSimilarity: contentSimilarity(ds),
    // One product per group, as served, when the catalogue has groups.
    groups: evalGroupsOf(ds.items),
    segmentOf: (u) => labels.get(ds.userIds[u])?.segment ?? null,
    lifecycleOf: (u) => labels.get(ds.userIds[u])?.lifecycle ?? null,
    onProgress: (done, total) => onProgress?.({ step: 'score', progress: after(0.55 + (0.45 * done) / total) }),
  });
  return Object.keys(tuning).length ? { ...report, tuning } : report;
}

