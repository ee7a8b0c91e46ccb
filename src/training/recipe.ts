import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import type { Dataset } from '../recommenders/dataset.js';
import { buyerCount, createHybrid, hybridConfigSchema, itemBuyerCounts, type HybridConfig, type HybridRecommender } from '../recommenders/hybrid.js';
import type { Recommender } from '../recommenders/recommender.js';
import type { FitContext } from '../recommenders/recommender.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { alsFromFactors, type AlsParams } from '../recommenders/als.js';
import type { ImportedAls } from '../recommenders/imported-factors.js';
import { servingOptionsSchema } from '../serving/serving-model-builder.js';
import { KEEP_RULES } from '../evaluation/keep-rule.js';
import { COVERAGE_FLOOR_RULES, FOLD_WEIGHT_RULES } from '../evaluation/tuning-rules.js';
import { SINGLE_SOURCE_COVERAGE } from '../evaluation/single-source-coverage.js';
import { BLEND_JUDGEMENTS } from '../evaluation/out-of-fold.js';
import { KEEP_ON } from '../evaluation/keep-on.js';
import { COVERAGE_CATALOGUES } from '../evaluation/coverage-catalogue.js';
import { COVERAGE_ESTIMATES } from '../evaluation/coverage-estimate.js';

const NAME = /^[a-z0-9][a-z0-9._-]*$/i;
const SOURCE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Whether `name` can name a recipe file models/NAME.json: letters, digits, ".", "_" and "-", no path. */
export const isRecipeName = (name: string): boolean => NAME.test(name);

const sourceSchema = z.strictObject({
  /** Recommender family (a registry name); defaults to the source's own name, so two sources can share one family. */
  recommender: z.string().optional(),
  /** Hyperparameters, validated by the family's parseParams (missing ones take its defaults). */
  params: z.record(z.string(), z.unknown()).optional(),
});

/** How training tunes a recipe on the data it is given (rolling-origin validation, evaluation/rolling-tune.ts). */
export const tuneSpecSchema = z.strictObject({
  /** Validation windows, back to back before the end of the training data. */
  folds: z.int().min(1).max(6).default(3),
  /** Length of each window in days. */
  days: z.int().min(1).max(365).default(30),
  /**
   * Novel-mode catalog coverage the blend should keep on validation, as a share of what the validation
   * lists could show at most (the catalogue, or k x lists when that is smaller: see BlendScores.reach).
   */
  minCoverage: z.number().min(0).max(1).default(0.3),
  /**
   * The most the coverage requirement may cost, as a share of the most accurate blend's novel NDCG: on a
   * shop whose accurate lists cannot reach minCoverage, tuning spreads the lists only this far instead
   * of trading all accuracy for reach, and single sources are judged with the same bound.
   */
  maxCoverageCost: z.number().min(0).max(1).default(0.1),
  /** Also try the default hyperparameter alternatives per source (each is one more fit per fold). */
  variants: z.boolean().default(true),
  /**
   * Tuning validates at most this many customers (the same ones every time, each with their whole
   * history); above the cap the chosen weights come from a sample, while the population-sensitive sources
   * are fitted on every customer's purchases up to ten times maxPurchases (the most recent), where the
   * cost stops growing with the shop. 5,000 gives validation windows of about a thousand customers each, as Online Retail's
   * 4,334 customers (all of them used) do, whose windows chose every weight of the default recipe.
   */
  maxCustomers: z.int().min(10).default(5_000),
  /**
   * And at most this many of their purchases (default DEFAULT_MAX_PURCHASES, 500,000): customers are
   * drawn in the same order, and the draw stops before the first one who would take the purchases past
   * it (one past it alone is passed over), so a shop of heavy buyers (a grocery's weekly shoppers, hundreds of lines each) tunes on fewer
   * of them instead of millions of lines. Absent from a recipe that does not set it (the default is
   * applied where tuning reads it), so a tune section written before it still reads the same.
   */
  maxPurchases: z.int().min(100).optional(),
  /**
   * What tuning keeps of the tuned blend (evaluation/keep-rule.ts): `per-mode-majority` (the default) judges the
   * weights on new items and on own items apart, `sum` keeps or drops the blend whole on novel + all, `per-mode-single` is `per-mode` that also holds the own-item weights beside a single source's new items against that source alone, `per-mode-majority` is `per-mode` judged on the folds' mean and a strict majority of folds instead of every fold; `per-mode-trimmed` and `per-mode-outlier` are `per-mode-majority` with its mean clipped at the second largest fold difference, or with an outlier fold (the blend more than doubling the comparison there, three times any other fold's relative margin) counted neither way.
   * Absent unless set, like the two below (the defaults are applied where tuning reads them).
   */
  keepRule: z.enum(KEEP_RULES).optional(),
  /** How low the coverage search may take the novel NDCG (evaluation/tuning-rules.ts): `accuracy-share` (default) or `best-single`. */
  coverageFloor: z.enum(COVERAGE_FLOOR_RULES).optional(),
  /** How the validation windows are pooled in the blend search (evaluation/tuning-rules.ts): `equal` (default), `recency` (weights 1, 2, 3, latest most) or `recency-new-items` (recency for the weights on new items, equal folds for those on own items). */
  foldWeights: z.enum(FOLD_WEIGHT_RULES).optional(),
  /**
   * When one source alone serves new items, whether its lists are re-ranked for coverage by a discovery discount
   * tuned on the same windows at the coverage search's price (evaluation/single-source-coverage.ts): `off`
   * (default) or `discount`.
   */
  singleSourceCoverage: z.enum(SINGLE_SOURCE_COVERAGE).optional(),
  /** What the keep rule judges the tuned blend on (evaluation/out-of-fold.ts): `in-fold` (default) the folds its weights were searched on, `out-of-fold` per fold the blend searched on the other folds (one more search per fold). */
  blendJudgedOn: z.enum(BLEND_JUDGEMENTS).optional(),
  /**
   * Which customers the keep rule judges the tuned blend on (evaluation/keep-on.ts): `sample` (default) those its weights
   * were searched on; `left-out` a second sample of the same bounds, disjoint from the first, on the same windows with
   * the same fitted sources (no fit: each source scored once more per window). A shop with fewer customers than two
   * samples is judged on its sample, and the tuning record's `keepOn` says so.
   */
  keepOn: z.enum(KEEP_ON).optional(),
  /** What the windows' novel coverage divides by (evaluation/coverage-catalogue.ts): `window` (default) each window's own catalogue, `served` the catalogue the trained model will have. */
  coverageCatalogue: z.enum(COVERAGE_CATALOGUES).optional(),
  /** How the windows' coverage counts the customers (evaluation/coverage-estimate.ts): `sample` (default) the lists of tuning's sample of them, `extrapolated` every customer's, estimated from the sample's (Chao2), `every-customer` every customer's, counted (the windows also list the customers the sample left out; more tuning time on a shop above maxCustomers). */
  coverageEstimate: z.enum(COVERAGE_ESTIMATES).optional(),
  /**
   * With coverageEstimate `every-customer` on a shop whose tuning sample leaves customers out, the windows' novel coverage
   * is held at minCoverage + this (evaluation/coverage-estimate.ts, coverageFloorOf), so the month served keeps the
   * floor the windows met: a share like minCoverage, absent (0) unless set. Elsewhere it changes nothing.
   */
  coverageMargin: z.number().min(0).max(0.5).optional(),
  /**
   * Also validate on the `days` days one calendar year before the month the model will serve, as the oldest window
   * (evaluation/rolling-tune.ts yearAgoFolds): for shops with a yearly calendar. Absent (false) unless set; skipped,
   * and the record says why, where the data do not reach back a year or that window has too few customers.
   */
  yearAgo: z.boolean().optional(),
  /**
   * With yearAgo: minCoverage also holds on the year-ago window alone, not only on the windows' mean (the lesser of the
   * two reaches is held at the floor; evaluation/rolling-tune.ts pooledScores), since that window sits where the month
   * to be served sits in the shop's calendar. Absent (false) unless set; without yearAgo, or where the year-ago window
   * is not added, it changes nothing (the tuning record's `yearAgoFloor` is present only where it was held).
   */
  yearAgoFloor: z.boolean().optional(),
});

/**
 * tune.maxPurchases' default. Online Retail (396,337 purchases, 4,334 customers) is tuned whole, and
 * the 5,000 customers tune.maxCustomers keeps of 2 to 16 re-keyed copies of it hold 452,000-486,000
 * purchases (a review's recount: 474,000-481,000; about 4% below the bound), so neither bound changes what
 * it tunes on; a shop of customers with about 370 lines each tunes on about 1,350 of them instead of 5,000
 * (of a heavy-buyer shop's 1,815 kept, about 75% bought in each of the last three 30-day windows).
 */
export const DEFAULT_MAX_PURCHASES = 500_000;

/** The bounds of the sample tuning works on (tuning-sample.ts), as a recipe's tune section sets them. */
export const tuningSampleBounds = (tune: Pick<RecipeTune, 'maxCustomers' | 'maxPurchases'>) => ({ customers: tune.maxCustomers, purchases: tune.maxPurchases ?? DEFAULT_MAX_PURCHASES });

/**
 * How much one event of each type adds to a (user, item) pair's weight in item-kNN, ALS and
 * co-occurrence, in units of one order containing the pair (the protocol's purchase weight):
 * weight = orders + add_to_cart * carts + view * views + rating * sum(stars / 5). 0 leaves a type out
 * (training does not even read it), so a recipe with every non-purchase weight 0 is the purchase-only
 * model. Defaults: a view says a tenth of a purchase, a cart a third, a five-star rating half.
 * Buy-again, popularity, profiles and evaluation's test set use purchases only, whatever these say.
 */
export const eventWeightsSchema = z.strictObject({
  /** The unit the others are measured in; fixed so that purchase-only models stay what they were. */
  purchase: z.literal(1).default(1),
  add_to_cart: z.number().min(0).max(100).default(0.3),
  view: z.number().min(0).max(100).default(0.1),
  rating: z.number().min(0).max(100).default(0.5),
});
export type EventWeights = z.output<typeof eventWeightsSchema>;
export const DEFAULT_EVENT_WEIGHTS: EventWeights = eventWeightsSchema.parse({});

/**
 * A recipe (models/NAME.json): which recommenders to fit with which hyperparameters, how the hybrid
 * blends them, and how many candidates serving precomputes per user.
 */
const recipeSchema = z.strictObject({
  name: z.string().regex(NAME).optional(),
  description: z.string().max(2000).optional(),
  sources: z
    .record(z.string().regex(SOURCE_NAME, 'source names are lower-case letters, digits and dashes'), sourceSchema)
    .refine((s) => Object.keys(s).length > 0, 'a recipe needs at least one source'),
  hybrid: hybridConfigSchema,
  candidates: z.strictObject({ perUser: z.int().min(1).max(10_000).default(200) }).prefault({}),
  eventWeights: eventWeightsSchema.prefault({}),
  /** Metadata written by `npm run tune`: the validation split and the scores the chosen blend reached on it. */
  validation: z.record(z.string(), z.unknown()).optional(),
  /** Tune on the training data before fitting (see evaluation/rolling-tune.ts); absent = use the weights as written. */
  tune: tuneSpecSchema.optional(),
  /** What the serving build keeps (ServingOptions); kept as written, so an absent field takes its default where it is read. */
  serving: z.record(z.string(), z.unknown()).optional(),
});

/** The serving section's own fields, every one optional, and nothing else. */
const servingSectionSchema = z.strictObject(servingOptionsSchema.shape).partial();

export type RecipeTune = z.output<typeof tuneSpecSchema>;

/**
 * A training's own say on tuning, over the recipe's: `true` tunes (with the recipe's `tune` section,
 * or the defaults when it has none), `false` trains the weights as written, a spec tunes with it.
 */
export type TuneOverride = boolean | z.input<typeof tuneSpecSchema>;

export function withTuning(recipe: Recipe, override: TuneOverride | undefined): Recipe {
  if (override === undefined) return recipe;
  if (override === false) {
    const { tune: _dropped, ...rest } = recipe;
    return rest;
  }
  return { ...recipe, tune: override === true ? (recipe.tune ?? tuneSpecSchema.parse({})) : tuneSpecSchema.parse(override) };
}

export interface RecipeSource {
  /** Registry name of the recommender family. */
  recommender: string;
  /** Validated hyperparameters with defaults filled in. */
  params: unknown;
}

export interface Recipe {
  name: string;
  description?: string;
  sources: Record<string, RecipeSource>;
  hybrid: HybridConfig;
  candidates: { perUser: number };
  /** Weight of each event type in the interaction matrix (see eventWeightsSchema). */
  eventWeights: EventWeights;
  /** What `npm run tune` measured on its validation split (metadata; training ignores it). */
  validation?: Record<string, unknown>;
  /** When present, training tunes the recipe on the data it is given before fitting it. */
  tune?: RecipeTune;
  /** The serving section as written (see ServingOptions in serving-model-builder.ts). */
  serving?: Record<string, unknown>;
}

/** INVALID_RECIPE for a schema issue under `at`, naming the field (an unknown key by its own name). */
function invalidAt(recipe: string, at: string[], issue: z.core.$ZodIssue): AppError {
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  return invalid(recipe, [...at, ...issue.path.map(String), ...keys], issue.message);
}

function invalid(recipe: string, path: (string | number)[], message: string): AppError {
  const where = path.length ? path.join('.') : '(root)';
  return new AppError('INVALID_RECIPE', `recipe "${recipe}": ${where}: ${message}`, [{ path: where, message }]);
}

/**
 * Validates a recipe, including every source's hyperparameters, and returns it with defaults filled
 * in. Throws AppError INVALID_RECIPE whose message (and details[0].path) names the offending field,
 * e.g. `sources.item-knn.params.shrink`.
 */
export function parseRecipe(raw: unknown, name: string): Recipe {
  const result = recipeSchema.safeParse(raw);
  if (!result.success) throw invalidAt(name, [], result.error.issues[0]);
  const r = result.data;
  // Validated only: kept as written, so the fields it leaves out take their defaults where they are read.
  const serving = r.serving && servingSectionSchema.safeParse(r.serving);
  if (serving && !serving.success) throw invalidAt(name, ['serving'], serving.error.issues[0]);
  const sources: Record<string, RecipeSource> = {};
  for (const [key, source] of Object.entries(r.sources)) {
    const family = source.recommender ?? key;
    const factory = recommenderFactory(family);
    if (!factory) throw invalid(name, ['sources', key, 'recommender'], `unknown recommender "${family}"`);
    try {
      sources[key] = { recommender: family, params: factory.parseParams(source.params ?? {}) };
    } catch (err) {
      // Families report "<family>.<field>: reason"; re-root that at the recipe's params object.
      const message = err instanceof Error ? err.message : String(err);
      const rest = message.startsWith(family) ? message.slice(family.length) : `: ${message}`;
      const at = rest.match(/^\.([^:]*): ([\s\S]*)$/);
      throw at
        ? invalid(name, ['sources', key, 'params', ...at[1].split('.')], at[2])
        : invalid(name, ['sources', key, 'params'], rest.replace(/^: /, ''));
    }
  }
  for (const set of ['weights', 'repeatWeights'] as const) {
    for (const level of ['cold', 'warm'] as const) {
      for (const source of Object.keys(r.hybrid[set]?.[level] ?? {})) {
        if (!(source in sources)) throw invalid(name, ['hybrid', set, level, source], `no source named "${source}"`);
      }
    }
  }
  // Else caught by createHybrid only after every source is fitted (minutes into a training).
  for (const [k, source] of (r.hybrid.sourceCap?.sources ?? []).entries()) {
    if (!(source in sources)) throw invalid(name, ['hybrid', 'sourceCap', 'sources', k], `no source named "${source}"`);
  }
  // A level that weighs no source blends nothing: every list would be popularity backfill, served as the hybrid's.
  for (const level of ['cold', 'warm'] as const) {
    if (!Object.values(r.hybrid.weights[level]).some((w) => w > 0)) {
      throw invalid(name, ['hybrid', 'weights', level], 'no source has a weight above 0: the blend would recommend nothing of its own');
    }
  }
  return { name: r.name ?? name, description: r.description, sources, hybrid: r.hybrid, candidates: r.candidates, eventWeights: r.eventWeights, ...(r.validation ? { validation: r.validation } : {}), ...(r.tune ? { tune: r.tune } : {}), ...(r.serving ? { serving: r.serving } : {}) };
}

/** Reads and validates models/NAME.json. A name with path separators is refused before touching the disk. */
export async function loadRecipe(name: string, dir = 'models'): Promise<Recipe> {
  if (!NAME.test(name)) throw invalid(name, ['name'], 'a recipe name is letters, digits, ".", "_" and "-" (no path)');
  let text: string;
  try {
    text = await readFile(join(dir, `${name}.json`), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound('recipe', name);
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(name, [], `not valid JSON (${(err as Error).message})`);
  }
  return parseRecipe(raw, name);
}

/** Names of the recipes in `dir` (files NAME.json), sorted. */
export async function listRecipes(dir = 'models'): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.json') && NAME.test(f.slice(0, -5))).map((f) => f.slice(0, -5)).sort();
}

export interface FittedRecipe {
  /** Every fitted source by its recipe name. */
  sources: Map<string, Recommender>;
  hybrid: HybridRecommender;
  /** Wall time of each step (source names and "hybrid") in milliseconds. */
  durations: Record<string, number>;
}

/** Progress of fitRecipe: called when a step starts (ms null) and when it ends. */
export type FitStepListener = (step: { step: string; done: number; total: number; ms: number | null }) => void;

/** Where fitRecipe's sources come from besides a fit in this thread. */
export interface FitSources {
  /** Factors trained elsewhere (a factor import) stand in for the fit of this ALS source. */
  imported?: ImportedAls;
  /**
   * Sources being fitted on other threads (fit-in-worker.ts), by recipe name: the other sources fit
   * here meanwhile, then these are awaited. Their steps are reported after the others', one at a time
   * as those are (a step's `ms` is still its fit's own time).
   */
  offThread?: ReadonlyMap<string, Promise<{ model: Recommender; ms: number }>>;
}

/**
 * Fits every source of a recipe on one dataset, then the hybrid over them. Training and evaluation
 * both call this, so a recipe means the same model everywhere. Async only to yield to the event loop
 * between steps (each fit itself is synchronous CPU work) and to await sources fitted on other threads.
 */
export async function fitRecipe(ds: Dataset, recipe: Recipe, onStep?: FitStepListener, ctx?: FitContext, from: FitSources = {}): Promise<FittedRecipe> {
  const names = Object.keys(recipe.sources);
  const total = names.length + 1;
  const fitted = new Map<string, Recommender>();
  const durations: Record<string, number> = {};
  const elsewhere = names.filter((name) => from.offThread?.has(name));
  let done = 0;
  for (const name of names.filter((n) => !elsewhere.includes(n))) {
    onStep?.({ step: name, done, total, ms: null });
    await new Promise<void>((resolve) => setImmediate(resolve));
    const started = performance.now();
    const { recommender, params } = recipe.sources[name];
    if (from.imported?.source === name) fitted.set(name, alsFromFactors(ds, from.imported.factors, params as AlsParams));
    else fitted.set(name, recommenderFactory(recommender)!.fit(ds, params, ctx));
    durations[name] = performance.now() - started;
    onStep?.({ step: name, done: ++done, total, ms: durations[name] });
  }
  for (const name of elsewhere) {
    onStep?.({ step: name, done, total, ms: null });
    const { model, ms } = await from.offThread!.get(name)!;
    fitted.set(name, model);
    durations[name] = ms;
    onStep?.({ step: name, done: ++done, total, ms });
  }
  // In recipe order, wherever each was fitted.
  const sources = new Map(names.map((name) => [name, fitted.get(name)!]));
  onStep?.({ step: 'hybrid', done: names.length, total, ms: null });
  const started = performance.now();
  const hybrid = createHybrid(sources, recipe.hybrid, itemBuyerCounts(ds), buyerCount(ds));
  durations.hybrid = performance.now() - started;
  onStep?.({ step: 'hybrid', done: total, total, ms: durations.hybrid });
  return { sources, hybrid, durations };
}
