import type { BlendScores } from './blend-cache.js';
import { RollingFold, type FoldBlend } from './rolling-fold.js';
import type { SplitInput } from './splits.js';

/** What a tuned recipe holds that its windows need: its sources (as fitted) and the hybrid's list settings. */
export interface RescoredRecipe {
  sources: Record<string, { recommender: string; params: unknown }>;
  hybrid: { fullHistoryOrders: number; sourceLimit?: number; discountShare?: number };
}

/** Per window, oldest first: the blend's and each source's (alone) scores on the customers asked for. */
export interface RescoredWindows {
  blend: BlendScores[];
  sources: Record<string, BlendScores[]>;
}

const alone = (source: string): FoldBlend => ({ weights: { cold: { [source]: 1 }, warm: { [source]: 1 } } });

/**
 * A tuning's validation windows (`folds`: each window's exclusive end; `days` long) scored again with a given blend
 * and with each of `recipe`'s sources alone, on the customers `scored` names (default: every customer), as tuning's
 * folds score them (rolling-fold.ts): the population-sensitive sources fitted on every customer's purchases before
 * the window, the others on the scored customers' only. With `scored` the tuning sample, it gives the tuning's own
 * window scores back; with the customers the sample left out, windows the blend's weights were not searched on
 * (bench/window-vs-held.ts, issue 11: how much of the blend's lead over a single source is the search's own).
 */
export function rescoreWindows(input: SplitInput, recipe: RescoredRecipe, blend: FoldBlend, folds: readonly { end: string }[], days: number, k: number, scored?: readonly string[]): RescoredWindows {
  const out: RescoredWindows = { blend: [], sources: {} };
  for (const f of folds) {
    const fold = new RollingFold(input, { end: f.end, days, k, fullHistoryOrders: recipe.hybrid.fullHistoryOrders, depth: recipe.hybrid.sourceLimit ?? 100, discountShare: recipe.hybrid.discountShare, customerShare: 1, ...(scored ? { scored } : {}) });
    for (const [source, s] of Object.entries(recipe.sources)) {
      fold.fit(source, s.recommender, s.params as Record<string, unknown>, 0);
      fold.keep(source, 0);
    }
    out.blend.push(fold.score(blend));
    for (const source of Object.keys(recipe.sources)) (out.sources[source] ??= []).push(fold.score(alone(source)));
  }
  return out;
}
