/**
 * Judging the tuned blend on folds its weights were not chosen on (issue 11, forty-ninth session). Pure.
 *
 * Tuning searches the blend's weights on the mean over the validation folds, then the keep rule judges that
 * blend against single sources on the same folds. The blend's fold scores are the best of many weight
 * vectors tried on them, a single source's are not: the comparison favours the blend (a selection effect).
 * With `blendJudgedOn: 'out-of-fold'` the keep rule judges, on each fold k, the blend whose weights were
 * searched on the other folds only (leave one fold out), scored on fold k; the rule itself (every fold, or
 * the per-mode halves, as keepRule says) is unchanged, and so are the served weights, still those searched
 * on every fold. Costs one more blend search per fold; the fits are shared, each search scores a blend on
 * the folds it pools only, and a blend already scored on a fold is not scored on it again (by any search).
 */
import type { BlendScores } from './blend-cache.js';
import { keepDecision, KEEP_RULES, type KeepDecision, type KeepInput, type KeepRule, type ModeObjectives } from './keep-rule.js';

export type BlendJudgement = 'in-fold' | 'out-of-fold';

export const BLEND_JUDGEMENTS = ['in-fold', 'out-of-fold'] as const satisfies readonly BlendJudgement[];

/** The fold weights of a search that leaves fold `left` out: `weights` (undefined: all equal) with that fold's set to 0. */
export function leaveOneOut(weights: readonly number[] | undefined, folds: number, left: number): number[] {
  if (folds < 2) throw new Error('leaving a fold out needs at least 2 folds');
  if (left < 0 || left >= folds) throw new Error(`no fold ${left} of ${folds}`);
  return Array.from({ length: folds }, (_, f) => (f === left ? 0 : (weights?.[f] ?? 1)));
}

/**
 * Each fold's out-of-fold scores: for fold k, the blend `searchWithout(k)` finds (its weights searched with
 * fold k left out) scored on fold k by `scoreFold`. Also the blends found, oldest fold's first.
 */
export async function outOfFoldScores<B>(folds: number, searchWithout: (left: number) => Promise<B>, scoreFold: (blend: B, fold: number) => Promise<BlendScores>): Promise<{ perFold: BlendScores[]; blends: B[] }> {
  const perFold: BlendScores[] = [];
  const blends: B[] = [];
  for (let k = 0; k < folds; k++) {
    const blend = await searchWithout(k);
    blends.push(blend);
    perFold.push(await scoreFold(blend, k));
  }
  return { perFold, blends };
}

/** What each keep rule keeps when the blend is judged by its out-of-fold objectives (`outOfFold`) instead of its in-fold ones. */
export function keptOutOfFold(input: KeepInput, outOfFold: ModeObjectives): Record<KeepRule, KeepDecision> {
  const judged = { ...input, blend: outOfFold };
  return Object.fromEntries(KEEP_RULES.map((rule) => [rule, keepDecision(rule, judged)])) as Record<KeepRule, KeepDecision>;
}
