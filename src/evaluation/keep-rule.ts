/**
 * What rolling-origin tuning keeps of the tuned blend, given each candidate's judged objective per fold and
 * mode (novel: novel NDCG less the coverage shortfall; all: all-mode NDCG). Pure.
 *
 * - `sum` (the rule before issue 11's forty-seventh session): the blend is kept whole if novel + all beats
 *   the best single source's (by mean novel + all, among `novelCandidates`) on every fold; otherwise that
 *   source alone is the recipe, for new and own items alike.
 * - `per-mode` (tuning's default from issue 11's forty-seventh session to its fiftieth, bench/README "Keeping the blend's
 *   halves apart"): the two halves the search tunes apart are judged apart. The weights on new items are kept
 *   if the blend's novel objective beats the best single source's on the novel lists (among
 *   `novelCandidates`, by mean novel objective) on every fold, else that source serves new items; the
 *   weights on the customer's own items (repeatWeights) are kept if the blend's all-mode NDCG beats the
 *   best source of own items' on all-mode (among `ownCandidates`, by mean all-mode NDCG) on every fold,
 *   else that source serves them. So a blend that wins the new-item lists is not thrown away for losing the repurchase lists (or
 *   the other way round), and the sum of the modes cannot hide a loss on one of them behind a win on the
 *   other.
 * - `per-mode-single` (issue 11's forty-ninth session, bench/README "Rule (3) with all-mode protected"): as
 *   `per-mode`, but where a single source X serves new items, the blend's own-item weights beside X's new
 *   items must also beat X alone (its own all-mode lists) on every fold, not only the own-items source;
 *   else the own half goes to whichever of X and the own-items source has the better mean all-mode NDCG.
 * - `per-mode-majority` (tuning's default since issue 11's fiftieth session, bench/README "A keep rule by
 *   majority of folds"): exactly
 *   `per-mode`, except that wherever `per-mode` asks the blend to beat its comparison on every fold (the
 *   new-item half, the own-item half, and keepOwnHalfAsServed's check of the own half as served), it asks
 *   that the mean over folds of (blend - comparison) be above 0 and the blend beat it on a strict majority
 *   of the folds (2 of 3; with 1 or 2 folds that is every fold): one lost fold no longer drops a blend that wins
 *   the others and the mean. A fold tied at the maximum counts neither way here too (beatsByMajority).
 *
 * - `per-mode-trimmed` (issue 11's fifty-first session, bench/README "A keep rule one outlier window cannot sway"):
 *   `per-mode-majority` with the mean taken after the largest per-fold difference is clipped to the second largest
 *   (beatsByTrimmedMajority): one window far ahead cannot carry the mean by itself.
 * - `per-mode-outlier` (the same session and section): `per-mode-majority`, except that a fold where the blend's
 *   margin relative to the comparison's score ((blend - comparison) / comparison) is above 1 (the blend more than
 *   doubles it) and more than three times any other fold's (absolute) relative margin is taken for an outlier and
 *   counts neither way, as a tie at the maximum does (beatsWithoutOutlier): the remaining folds must then carry the
 *   mean and a strict majority (of 2, both). A blend far ahead on every fold (own items against buy-again) has no
 *   outlier.
 *
 * "Beats on every fold" throughout (beatsEveryFold): a fold where both reach the maximum (NDCG 1, as on a window
 * of few customers) is a tie that carries no evidence, no loss as long as some other fold is won. Where the novel
 * objective is NDCG less a coverage shortfall, each candidate's maximum there is 1 less its own shortfall
 * (`novelShortfall`): the shortfall is pooled over the folds and charged on every fold alike, so perfect lists on
 * both sides are still a tie, however the shortfalls differ.
 */
export type KeepRule = 'sum' | 'per-mode' | 'per-mode-single' | 'per-mode-majority' | 'per-mode-trimmed' | 'per-mode-outlier';

export const KEEP_RULES = ['sum', 'per-mode', 'per-mode-single', 'per-mode-majority', 'per-mode-trimmed', 'per-mode-outlier'] as const satisfies readonly KeepRule[];

/** Per fold, oldest first. */
export interface ModeObjectives {
  novel: number[];
  all: number[];
  /** The coverage shortfall subtracted from every fold's novel NDCG in `novel` (absent: none): perfect lists there score 1 less it. */
  novelShortfall?: number;
}

export interface KeepInput {
  blend: ModeObjectives;
  sources: Record<string, ModeObjectives>;
  /** The sources that may serve new items alone (they show new items and the recipe does not cap them). */
  novelCandidates: readonly string[];
  /**
   * The sources of the customer's own items (those that show no new item: buy-again, repurchase); when none is,
   * `novelCandidates` (the regularisation is toward a single source that could serve alone: not a capped one).
   */
  ownCandidates: readonly string[];
  /** False when the blend weights, of the sources that show new items, only capped ones for warm customers: its new-item weights are never kept. */
  blendActsOnCap: boolean;
}

/** Who serves each half: `blend` (the tuned weights) or a source's name (that source alone). */
export interface KeepDecision {
  novel: string;
  all: string;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const EPS = 1e-9;

/** The candidate with the best mean of `score` (the first of equals). */
function best(candidates: readonly string[], score: (name: string) => number[]): string {
  return candidates.reduce((a, b) => (mean(score(b)) > mean(score(a)) + EPS ? b : a));
}

/**
 * Whether `a` beats `b` on every fold. A fold where both reach their maximum (`max` for `a`, `maxB` for `b`: NDCG's 1,
 * less a candidate's coverage shortfall where one is charged; both lists perfect, as on a tiny window) is a tie that
 * carries no evidence either way: not a loss, as long as `a` wins some other fold.
 */
export function beatsEveryFold(a: readonly number[], b: readonly number[], max = 1, maxB = max): boolean {
  const wins = a.map((x, f) => x > b[f] + EPS);
  return wins.some(Boolean) && wins.every((won, f) => won || (a[f] >= max - EPS && b[f] >= maxB - EPS));
}

/** The most a candidate's novel objective reaches on a fold (perfect lists): 1 less its coverage shortfall. */
const novelMax = (m: ModeObjectives) => 1 - (m.novelShortfall ?? 0);

/**
 * `per-mode-majority`'s test: the mean over folds of (a - b) above 0, and a above b on a strict majority of the folds.
 * As in beatsEveryFold, a fold where both reach their maximum (`max`, `maxB`) is a tie that carries no evidence: it is
 * left out of the mean and of the count (else a tie would be a lost vote, and a rule meant to be looser than every
 * fold would drop what every fold keeps; under a coverage shortfall the gap between the shortfalls would be a win or
 * a loss). Some fold must carry evidence.
 */
export function beatsByMajority(a: readonly number[], b: readonly number[], max = 1, maxB = max): boolean {
  const judged = a.flatMap((x, f) => (x >= max - EPS && b[f] >= maxB - EPS ? [] : [x - b[f]]));
  return judged.length > 0 && mean(judged) > EPS && judged.filter((d) => d > EPS).length * 2 > judged.length;
}

/**
 * `per-mode-trimmed`'s test: beatsByMajority's, with the mean over the judged folds taken after the largest
 * difference (a - b) is clipped to the second largest (with one judged fold, nothing is clipped). Ties at the
 * maximum are left out first, as there.
 */
export function beatsByTrimmedMajority(a: readonly number[], b: readonly number[], max = 1, maxB = max): boolean {
  const judged = a.flatMap((x, f) => (x >= max - EPS && b[f] >= maxB - EPS ? [] : [x - b[f]]));
  if (judged.length === 0) return false;
  const sorted = [...judged].sort((x, y) => y - x);
  const clipped = judged.length > 1 ? judged.map((d) => Math.min(d, sorted[1])) : judged;
  return mean(clipped) > EPS && judged.filter((d) => d > EPS).length * 2 > judged.length;
}

/** The relative margin above which (and above three times every other fold's) a fold is `per-mode-outlier`'s outlier. */
export const OUTLIER_MARGIN = 1;
export const OUTLIER_FACTOR = 3;

/**
 * `per-mode-outlier`'s test: beatsByMajority's, on the folds left once an outlier win is set aside. A fold's relative
 * margin is (a - b) / |b| (b near 0: the blend's margin there is as large as it gets); the fold with the largest one
 * is an outlier when that margin is above OUTLIER_MARGIN and above OUTLIER_FACTOR times every other judged fold's
 * absolute relative margin. The outlier counts neither way (as a tie at the maximum); at most one fold is set aside,
 * and never the only judged one.
 */
export function beatsWithoutOutlier(a: readonly number[], b: readonly number[], max = 1, maxB = max): boolean {
  const judged = a.flatMap((x, f) => (x >= max - EPS && b[f] >= maxB - EPS ? [] : [f]));
  const margin = (f: number) => (a[f] - b[f]) / Math.max(Math.abs(b[f]), 1e-6);
  const top = judged.reduce<number | undefined>((t, f) => (t === undefined || margin(f) > margin(t) ? f : t), undefined);
  const outlier = top !== undefined && judged.length > 1 && margin(top) > OUTLIER_MARGIN && judged.every((f) => f === top || margin(top) > OUTLIER_FACTOR * Math.abs(margin(f)));
  const kept = outlier ? judged.filter((f) => f !== top) : judged;
  const d = kept.map((f) => a[f] - b[f]);
  return d.length > 0 && mean(d) > EPS && d.filter((x) => x > EPS).length * 2 > d.length;
}

/** The fold test a keep rule judges a half of the blend by: `per-mode-majority` by majority (and its two variants), the others on every fold. */
export const beatsFor = (rule: KeepRule) =>
  rule === 'per-mode-majority' ? beatsByMajority : rule === 'per-mode-trimmed' ? beatsByTrimmedMajority : rule === 'per-mode-outlier' ? beatsWithoutOutlier : beatsEveryFold;

/** The keep rules whose fold test is not every fold (`per-mode-majority` and its variants): their own half as served is checked by their own test. */
export const LOOSER_RULES = ['per-mode-majority', 'per-mode-trimmed', 'per-mode-outlier'] as const satisfies readonly KeepRule[];

/** The source of own items the `per-mode` rule judges the blend's own-item weights against. */
export function ownItemsSource(input: Pick<KeepInput, 'sources' | 'ownCandidates'>): string {
  return best(input.ownCandidates, (name) => input.sources[name].all);
}

/**
 * `per-mode` judges the own-item weights on the blend's all-mode lists, the blend's new items beside them.
 * When a source alone serves the new items, the kept own-item weights rank beside that source's new items
 * instead, lists never judged: given the all-mode NDCG per fold of the recipe as served (`servedAll`), the
 * own half stays the blend's only if it still beats the own-items source on every fold, else that source
 * serves it (the simpler recipe wins, as issue 11 asks).
 */
export function keepOwnHalfAsServed(decision: KeepDecision, servedAll: readonly number[], input: Pick<KeepInput, 'sources' | 'ownCandidates'>, rule: KeepRule = 'per-mode'): KeepDecision {
  if (decision.all !== 'blend' || decision.novel === 'blend') return decision;
  const own = ownItemsSource(input);
  return beatsFor(rule)(servedAll, input.sources[own].all) ? decision : { novel: decision.novel, all: own };
}

/**
 * `per-mode-single`'s check of the own half as served (keepOwnHalfAsServed's, with the new-item source alone
 * as a second bar): kept only if `servedAll` beats both the own-items source and the source serving new items
 * alone on every fold; else served by whichever of those two has the better mean all-mode NDCG (the new-item
 * source on a tie: one source for both halves is the simpler recipe).
 */
export function keepOwnHalfAgainstSingle(decision: KeepDecision, servedAll: readonly number[], input: Pick<KeepInput, 'sources' | 'ownCandidates'>): KeepDecision {
  if (decision.all !== 'blend' || decision.novel === 'blend') return decision;
  const own = ownItemsSource(input);
  const single = input.sources[decision.novel].all;
  if (beatsEveryFold(servedAll, input.sources[own].all) && beatsEveryFold(servedAll, single)) return decision;
  return { novel: decision.novel, all: mean(input.sources[own].all) > mean(single) + EPS ? own : decision.novel };
}

export function keepDecision(rule: KeepRule, input: KeepInput): KeepDecision {
  const { blend, sources, novelCandidates, ownCandidates, blendActsOnCap } = input;
  const sum = (m: ModeObjectives) => m.novel.map((x, f) => x + m.all[f]);
  if (rule === 'sum') {
    const single = best(novelCandidates, (name) => sum(sources[name]));
    const keep = blendActsOnCap && beatsEveryFold(sum(blend), sum(sources[single]), novelMax(blend) + 1, novelMax(sources[single]) + 1);
    return keep ? { novel: 'blend', all: 'blend' } : { novel: single, all: single };
  }
  const novelSingle = best(novelCandidates, (name) => sources[name].novel);
  const allSingle = ownItemsSource(input);
  const beats = beatsFor(rule);
  return {
    novel: blendActsOnCap && beats(blend.novel, sources[novelSingle].novel, novelMax(blend), novelMax(sources[novelSingle])) ? 'blend' : novelSingle,
    all: beats(blend.all, sources[allSingle].all) ? 'blend' : allSingle,
  };
}

type Weights = { cold: Record<string, number>; warm: Record<string, number> };

const alone = (name: string): Weights => ({ cold: { [name]: 1 }, warm: { [name]: 1 } });

/**
 * The hybrid's weights a decision serves, from the tuned blend's: new items by the blend's weights (and its
 * discount) or one source alone (no discount); own items by the blend's repeatWeights, or one source alone
 * (left out when that is the source serving new items too: the recipe is then that source alone).
 */
export function servedWeights(decision: KeepDecision, blend: { weights: Weights; repeatWeights?: Weights; popularityDiscount: number }): { weights: Weights; repeatWeights?: Weights; popularityDiscount: number } {
  const novelKept = decision.novel === 'blend';
  const weights = novelKept ? blend.weights : alone(decision.novel);
  const popularityDiscount = novelKept ? blend.popularityDiscount : 0;
  if (decision.all === 'blend') {
    const repeatWeights = blend.repeatWeights ?? (novelKept ? undefined : blend.weights);
    return repeatWeights ? { weights, repeatWeights, popularityDiscount } : { weights, popularityDiscount };
  }
  if (decision.all === decision.novel) return { weights, popularityDiscount };
  return { weights, repeatWeights: alone(decision.all), popularityDiscount };
}
