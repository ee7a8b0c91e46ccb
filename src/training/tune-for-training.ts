import { ThinValidationError, tuningVariants, tuneRollingOrigin, type RollingTuneOptions, type RollingValidation } from '../evaluation/rolling-tune.js';
import { purchasesOf, type SplitInput } from '../evaluation/splits.js';
import { sampleCustomers, type CustomerSample } from '../evaluation/tuning-sample.js';
import { coverageFloorOf } from '../evaluation/coverage-estimate.js';
import { DEFAULT_DISCOUNT_SHARE } from '../recommenders/hybrid.js';
import { parseRecipe, tuningSampleBounds, type Recipe } from './recipe.js';

export interface TrainingTuning {
  /** The recipe with the tuned hyperparameters and blend; its `tune` section is kept. */
  recipe: Recipe;
  validation: RollingValidation | { skipped: string };
}

/**
 * A parsed recipe as recipe JSON (defaults filled in), the form the tuner rewrites. The discount's share
 * is written only when it is not the default: a recipe file `npm run tune` writes then still loads in a
 * process on the code before the share (its hybrid section is strict), as after a rollback.
 */
export function recipeToRaw(recipe: Recipe): Record<string, unknown> {
  const { discountShare, ...hybrid } = recipe.hybrid;
  return {
    name: recipe.name,
    ...(recipe.description ? { description: recipe.description } : {}),
    sources: Object.fromEntries(Object.entries(recipe.sources).map(([name, s]) => [name, { recommender: s.recommender, params: s.params }])),
    hybrid: discountShare === DEFAULT_DISCOUNT_SHARE ? hybrid : { ...hybrid, discountShare },
    candidates: recipe.candidates,
    eventWeights: recipe.eventWeights,
    ...(recipe.serving ? { serving: recipe.serving } : {}),
  };
}

/**
 * Tuning as part of training: rolling-origin validation (evaluation/rolling-tune.ts) on the purchases
 * the training was given, with the recipe's `tune` section (folds, days, coverage, variants). The
 * windows end just after the latest purchase, so a shop's own recent months choose its weights. A
 * training passes the customer sample it drew from its dataset (sampleDatasetCustomers) rather than
 * every purchase.
 */
/** `end`: where the windows end (default: just after the latest purchase of `input`). */
export function tuneForTraining(input: SplitInput | CustomerSample, recipe: Recipe, onProgress?: (message: string) => void, opts: TuneThreads = {}, end?: string): Promise<TrainingTuning> {
  return tuneRecipeOn(input, recipe, end, onProgress, opts);
}

/**
 * Where the folds are tuned: `threads` >= 2 spreads them over worker threads (same result); `signal`
 * ends those threads. `rounds` bounds each coordinate descent (default 3). `windows` and `coverageOn`
 * are experiments of the benchmarks (see RollingTuneOptions); a training leaves them at their defaults.
 * `onAdvance` follows the work within tuning (units done of a total: see RollingTuneOptions).
 */
export interface TuneThreads extends Pick<RollingTuneOptions, 'windows' | 'coverageOn' | 'onAdvance' | 'keepRule' | 'coverageFloor' | 'foldWeights' | 'compare' | 'singleSourceCoverage' | 'blendJudgedOn' | 'keepOn' | 'foldsHeld'> {
  threads?: number;
  signal?: AbortSignal;
  rounds?: number;
}

/** What a recipe a training tuned says of itself: its file's description is about the weights written there, which tuning replaced. */
const TUNED_NOTE = 'Tuned on this data when trained: its weights and hyperparameters are what tuning chose (see the tuning record); the recipe file\'s written weights were only where the search started. ';

/** The description a training publishes with weights it tuned (once, however often the recipe went through tuning). */
export function tunedDescription(description: string | undefined): string {
  const own = description ?? '';
  return own.startsWith(TUNED_NOTE) ? own : (TUNED_NOTE + own).slice(0, 2000);
}

/** Whether some product of the catalogue names a product group (the folds iterate it again: it is an array or as re-iterable). */
function hasGroups(items: Iterable<{ itemGroupId?: string | null }> | undefined): boolean {
  for (const item of items ?? []) if (item.itemGroupId) return true;
  return false;
}

/**
 * Tunes `recipe` by its `tune` section on the purchases before `end` (default: just after the latest
 * one). When a window holds too few customers to learn from, the recipe is kept as written and the
 * validation says why.
 */
export async function tuneRecipeOn(
  input: SplitInput | CustomerSample,
  recipe: Recipe,
  end: string | undefined,
  onProgress?: (message: string) => void,
  opts: TuneThreads = {},
): Promise<TrainingTuning> {
  const tune = recipe.tune;
  if (!tune) throw new Error(`recipe "${recipe.name}" has no tune section`);
  // Where the catalogue has product groups, ALS and EASE are also tried learning per group (tuningVariants).
  const catalogue = 'kept' in input ? input.input.items : input.items;
  const variants = tune.variants ? tuningVariants(recipe.sources, hasGroups(catalogue)) : {};
  // Depth 100 instead of 200 halves the blend search, the largest part of tuning after the fits. A
  // recipe whose sources contribute a limited number of items each is tuned on exactly that many.
  // Customers are drawn among those who bought before `end`: a draw over every id would let customers who
  // first buy on or after the cutoff displace earlier ones, and so change what an evaluation tunes on.
  // keepOn `left-out` draws a second sample beside the first, for the keep rule to judge on (evaluation/keep-on.ts).
  const leftOut = (opts.keepOn ?? tune.keepOn) === 'left-out';
  const sample = 'kept' in input ? input : sampleCustomers(input, tuningSampleBounds(tune), end === undefined ? undefined : Date.parse(end), { leftOut });
  if (sample.kept < sample.customers) {
    const purchases = sample.purchases ? `, ${sample.purchases.kept} of ${sample.purchases.of} purchases` : '';
    onProgress?.(`tuning on ${sample.kept} of ${sample.customers} customers${purchases} (tune.${sample.boundBy === 'purchases' ? 'maxPurchases' : 'maxCustomers'})`);
    // The windows still end where the whole data does, not at the sample's latest purchase.
    end ??= sample.end;
  }
  // A caller's own sample (no population beside it) has no customers left out to list: the every-customer count is then
  // the sample's, the margin (a margin for every customer's count) is not added, and the tuning record says so.
  const ownSample = tune.coverageEstimate === 'every-customer' && sample.kept < sample.customers && !(sample.population && sample.scored);
  const countedOn = ownSample ? { ...tune, coverageEstimate: 'sample' as const } : tune;
  let tuned;
  try {
    // With customers left out, the folds fit on every customer's purchases (the population-sensitive
    // sources, rolling-fold.ts) and validate the sample: the blend's discount then counts the whole shop's
    // buyers, as served (customerShare 1). A sample without its population (a caller's own) is scaled as before.
    const fit = sample.population && sample.scored ? { input: sample.population, scored: sample.scored, customerShare: 1 } : { input: sample.input, customerShare: sample.customers > 0 ? sample.kept / sample.customers : 1 };
    tuned = await tuneRollingOrigin(fit.input, recipe, recipeToRaw(recipe), { folds: tune.folds, days: tune.days, end, minCoverage: coverageFloorOf(countedOn, sample), maxCoverageCost: tune.maxCoverageCost, keepRule: tune.keepRule, coverageFloor: tune.coverageFloor, foldWeights: tune.foldWeights, singleSourceCoverage: tune.singleSourceCoverage, blendJudgedOn: tune.blendJudgedOn, keepOn: tune.keepOn, ...(sample.leftOut ? { leftOut: sample.leftOut } : {}), coverageCatalogue: tune.coverageCatalogue, coverageEstimate: tune.coverageEstimate, ...(tune.yearAgo ? { yearAgo: true } : {}), ...(tune.yearAgoFloor ? { yearAgoFloor: true } : {}), variants, depth: recipe.hybrid.sourceLimit ?? 100, customerShare: fit.customerShare, ...('scored' in fit ? { scored: fit.scored } : {}), onProgress, ...definedOnly(opts) });
  } catch (err) {
    if (err instanceof ThinValidationError) return { recipe, validation: { skipped: `${err.message}; the recipe's weights were kept` } };
    throw err;
  }
  return {
    recipe: { ...parseRecipe(tuned.recipe, recipe.name), tune },
    validation: {
      ...tuned.validation,
      customers: { used: sample.kept, of: sample.customers },
      // Only when the margin raised the floor (tune.coverageMargin), so a tuning without it records what it did.
      ...(coverageFloorOf(countedOn, sample) !== tune.minCoverage ? { coverageMargin: { minCoverage: tune.minCoverage, margin: tune.coverageMargin!, heldAt: coverageFloorOf(countedOn, sample) } } : {}),
      ...(ownSample ? { coverageEstimate: { on: 'sample' as const, asked: 'every-customer' as const, reason: OWN_SAMPLE_COUNT } } : {}),
      ...(sample.purchases
        ? { purchases: { used: sample.purchases.kept, of: sample.purchases.of, ...(sample.population && sample.scored ? { fittedOn: purchasesOf(sample.population).length } : {}) } }
        : {}),
    },
  };
}

/** Why a caller's own sample tuned on the sample's count though tune.coverageEstimate asked for every customer's. */
export const OWN_SAMPLE_COUNT = 'the customer sample was drawn without the customers it leaves out (no population beside it), so the windows counted the sample\'s lists: tune.coverageEstimate every-customer (and tune.coverageMargin) had no one else to list';

/** `opts` without its undefined entries, so a caller's unset option leaves the recipe's tune section's. */
function definedOnly<T extends object>(opts: T): Partial<T> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<T>;
}
