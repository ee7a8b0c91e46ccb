import type { BlendScores } from './blend-cache.js';
import type { KeepDecision, KeepRule } from './keep-rule.js';
import { tuneWeights, type BlendEvaluator, type WeightSearch } from './tune.js';

/** Moved to tune.ts beside meanScores, which is it with equal weights; still exported here for its callers. */
export { weightedMeanScores } from './tune.js';

/**
 * Rules of what rolling-origin tuning searches for, besides the keep rule (keep-rule.ts): issue 11's
 * candidate rules (2) and (3), recorded in bench/README "Why the default loses to EASE ..." and judged
 * in "Tuning rules (2) and (3)". Each changes only which blend the search settles on. Pure.
 *
 * - coverageFloor `accuracy-share` (default): the coverage search may cost the novel NDCG up to
 *   maxCoverageCost of the most accurate blend's. `best-single` (rule (2)): and never below the best
 *   single source's novel NDCG (pooled over the folds as the search pools them), unless the most accurate
 *   blend is below it already (then the floor is that blend's own NDCG: coverage buys nothing more).
 * - foldWeights `equal` (default): the folds pooled by their plain mean. `recency` (rule (3)): weighted
 *   1, 2, ..., F (oldest first), so the latest window counts most where the blend's lead drifts.
 *   `recency-new-items` (rule (3) with all-mode protected, forty-ninth session): recency weights for the
 *   searches of the weights on new items (and the pooled coverage), equal folds for the search of the
 *   weights on the customer's own items (all-mode), as by default.
 */
export type CoverageFloorRule = 'accuracy-share' | 'best-single';
export type FoldWeightRule = 'equal' | 'recency' | 'recency-new-items';

export const COVERAGE_FLOOR_RULES = ['accuracy-share', 'best-single'] as const satisfies readonly CoverageFloorRule[];
export const FOLD_WEIGHT_RULES = ['equal', 'recency', 'recency-new-items'] as const satisfies readonly FoldWeightRule[];

export interface TuningRules {
  coverageFloor: CoverageFloorRule;
  foldWeights: FoldWeightRule;
}

export const DEFAULT_TUNING_RULES: TuningRules = { coverageFloor: 'accuracy-share', foldWeights: 'equal' };

/** What one rule set searched and kept (RollingValidation.compared). */
export interface ComparedRules {
  rules: TuningRules;
  blend: { weights: { cold: Record<string, number>; warm: Record<string, number> }; repeatWeights?: { cold: Record<string, number>; warm: Record<string, number> }; popularityDiscount: number };
  keptBy: Record<KeepRule, KeepDecision>;
  /** The blend's judged objective per fold and mode (as RollingValidation.modes.blend). */
  modes: { novel: number[]; all: number[] };
}

/** The weight of each of `folds` folds (oldest first), undefined for the plain mean. */
export function foldWeightsOf(rule: FoldWeightRule, folds: number): number[] | undefined {
  return rule === 'recency' || rule === 'recency-new-items' ? Array.from({ length: folds }, (_, f) => f + 1) : undefined;
}

/** The fold weights of the search of the weights on own items (all-mode): `recency-new-items` keeps them equal. */
export function ownItemFoldWeightsOf(rule: FoldWeightRule, folds: number): number[] | undefined {
  return foldWeightsOf(rule === 'recency-new-items' ? 'equal' : rule, folds);
}

/**
 * The novel NDCG the coverage search may not go below: `maxCost` of the most accurate blend's (`accurate`)
 * with `accuracy-share`; with `best-single` also not below the best single source's (`bestSingle`), capped
 * at `accurate` (a floor above the start would leave the search nothing to take).
 */
export function coverageNdcgFloor(rule: CoverageFloorRule, accurate: number, bestSingle: number, maxCost: number): number {
  const share = (1 - maxCost) * accurate;
  return rule === 'best-single' ? Math.max(share, Math.min(accurate, bestSingle)) : share;
}

type Searched = Awaited<ReturnType<typeof tuneWeights>>;

/**
 * The coverage search's result held to its bounded price (rolling-tune.ts step 3): when the free search
 * (`free`, started from the most accurate blend `accurate`) went below the floor (coverageNdcgFloor), the
 * search is run again from `accurate` within it; else `free` itself is returned.
 */
export async function boundedCoverage(
  evaluate: BlendEvaluator,
  names: Iterable<string>,
  accurate: Searched,
  free: Searched,
  search: WeightSearch,
  floor: { rule: CoverageFloorRule; bestSingleNovel: number; maxCost: number },
): Promise<Searched> {
  const novelNdcgFloor = coverageNdcgFloor(floor.rule, accurate.scores.novel.ndcg, floor.bestSingleNovel, floor.maxCost);
  if (free.scores.novel.ndcg >= novelNdcgFloor - 1e-12) return free;
  return tuneWeights(evaluate, names, accurate.weights, { ...search, novelNdcgFloor });
}
