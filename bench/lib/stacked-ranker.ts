/**
 * A study for bench/validation.ts `stack`: a logistic regression over the cached source scores of a
 * fold's new-item candidates (stacking), as an alternative to the tuned blend weights. Bench code: it
 * reads folds built by RollingFold and decides nothing in the service.
 */
import { buildBlendMatrix } from '../../src/evaluation/blend-matrix.js';
import { catalogCoverage, ndcgAt } from '../../src/evaluation/metrics.js';
import type { RollingFold } from '../../src/evaluation/rolling-fold.js';
import { blendWeights, discoveryDiscount } from '../../src/recommenders/hybrid.js';
import type { Recipe } from '../../src/training/recipe.js';

const DAY = 86_400_000;

/** One row per (validation user, new candidate): features, label, and whose list the candidate is in. */
export interface CandidateRows {
  width: number;
  x: number[];
  y: number[];
  slot: number[];
  item: number[];
}

/** Feature names, in row order: per source its score, whether it listed the item, score x log(1 + orders); then the rest. */
export function featureNames(sources: readonly string[]): string[] {
  return [...sources.flatMap((s) => [s, `${s} listed`, `${s} x log orders`]), 'tuned blend', 'log(1 + orders)', 'log(1 + buyers)', 'log(1 + buyers, last 30 days)', 'log(1 + days since first sale)', 'log(1 + days since last sale)'];
}

/** Per item, from the fold's training purchases: buyers in the last 30 days, days since its first and its last sale. */
function itemFacts(fold: RollingFold): { recent: Float32Array; age: Float32Array; since: Float32Array } {
  const ds = fold.split.train;
  const cutoff = fold.split.cutoff!;
  const n = ds.itemIds.length;
  const first = new Float64Array(n).fill(Infinity);
  const last = new Float64Array(n).fill(-Infinity);
  const recent = new Float32Array(n);
  const seen = new Set<number>();
  for (let e = 0; e < ds.eventUser.length; e++) {
    const i = ds.eventItem[e];
    const t = ds.eventTs[e];
    first[i] = Math.min(first[i], t);
    last[i] = Math.max(last[i], t);
    const key = ds.eventUser[e] * n + i;
    if (t >= cutoff - 30 * DAY && !seen.has(key)) {
      seen.add(key);
      recent[i]++;
    }
  }
  const days = (t: number) => (Number.isFinite(t) ? (cutoff - t) / DAY : 365);
  return { recent, age: Float32Array.from(first, days), since: Float32Array.from(last, days) };
}

/** The rows of every new candidate of every validation user with new purchases in the window, from the fold's kept source parts. */
export function candidateRows(fold: RollingFold, recipe: Recipe): CandidateRows {
  const { cache } = fold;
  const sources = Object.keys(recipe.sources);
  const m = buildBlendMatrix(new Map(sources.map((s) => [s, cache.parts.get(s)!])), cache.users.length, cache.trainItems, cache.itemCount);
  const facts = itemFacts(fold);
  const discount = discoveryDiscount(cache.itemBuyers, recipe.hybrid.popularityDiscount ?? 0, cache.discountUnit);
  const width = featureNames(sources).length;
  const rows: CandidateRows = { width, x: [], y: [], slot: [], item: [] };
  for (let j = 0; j < cache.users.length; j++) {
    const relevant = cache.relevant.novel[j];
    if (!relevant) continue;
    const logOrders = Math.log1p(cache.orders[j]);
    const w = blendWeights(recipe.hybrid, cache.orders[j]);
    for (let c = m.indptr[j]; c < m.indptr[j + 1]; c++) {
      if (m.owned[c]) continue;
      const i = m.items[c];
      let blend = 0;
      for (let s = 0; s < sources.length; s++) {
        const v = m.scores[c * sources.length + s];
        blend += (w[sources[s]] ?? 0) * v;
        rows.x.push(v, v > 0 ? 1 : 0, v * logOrders);
      }
      rows.x.push(blend * discount[i], logOrders, Math.log1p(cache.itemBuyers[i]), Math.log1p(facts.recent[i]), Math.log1p(facts.age[i]), Math.log1p(facts.since[i]));
      rows.y.push(relevant.has(i) ? 1 : 0);
      rows.slot.push(j);
      rows.item.push(i);
    }
  }
  return rows;
}

/** The columns `cols` of every row of `sets`, one set after another, row-major. */
export function columns(sets: readonly CandidateRows[], cols: readonly number[]): Float64Array {
  const out = new Float64Array(sets.reduce((n, rows) => n + rows.y.length, 0) * cols.length);
  let at = 0;
  for (const rows of sets) for (let k = 0; k < rows.y.length; k++) for (const c of cols) out[at++] = rows.x[k * rows.width + c];
  return out;
}

/** Novel NDCG@10 and catalog coverage of the lists that rank each user's candidates by `score(row)` (rows scored -Infinity are left out). */
export function rankedScores(fold: RollingFold, rows: CandidateRows, score: (row: number) => number): { ndcg: number; coverage: number } {
  const candidates = new Map<number, { item: number; s: number }[]>();
  for (let k = 0; k < rows.y.length; k++) {
    const s = score(k);
    if (s === -Infinity) continue;
    const list = candidates.get(rows.slot[k]) ?? [];
    list.push({ item: rows.item[k], s });
    candidates.set(rows.slot[k], list);
  }
  let sum = 0;
  const lists: number[][] = [];
  fold.cache.relevant.novel.forEach((relevant, j) => {
    if (!relevant) return;
    const ranked = (candidates.get(j) ?? []).sort((a, b) => b.s - a.s || a.item - b.item).slice(0, 10).map((c) => c.item);
    sum += ndcgAt(relevant, ranked, 10);
    lists.push(ranked);
  });
  return { ndcg: lists.length ? sum / lists.length : 0, coverage: catalogCoverage(lists, fold.cache.itemCount) };
}
