import type { BlendScores } from './blend-cache.js';
import type { KeepDecision } from './keep-rule.js';
import { DEFAULT_DISCOUNT_GRID, tuneWeights, type BlendEvaluator } from './tune.js';

/**
 * Coverage of a single source's new items (issue 11, bench/README "Coverage of a single source's new items").
 * When the keep rule serves new items from one source alone (EASE, ALS), the blend's coverage search does not
 * apply and the lists reach 2-4% of the catalogue. The re-rank is the hybrid's discovery discount
 * (HybridConfig.popularityDiscount: an item the customer has not bought scores source / (1 + buyers / unit)^beta),
 * applied to that source's scores: the same code ranks the lists in evaluation (blend-cache.ts) and in serving
 * (hybrid.ts), and the chosen beta is published in the recipe's `hybrid.popularityDiscount` like the blend's.
 * Beta is chosen on the same validation folds and by the same price as the blend's coverage search: the
 * objective is novel NDCG less the coverage shortfall, over beta on the discount grid, never below
 * (1 - maxCoverageCost) of the source's own novel NDCG (beta 0). So where coverage costs more than that,
 * beta stays 0: no re-rank. Pure.
 *
 * `off` (default): the source serves new items as before (beta 0). `discount`: beta as chosen above.
 */
export type SingleSourceCoverage = 'off' | 'discount';

export const SINGLE_SOURCE_COVERAGE = ['off', 'discount'] as const satisfies readonly SingleSourceCoverage[];

/** What the search found for the source serving new items alone (RollingValidation.singleSourceDiscount). */
export interface SingleSourceDiscount {
  /** The source serving new items alone. */
  source: string;
  /** The chosen beta (0: no re-rank is worth its price). */
  popularityDiscount: number;
  /** Whether the published recipe carries it (tuning's `singleSourceCoverage` is `discount`). */
  applied: boolean;
  /** Novel NDCG and coverage pooled over the folds, beta 0 and as chosen. */
  without: { ndcg: number; coverage: number; reach: number };
  with: { ndcg: number; coverage: number; reach: number };
  /** Who serves each half with the discount applied (the own half judged again as served); `keptBy` holds the decision without. */
  served?: KeepDecision;
}

export interface SingleSourceSearch {
  /** Novel coverage (reach) the lists should keep; below it the objective is penalised (as the blend's search). */
  minCoverage: number;
  coveragePenalty?: number;
  /** The most the coverage may cost, as a share of the source's own novel NDCG (beta 0). */
  maxCost: number;
  discountGrid?: number[];
}

const alone = (name: string) => ({ cold: { [name]: 1 }, warm: { [name]: 1 } });
const novelOf = (s: BlendScores) => ({ ndcg: s.novel.ndcg, coverage: s.novel.coverage, reach: s.novel.reach });

/**
 * The discovery discount for `source` alone on the novel lists, scored by `evaluate` (the folds pooled as the
 * blend's search pools them): the beta of the grid with the best novel NDCG less the coverage shortfall among
 * those within `maxCost` of beta 0's novel NDCG (ties keep the smaller, beta 0 first).
 */
export async function searchSingleSourceDiscount(evaluate: BlendEvaluator, source: string, opts: SingleSourceSearch): Promise<Omit<SingleSourceDiscount, 'applied' | 'served'>> {
  const modes = ['novel'] as const;
  const accurate = await evaluate({ weights: alone(source), popularityDiscount: 0, modes });
  const novelNdcgFloor = opts.maxCost === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : (1 - opts.maxCost) * accurate.novel.ndcg;
  const found = await tuneWeights(evaluate, [], alone(source), {
    modes,
    minCoverage: opts.minCoverage,
    coveragePenalty: opts.coveragePenalty,
    novelNdcgFloor,
    popularityDiscount: 0,
    discountGrid: opts.discountGrid ?? DEFAULT_DISCOUNT_GRID,
    // One pass tries every beta of the grid (nothing else moves): the best of them, a second pass would find no better.
    rounds: 1,
  });
  return { source, popularityDiscount: found.popularityDiscount, without: novelOf(accurate), with: novelOf(found.scores) };
}
