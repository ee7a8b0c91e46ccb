import { z } from 'zod';
import type { EvaluationRequest, SplitRequest } from './run-evaluation.js';
import { tuneSpecSchema } from '../training/recipe.js';
import { EVAL_MODES, type EvalMode } from './splits.js';
import { QUERYABLE_TIME_MESSAGE, queryableTime } from '../data/event-time.js';

/**
 * What an evaluation run is asked to do, as the API accepts it and as the job stores it (defaults
 * filled in). One schema for the HTTP body, the job params and the CLI, so the three cannot drift.
 */

const dateOrTime = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], { error: 'expected an ISO 8601 date (2011-11-01) or date-time (2011-11-01T00:00:00Z)' })
  .refine(queryableTime, QUERYABLE_TIME_MESSAGE)
  .describe('ISO 8601 date (midnight UTC) or date-time');

const recipeName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i, 'a recipe name is letters, digits, ".", "_" and "-"').max(128);
const strategyName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a strategy is a source name of the first recipe, e.g. item-knn').max(64);

export const splitRequestSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('temporal'),
      cutoff: dateOrTime.describe('Train on purchases before this time, test on those at or after it'),
    }),
    z.strictObject({ kind: z.literal('leave-last-order').describe("Each user's last order is the test set; users with one order only train") }),
    z.strictObject({
      kind: z.literal('validation'),
      days: z.int().min(1).max(365).describe('Length of the test period at the end of the window'),
      end: dateOrTime.optional().describe('End of the window (exclusive), typically the real cutoff; default: just after the latest purchase'),
    }),
  ])
  .meta({ id: 'EvaluationSplit' });

export const evaluationRequestSchema = z
  .strictObject({
    recipes: z
      .array(recipeName)
      .min(1)
      .max(5)
      .optional()
      .describe('Recipes to evaluate (models/NAME.json), each reported by its hybrid; default: the configured default recipe'),
    strategies: z
      .array(strategyName)
      .max(20)
      .optional()
      .describe('Single recommenders (sources of the first recipe) to report beside the hybrids; default: all of them; [] = none. Popularity is always reported'),
    baseline: recipeName
      .optional()
      .describe(
        'What every lift and its 95% confidence interval is against: one of `recipes` (its hybrid; by file name or by the name the recipe gives itself, the file name first), else a source of the first recipe (scored even if `strategies` leaves it out), or popularity; default popularity',
      ),
    split: splitRequestSchema,
    modes: z
      .array(z.enum(EVAL_MODES as [EvalMode, ...EvalMode[]]))
      .min(1)
      .max(2)
      .optional()
      .describe('`novel`: only items new to the user count, and bought items are never recommended; `all`: repurchases count. Default [novel]'),
    ks: z.array(z.int().min(1).max(100)).min(1).max(10).optional().describe('List lengths to cut at, each 1..100; default [10]'),
    tune: z
      .union([z.boolean(), tuneSpecSchema])
      .optional()
      .describe(
        "Tune each recipe first, as training does, on rolling validation windows that end where the test period starts (nothing on or after it is read): `true` with the recipe's `tune` section or the defaults, an object with folds/days/minCoverage/variants/maxCustomers/maxPurchases/keepRule/coverageFloor/foldWeights/singleSourceCoverage/blendJudgedOn/coverageCatalogue/keepOn/coverageEstimate/coverageMargin/yearAgo/yearAgoFloor, `false` to evaluate the weights as written; default: as each recipe says, so a recipe is evaluated as training would publish it. Not with leave-last-order splits",
      ),
  })
  .meta({ id: 'EvaluationRequest' });

export type EvaluationRequestInput = z.infer<typeof evaluationRequestSchema>;

/** A request with every default filled in and dates normalised: what a job runs and stores. */
export interface EvaluationParams extends EvaluationRequest {
  recipes: string[];
}

/** Normalised job params; parse() of stored params accepts exactly what normalizeRequest produced. */
export const evaluationParamsSchema = evaluationRequestSchema.required({ recipes: true, modes: true, ks: true });

const isoTime = (s: string) => new Date(Date.parse(s)).toISOString();

function normalizeSplit(split: SplitRequest): SplitRequest {
  if (split.kind === 'temporal') return { kind: 'temporal', cutoff: isoTime(split.cutoff) };
  if (split.kind === 'validation') return { kind: 'validation', days: split.days, ...(split.end ? { end: isoTime(split.end) } : {}) };
  return { kind: 'leave-last-order' };
}

/** Fills in defaults, drops duplicates, sorts ks; cutoffs become full ISO date-times (UTC). */
export function normalizeRequest(input: EvaluationRequestInput, defaultRecipe: string): EvaluationParams {
  return {
    recipes: [...new Set(input.recipes ?? [defaultRecipe])],
    ...(input.strategies ? { strategies: [...new Set(input.strategies)] } : {}),
    ...(input.baseline ? { baseline: input.baseline } : {}),
    split: normalizeSplit(input.split),
    modes: [...new Set<EvalMode>(input.modes ?? ['novel'])],
    ks: [...new Set(input.ks ?? [10])].sort((a, b) => a - b),
    ...(input.tune !== undefined ? { tune: input.tune } : {}),
  };
}
