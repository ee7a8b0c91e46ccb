import type { HybridConfig } from '../recommenders/hybrid.js';
import { scoreBlend, type BlendCache, type BlendScores } from './blend-cache.js';
import type { EvalMode } from './splits.js';

type Weights = HybridConfig['weights'];

export const DEFAULT_GRID = [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2, 3];
export const DEFAULT_DISCOUNT_GRID = [0, 0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.7];

/**
 * What tuning maximises: NDCG@k in mode novel plus NDCG@k in mode all (buy-again only matters in
 * `all`, the rest in both), minus coveragePenalty times the shortfall of the novel lists' reach below
 * `minCoverage`, so a blend cannot win by collapsing onto a few bestsellers. Reach is catalog coverage
 * wherever the lists have more places than the catalogue has items, and otherwise coverage of what the
 * lists could show at most (see BlendScores), so the requirement stays reachable for a large catalogue
 * tuned on a sample of customers. `modes` narrows the NDCG to one mode (the requirement applies either way).
 */
export function objective(s: BlendScores, minCoverage = 0, coveragePenalty = 10, modes: readonly EvalMode[] = BOTH_MODES): number {
  let ndcg = 0;
  for (const mode of modes) ndcg += s[mode].ndcg;
  return ndcg - coveragePenalty * Math.max(0, minCoverage - s.novel.reach);
}

const BOTH_MODES: readonly EvalMode[] = ['novel', 'all'];

/** Mean of several folds' scores, metric by metric (each fold counts the same, whatever its users). */
export function meanScores(all: readonly BlendScores[]): BlendScores {
  return weightedMeanScores(all, all.map(() => 1));
}

/** The folds' scores averaged metric by metric with `weights` (one per fold, oldest first); 0 for no folds. */
export function weightedMeanScores(perFold: readonly BlendScores[], weights: readonly number[]): BlendScores {
  if (weights.length !== perFold.length) throw new Error(`${weights.length} fold weights for ${perFold.length} folds`);
  const total = perFold.length === 0 ? 1 : weights.reduce((a, b) => a + b, 0);
  const out = {} as BlendScores;
  for (const mode of ['novel', 'all'] as const) {
    const mean = (f: (s: BlendScores) => number) => perFold.reduce((sum, s, i) => sum + weights[i] * f(s), 0) / total;
    out[mode] = {
      ndcg: mean((s) => s[mode].ndcg),
      recall: mean((s) => s[mode].recall),
      coverage: mean((s) => s[mode].coverage),
      reach: mean((s) => s[mode].reach),
      users: mean((s) => s[mode].users),
    };
  }
  return out;
}

/** A blend to score: the weights and discovery discount under trial (the rest of the hybrid is fixed). */
export interface BlendTrial {
  weights: Weights;
  /** Weights on the user's own items; absent = `weights`. */
  repeatWeights?: Weights;
  popularityDiscount: number;
  /**
   * The modes the trial is judged by (absent = both). Scoring may skip the other mode, whose scores
   * are then 0; the modes it scores come out exactly as when both are scored.
   */
  modes?: readonly EvalMode[];
}

/**
 * Scores a blend, synchronously on caches in this thread or asynchronously on folds held by worker
 * threads. The trial's objects are reused by the descent: an evaluator must not keep them.
 */
export type BlendEvaluator = (trial: BlendTrial) => BlendScores | Promise<BlendScores>;

/** Evaluates blends on caches in this thread: the scores averaged over the caches (rolling-origin folds). */
export function cacheEvaluator(caches: BlendCache | readonly BlendCache[], fullHistoryOrders: number, k = 10): BlendEvaluator {
  const folds = Array.isArray(caches) ? (caches as readonly BlendCache[]) : [caches as BlendCache];
  return ({ weights, repeatWeights, popularityDiscount, modes }) =>
    meanScores(folds.map((cache) => scoreBlend(cache, { weights, repeatWeights, fullHistoryOrders, popularityDiscount, modes }, k)));
}

/**
 * The key of what a blend scores by: blendWeights keeps, in the order the hybrid sums them (cold
 * names, then warm ones), the sources with a positive weight at some history length. Two trials with
 * the same key blend the same float32 sums, so they score the same.
 */
export function trialKey({ weights, repeatWeights, popularityDiscount, modes }: BlendTrial): string {
  const parts: (string | number)[] = [modes ? [...modes].sort().join('+') : 'all+novel', popularityDiscount];
  const add = (w: Weights) => {
    for (const name of new Set([...Object.keys(w.cold), ...Object.keys(w.warm)])) {
      const cold = w.cold[name] ?? 0;
      const warm = w.warm[name] ?? 0;
      if (cold > 0 || warm > 0) parts.push(name, cold, warm);
    }
  };
  add(weights);
  if (repeatWeights) {
    parts.push('repeat');
    add(repeatWeights);
  }
  return JSON.stringify(parts);
}

/**
 * Remembers an evaluator's scores by trialKey: coordinate descent revisits blends (each pass retries
 * the values of the last, a constrained search starts where the accuracy search ended), and a
 * revisit then costs nothing. Only valid while the sources being blended do not change.
 */
export function memoEvaluator(evaluate: BlendEvaluator): BlendEvaluator & { hits: () => number } {
  const seen = new Map<string, BlendScores | Promise<BlendScores>>();
  let hits = 0;
  const memo = (trial: BlendTrial) => {
    const key = trialKey(trial);
    const known = seen.get(key);
    if (known) {
      hits++;
      return known;
    }
    const scores = evaluate(trial);
    seen.set(key, scores);
    return scores;
  };
  return Object.assign(memo, { hits: () => hits });
}

/** What tuneWeights searches and by what it judges. */
export interface WeightSearch {
  grid?: number[];
  rounds?: number;
  minCoverage?: number;
  coveragePenalty?: number;
  /** Blends whose novel NDCG falls below this are not taken, whatever their coverage (the coverage requirement's bounded price). */
  novelNdcgFloor?: number;
  popularityDiscount?: number;
  discountGrid?: number[];
  /** The NDCG the objective counts (default both modes); only these are scored, the result's other mode is 0. */
  modes?: readonly EvalMode[];
  /**
   * With repeat weights the search moves those (the ranking of the user's own items) and holds
   * `start` (the weights on new items) fixed; without, it moves `start`'s weights.
   */
  repeatWeights?: Weights;
}

/**
 * Coordinate descent over the cold and warm weight of every source in `names`: for each weight in
 * turn, try every grid value with the others fixed and keep the best (ties keep the current value, so
 * the result is deterministic). Stops after `rounds` passes or a pass without improvement. Blends are
 * scored by `evaluate` one at a time in a fixed order, so the result does not depend on where they are
 * scored (this thread or fold workers).
 */
export async function tuneWeights(
  evaluate: BlendEvaluator,
  sourceNames: Iterable<string>,
  start: Weights,
  opts: WeightSearch,
): Promise<{ weights: Weights; repeatWeights?: Weights; popularityDiscount: number; scores: BlendScores; objective: number }> {
  const grid = opts.grid ?? DEFAULT_GRID;
  const names = [...sourceNames].sort();
  const copy = (w: Weights): Weights => ({ cold: { ...w.cold }, warm: { ...w.warm } });
  const trial: BlendTrial = { weights: copy(start), popularityDiscount: opts.popularityDiscount ?? 0 };
  if (opts.repeatWeights) trial.repeatWeights = copy(opts.repeatWeights);
  // Only what the search judges is scored: its modes, and the novel lists when the coverage requirement
  // (on their reach) applies. The returned scores hold 0 for a mode it did not score.
  if (opts.modes) trial.modes = (opts.minCoverage ?? 0) > 0 && !opts.modes.includes('novel') ? [...opts.modes, 'novel'] : opts.modes;
  const weights = trial.repeatWeights ?? trial.weights;
  const floor = opts.novelNdcgFloor ?? Number.NEGATIVE_INFINITY;
  const judge = (s: BlendScores) => (s.novel.ndcg < floor - 1e-12 ? Number.NEGATIVE_INFINITY : objective(s, opts.minCoverage, opts.coveragePenalty, opts.modes));
  let scores = await evaluate(trial);
  let best = judge(scores);
  for (let round = 0; round < (opts.rounds ?? 3); round++) {
    const before = best;
    for (const beta of opts.discountGrid ?? []) {
      if (beta === trial.popularityDiscount) continue;
      const previous = trial.popularityDiscount;
      trial.popularityDiscount = beta;
      const s = await evaluate(trial);
      const o = judge(s);
      if (o > best + 1e-9) [best, scores] = [o, s];
      else trial.popularityDiscount = previous;
    }
    for (const level of ['warm', 'cold'] as const) {
      for (const name of names) {
        let current = weights[level][name] ?? 0;
        for (const value of grid) {
          if (value === current) continue;
          weights[level][name] = value;
          // A blend where every weight is 0 recommends nothing; skip it rather than score it.
          if (Object.values(weights[level]).every((w) => w === 0)) {
            weights[level][name] = current;
            continue;
          }
          const s = await evaluate(trial);
          const o = judge(s);
          if (o > best + 1e-9) {
            best = o;
            scores = s;
            current = value;
          } else weights[level][name] = current;
        }
      }
    }
    if (best <= before + 1e-9) break;
  }
  return {
    weights: dropZeros(trial.weights),
    ...(trial.repeatWeights ? { repeatWeights: dropZeros(trial.repeatWeights) } : {}),
    popularityDiscount: trial.popularityDiscount,
    scores,
    objective: best,
  };
}

function dropZeros(w: Weights): Weights {
  const keep = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v > 0));
  return { cold: keep(w.cold), warm: keep(w.warm) };
}

/** A recipe's hybrid section without its repeat weights (the tuners write their own, or none). */
export function withoutRepeatWeights(hybrid: unknown): Record<string, unknown> {
  const { repeatWeights: _dropped, ...rest } = (hybrid ?? {}) as Record<string, unknown>;
  return rest;
}
