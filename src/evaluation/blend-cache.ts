import { grownTo } from '../recommenders/grow-array.js';
import { distinctOrderCount } from '../recommenders/history.js';
import { blendedSources, blendWeights, buyerCount, DEFAULT_DISCOUNT_SHARE, discountUnit, discoveryDiscount, repeatBlendWeights, type HybridConfig } from '../recommenders/hybrid.js';
import type { Recommender, UserContext } from '../recommenders/recommender.js';
import { TopKScratch } from '../recommenders/top-k-heap.js';
import { buildBlendMatrix, matrixMatches, type BlendMatrix } from './blend-matrix.js';
import { differingColumn, KeptSums, OTHER, SAME, summationOf, weightedSum, type Summation } from './blend-sums.js';
import { evalGroupsOf, groupKeysOf, groupSlot, GroupSet, groupTestSets, type EvalGroups, type GroupKeys } from './eval-groups.js';
import { userContextsOf } from './user-contexts.js';
import type { EvalMode, EvaluationSplit } from './splits.js';
import { extrapolatedDistinct } from './coverage-estimate.js';

/** One source's max-normalised top `depth` items per cached user (CSR over the cache's users). */
export interface SourcePart {
  indptr: Int32Array;
  items: Int32Array;
  scores: Float32Array;
}

/**
 * Everything needed to score a hybrid blend on one split without refitting or rescoring: per test
 * user, each source's normalised top list. Re-blending with new weights then costs a few ms.
 */
export interface BlendCache {
  itemCount: number;
  /** Train user indices of the cached test users. */
  users: number[];
  /** Distinct train orders per cached user (drives the cold/warm interpolation). */
  orders: Int32Array;
  /** Train items per cached user (excluded from the ranking in mode `novel`). */
  trainItems: Int32Array[];
  /** Per cached user and mode, the relevant items; with `groups`, the keys of the relevant groups (groupKeys). */
  relevant: Record<EvalMode, (ReadonlySet<number> | undefined)[]>;
  /** Distinct train buyers per item (for the hybrid's discovery discount). */
  itemBuyers: Float32Array;
  /** The discount's unit of buyers: its share of the split's train customers, as the hybrid trained on them has it. */
  discountUnit: number;
  parts: Map<string, SourcePart>;
  /**
   * The train items' product groups, when the catalogue has them: a blend's lists keep one product per group and
   * the novel ones none of the groups the user bought, as served (eval-groups.ts).
   */
  groups?: EvalGroups;
  /**
   * With `groups`, what relevance and coverage count (eval-groups.ts groupKeysOf): a listed product is a hit when
   * the user bought any product of its group, each group counts once, coverage and reach count groups.
   */
  groupKeys?: GroupKeys;
  /**
   * What coverage and reach divide by when not the split's own catalogue (its items, or with groups its keys):
   * tuning's folds count against the catalogue the served model will have (coverage-catalogue.ts), at least as large.
   */
  coverageCatalogue?: number;
  /**
   * With tune.coverageEstimate `extrapolated` (coverage-estimate.ts): per mode, the lists every customer of the
   * split would get (the cached users are a sample of them). Coverage and reach are then those of that many lists,
   * extrapolated from the cached users' lists.
   */
  coverageLists?: Record<EvalMode, number>;
  /**
   * With tune.coverageEstimate `every-customer` (coverage-estimate.ts): per cached user, 1 when only their novel list is
   * made, to be counted in coverage and reach (the customers tuning's sample left out); they add nothing to NDCG, recall
   * or the users counted, and get no list with repurchases.
   */
  listedOnly?: Uint8Array;
  /** The cached users' scoring contexts, built by the first sourcePart and shared by the sources after it. */
  contexts?: Map<number, UserContext>;
  /** The discovery discount per item, by beta, as the searches try them. */
  discounts?: Map<number, Float32Array>;
  /** The parts laid out for re-blending, rebuilt by scoreBlend whenever `parts` changed. */
  matrix?: BlendMatrix;
  /** Each user's best new items under one blend of them, kept while only the weights on own items change (see scoreBlendRange). */
  fixedNew?: FixedNewItems;
  /** The blended sums of the last scored range's candidates, reused while a search changes one source at a time (blend-sums.ts). */
  keptSums?: KeptSums;
}

/**
 * The k best items a user has not bought, with their blended scores, under the weights on new items and
 * the discount of `key`, per cached user as they are first scored. In the lists with repurchases only
 * these k can rank among the new items, so while a search moves only the weights on own items (the
 * all-mode search of rolling-tune.ts) a re-blend scores the user's own items and offers these.
 */
interface FixedNewItems {
  key: string;
  matrix: BlendMatrix;
  k: number;
  ready: Uint8Array;
  count: Int32Array;
  items: Int32Array;
  scores: Float64Array;
}

function fixedNewItems(cache: BlendCache, matrix: BlendMatrix, config: BlendConfig, k: number): FixedNewItems {
  const key = JSON.stringify([config.weights, config.popularityDiscount ?? 0, config.fullHistoryOrders]);
  const kept = cache.fixedNew;
  if (kept && kept.key === key && kept.matrix === matrix && kept.k === k) return kept;
  const users = cache.users.length;
  cache.fixedNew = { key, matrix, k, ready: new Uint8Array(users), count: new Int32Array(users), items: new Int32Array(users * k), scores: new Float64Array(users * k) };
  return cache.fixedNew;
}

/**
 * Scores of one blend on a split, per mode: mean NDCG@k and recall@k over test users, catalog coverage,
 * and `reach`: the distinct items shown over the most that many lists could show, min(catalogue, k x lists).
 * The two are equal while the lists have more places than the catalogue has items (Online Retail's
 * windows: ~1,000 lists of 10 over ~3,500 items); with a big catalogue and few lists (a large shop,
 * tuned on a sample of its customers) catalog coverage cannot reach a fixed share, and reach can.
 */
export type BlendScores = Record<EvalMode, { ndcg: number; recall: number; coverage: number; reach: number; users: number }>;

function buyersOf(split: EvaluationSplit): Float32Array {
  const buyers = new Float32Array(split.train.itemIds.length);
  for (const i of split.trainMatrix.indices) buyers[i]++;
  return buyers;
}

/**
 * Cached users and their train facts, before any source is added; `discountShare` as the recipe's hybrid
 * has it. When the split holds a sample of a shop's customers (`customerShare` of them, as tuning's), the
 * discount's unit is the whole shop's scaled to the sample, so the sample is discounted as the shop will be
 * even where the shop's unit is held at 1 buyer and the sample's would not be (or the other way round).
 */
export function createBlendCache(
  split: EvaluationSplit,
  discountShare = DEFAULT_DISCOUNT_SHARE,
  customerShare = 1,
  coverageCatalogue?: number,
  coverageLists?: Record<EvalMode, number>,
  listedOnly?: ReadonlySet<number>,
): BlendCache {
  const m = split.trainMatrix;
  const groups = evalGroupsOf(split.train.items);
  const groupKeys = groups && groupKeysOf(groups);
  const test = groups && groupKeys ? groupTestSets(split.test, groups, groupKeys, (u) => m.indices.subarray(m.indptr[u], m.indptr[u + 1])) : split.test;
  // A customer listed for coverage only is cached when they have a novel list to count (as the held-out month counts lists).
  const userSet = new Set<number>([...test.novel.keys(), ...[...test.all.keys()].filter((u) => !listedOnly?.has(u))]);
  const users = [...userSet].sort((a, b) => a - b);
  const only = listedOnly && listedOnly.size > 0 ? Uint8Array.from(users, (u) => (listedOnly.has(u) ? 1 : 0)) : undefined;
  return {
    itemCount: split.train.itemIds.length,
    users,
    orders: Int32Array.from(users, (u) => split.trainOrders[u]),
    trainItems: users.map((u) => m.indices.slice(m.indptr[u], m.indptr[u + 1])),
    relevant: { novel: users.map((u) => test.novel.get(u)), all: users.map((u, j) => (only?.[j] ? undefined : test.all.get(u))) },
    itemBuyers: buyersOf(split),
    discountUnit: discountUnit(discountShare, buyerCount(split.train) / customerShare) * customerShare,
    parts: new Map(),
    groups,
    groupKeys,
    ...(coverageCatalogue !== undefined ? { coverageCatalogue: Math.max(coverageCatalogue, groupKeys?.count ?? split.train.itemIds.length) } : {}),
    ...(coverageLists ? { coverageLists } : {}),
    ...(only ? { listedOnly: only } : {}),
  };
}

/**
 * Scores every cached user with `model`, divides by the user's top score (the hybrid's `max`
 * normalisation) and keeps the `depth` best positive items the user has not bought, and the user's own
 * items it scores positive, as the hybrid's `sourceLimit` takes them. Depth bounds how far down a
 * source's list of new items the blend can reach; a few hundred is plenty for a top 10. The part is not
 * added to `cache.parts`.
 */
export function sourcePart(cache: BlendCache, split: EvaluationSplit, model: Pick<Recommender, 'scoreUser'>, depth = 200): SourcePart {
  const contexts = (cache.contexts ??= userContextsOf(split, cache.users));
  const out = new Float32Array(cache.itemCount);
  const keep = Math.max(0, depth);
  // Users may score fewer than `depth` items: start at 64 a user and grow.
  let items = new Int32Array(Math.max(16, cache.users.length * Math.min(keep, 64)));
  let scores = new Float32Array(items.length);
  const indptr = new Int32Array(cache.users.length + 1);
  const best = new TopKScratch(keep);
  const { heap } = best;
  cache.users.forEach((u, j) => {
    out.fill(0);
    model.scoreUser(contexts.get(u)!, out);
    // The user's own items are kept apart (all of them the source scores), and out of the heap of new ones.
    const own = cache.trainItems[j];
    const ownScores = Float32Array.from(own, (i) => out[i]);
    for (const i of own) out[i] = 0;
    let max = 0;
    for (const v of ownScores) if (v > max) max = v;
    // Below the heap's threshold an item cannot enter (push would reject it): skip the call.
    let floor = heap.threshold;
    for (let i = 0; i < out.length; i++) {
      const v = out[i];
      if (v > 0 && v >= floor) {
        heap.push(i, v);
        floor = heap.threshold;
      }
    }
    const n = best.drain();
    if (n && best.scores[0] > max) max = best.scores[0];
    if (!(max > 0)) max = 1;
    const at = indptr[j];
    items = grownTo(items, at + n + own.length);
    scores = grownTo(scores, at + n + own.length);
    for (let r = 0; r < n; r++) {
      items[at + r] = best.items[r];
      scores[at + r] = best.scores[r] / max;
    }
    let m = at + n;
    own.forEach((i, p) => {
      if (ownScores[p] > 0) {
        items[m] = i;
        scores[m++] = ownScores[p] / max;
      }
    });
    indptr[j + 1] = m;
  });
  const n = indptr[cache.users.length];
  return { indptr, items: items.slice(0, n), scores: scores.slice(0, n) };
}

/** The cache with `parts` only (its users, facts and contexts shared): scoring it leaves the cache's own blend matrix as it is. */
export function withParts(cache: BlendCache, parts: Map<string, SourcePart>): BlendCache {
  return { ...cache, parts, matrix: undefined, fixedNew: undefined, keptSums: undefined };
}

/** The discovery discount for `beta`, computed once per cache. */
function cachedDiscount(cache: BlendCache, beta: number): Float32Array {
  const discounts = (cache.discounts ??= new Map());
  let discount = discounts.get(beta);
  if (!discount) discounts.set(beta, (discount = discoveryDiscount(cache.itemBuyers, beta, cache.discountUnit)));
  return discount;
}

/** What scoreBlend's configuration holds: the hybrid's weights, the discovery discount and the modes to rank. */
export type BlendConfig = Pick<HybridConfig, 'weights' | 'repeatWeights' | 'fullHistoryOrders'> & { popularityDiscount?: number; modes?: readonly EvalMode[] };

/**
 * One mode's measures over a range of cached users, before they are summed: per counted user (in user
 * order) their NDCG@k and recall@k, and the items their lists showed.
 */
export interface ModePart {
  ndcg: Float64Array;
  recall: Float64Array;
  /** The distinct items the lists showed. */
  shown: Int32Array;
  /** The catalogue's size (the shown items' range; what coverage divides by unless `catalogue` says otherwise). */
  itemCount: number;
  /** What coverage and reach divide by when not itemCount (BlendCache.coverageCatalogue). */
  catalogue?: number;
  /**
   * With BlendCache.coverageLists: the lists every customer would get (the same in every part of a split), and per
   * shown item (as `shown`) how many of these parts' lists showed it, from which mergeBlendParts extrapolates.
   */
  lists?: number;
  incidence?: Int32Array;
  /** With BlendCache.listedOnly: the lists made for coverage only (shown items in `shown`, no NDCG or recall). */
  listedOnly?: number;
}

/** scoreBlendRange's result: the measures of the users in [from, to), per mode. */
export type BlendPart = Record<EvalMode, ModePart>;

/**
 * Blends the cached parts with a hybrid configuration (weights interpolated by order count as in
 * hybrid.ts, repeatWeights on the user's own items) and measures NDCG@k, recall@k and catalog coverage per mode. Scores are accumulated in
 * float32 in the order of blendWeights. This is the tuner's model of the hybrid, not a copy: the cached
 * ALS part ranks the whole catalogue where the hybrid's ranks the other sources' candidates, and the
 * hybrid sums ALS last, rounds each weighted part and discounts parts rather than the sum.
 */
export function scoreBlend(cache: BlendCache, config: BlendConfig, k = 10): BlendScores {
  return mergeBlendParts([scoreBlendRange(cache, config, k, 0, cache.users.length)], cache.groupKeys?.count ?? cache.itemCount, k);
}

/** How `now` differs from the summation a user's sums were kept with (OTHER when none were), compared once per kept summation. */
function sumsDiffer(then: Summation | undefined, now: Summation, plans: Map<Summation, number>): number {
  if (!then) return OTHER;
  let diff = plans.get(then);
  if (diff === undefined) plans.set(then, (diff = differingColumn(then, now)));
  return diff;
}

/**
 * Candidate c's blended sum under `now`: the kept one when `now` sums it alike (SAME, or the one column that
 * differs scores it 0), else summed, and kept when the user's sums are made anew (OTHER).
 */
function keptSum(kept: KeptSums, m: BlendMatrix, c: number, width: number, now: Summation, diff: number): number {
  if (diff === SAME || (diff !== OTHER && m.scores[c * width + diff] === 0)) return kept.sums[c - kept.base];
  const s = weightedSum(m.scores, c * width, now);
  if (diff === OTHER) kept.sums[c - kept.base] = s;
  return s;
}

/**
 * scoreBlend's measures of the cached users in [from, to) only. Threads that each score one range of a
 * fold's users and mergeBlendParts of their parts in user order give exactly scoreBlend's scores.
 */
export function scoreBlendRange(cache: BlendCache, config: BlendConfig, k: number, from: number, to: number): BlendPart {
  // A mode left out is not ranked (its scores are 0); the other's lists are built exactly as with both.
  const scoreNovel = !config.modes || config.modes.includes('novel');
  const scoreAll = !config.modes || config.modes.includes('all');
  if (!matrixMatches(cache.matrix, cache.parts)) cache.matrix = buildBlendMatrix(cache.parts, cache.users.length, cache.trainItems, cache.itemCount);
  const m = cache.matrix!;
  const width = m.sources.length;
  const column = new Map(m.sources.map((s, c) => [s, c]));
  const beta = config.popularityDiscount ?? 0;
  const discount = beta > 0 ? cachedDiscount(cache, beta) : null;
  const fullConfig = { ...config, normalisation: 'max', rankDepth: 200 } as HybridConfig;
  const kept = (cache.keptSums = KeptSums.of(cache.keptSums, m, from, to));
  // Each kept summation compared once per blend: users of one history length share it.
  const newPlans = new Map<Summation, number>();
  const ownPlans = new Map<Summation, number>();
  // Per history length, the summations of new and of own items (only the sources weighted on them, in the hybrid's order).
  const weightCache = new Map<number, { novel: Summation; own: Summation }>();
  const users = Math.max(0, to - from);
  // With groups, relevance and coverage count groups (their keys); otherwise items.
  const key = cache.groupKeys?.key;
  const shownCount = cache.groupKeys?.count ?? cache.itemCount;
  const out: Record<EvalMode, ModeSums> = { novel: new ModeSums(users, novelShown(shownCount), key), all: new ModeSums(users, allShown(shownCount), key) };
  const groupOf = cache.groups?.of;
  const top = { novel: new TopList(k, groupOf), all: new TopList(k, groupOf) };
  // The novel lists leave out the groups of what the user bought (the fixed lists below feed the lists with repurchases: not them).
  const bought = cache.groups ? new GroupSet(cache.groups.count) : undefined;
  const gains = rankGains(k);
  // A search of the weights on own items scores the lists with repurchases alone, under fixed weights on new items.
  const fixed = scoreAll && !scoreNovel && k > 0 ? fixedNewItems(cache, m, config, k) : null;
  for (let j = from; j < to; j++) {
    const novel = scoreNovel ? cache.relevant.novel[j] : undefined;
    const all = scoreAll ? cache.relevant.all[j] : undefined;
    if (!novel && !all) continue;
    const orders = cache.orders[j];
    let weighted = weightCache.get(orders);
    if (!weighted) {
      // The hybrid's order of summation: sources weighted on new items, then those only on own items.
      const names = blendedSources(fullConfig, orders).filter((name) => column.has(name));
      const novelWeights = blendWeights(fullConfig, orders);
      const ownWeights = repeatBlendWeights(fullConfig, orders);
      const cols = Int32Array.from(names, (name) => column.get(name)!);
      weighted = {
        novel: summationOf(cols, Float64Array.from(names, (name) => novelWeights[name] ?? 0)),
        own: summationOf(cols, Float64Array.from(names, (name) => ownWeights[name] ?? 0)),
      };
      weightCache.set(orders, weighted);
    }
    const { novel: ws, own } = weighted;
    // How this blend's sums differ from those kept for the user: SAME, in one column only, or OTHER (summed anew and kept).
    const slot = j - from;
    const newDiff = sumsDiffer(kept.newBy[slot], ws, newPlans);
    const ownDiff = sumsDiffer(kept.ownBy[slot], own, ownPlans);
    // Sums made anew belong to no summation until all of the user's are made (a failure half way leaves none kept).
    if (newDiff === OTHER && !fixed) kept.newBy[slot] = undefined;
    if (ownDiff === OTHER && (fixed || all)) kept.ownBy[slot] = undefined;
    top.novel.clear();
    top.all.clear();
    if (fixed) {
      // Only the lists with repurchases: the user's new items come from their fixed top k.
      const at = j * k;
      if (!fixed.ready[j]) {
        for (let c = m.indptr[j]; c < m.indptr[j + 1]; c++) {
          if (m.owned[c]) continue;
          let s = weightedSum(m.scores, c * width, ws);
          if (!(s > 0)) continue;
          if (discount) s = Math.fround(s * discount[m.items[c]]);
          if (s > 0) top.novel.offer(m.items[c], s);
        }
        fixed.count[j] = top.novel.n;
        for (let r = 0; r < top.novel.n; r++) [fixed.items[at + r], fixed.scores[at + r]] = top.novel.at(r);
        fixed.ready[j] = 1;
      }
      for (let c = m.indptr[j]; c < m.indptr[j + 1]; c++) {
        if (!m.owned[c]) continue;
        const s = keptSum(kept, m, c, width, own, ownDiff);
        if (s > 0) top.all.offer(m.items[c], s);
      }
      if (ownDiff === OTHER) kept.ownBy[slot] = own;
      for (let r = 0; r < fixed.count[j]; r++) top.all.offer(fixed.items[at + r], fixed.scores[at + r]);
      out.all.add(top.all, all!, k, gains);
      continue;
    }
    if (bought && novel) {
      bought.clear();
      for (const i of cache.trainItems[j]) bought.add(groupOf![i]);
      top.novel.blocked = bought;
    }
    for (let c = m.indptr[j]; c < m.indptr[j + 1]; c++) {
      // Own items are ranked only in the lists with repurchases.
      if (!all && m.owned[c]) continue;
      let s = m.owned[c] ? keptSum(kept, m, c, width, own, ownDiff) : keptSum(kept, m, c, width, ws, newDiff);
      if (!(s > 0)) continue;
      const item = m.items[c];
      if (m.owned[c]) {
        if (all) top.all.offer(item, s);
        continue;
      }
      // The hybrid discounts items outside the user's history (its sum is linear, so once here is the same).
      if (discount) s = Math.fround(s * discount[item]);
      if (!(s > 0)) continue;
      if (all) top.all.offer(item, s);
      if (novel) top.novel.offer(item, s);
    }
    if (newDiff === OTHER) kept.newBy[slot] = ws;
    if (all && ownDiff === OTHER) kept.ownBy[slot] = own;
    if (novel && cache.listedOnly?.[j]) out.novel.list(top.novel);
    else if (novel) out.novel.add(top.novel, novel, k, gains);
    if (all) out.all.add(top.all, all, k, gains);
  }
  // Coverage's denominator travels with the parts (fold threads merge them without the cache).
  const catalogue = cache.coverageCatalogue !== undefined ? { catalogue: cache.coverageCatalogue } : {};
  const lists = cache.coverageLists;
  return { novel: { ...out.novel.part(lists?.novel), ...catalogue }, all: { ...out.all.part(lists?.all), ...catalogue } };
}

/**
 * The scores of parts that together cover a cache's users, given in user order: each mode's NDCG and
 * recall summed user by user in that order (so the sums are the same however the users were split),
 * divided by the users counted; coverage over the union of the items shown.
 */
export function mergeBlendParts(parts: readonly BlendPart[], itemCount: number, k: number): BlendScores {
  const result = {} as BlendScores;
  for (const mode of ['novel', 'all'] as const) {
    let ndcg = 0;
    let recall = 0;
    let n = 0;
    // Lists counted in coverage and reach: the users counted, and those listed for coverage only (BlendCache.listedOnly).
    let listed = 0;
    const seen = mergedShown(itemCount);
    for (const part of parts) {
      const p = part[mode];
      for (let u = 0; u < p.ndcg.length; u++) {
        ndcg += p.ndcg[u];
        recall += p.recall[u];
      }
      n += p.ndcg.length;
      listed += p.ndcg.length + (p.listedOnly ?? 0);
      for (const i of p.shown) seen.add(i);
    }
    // The catalogue counted: the parts' (tuning's folds: the served model's, coverage-catalogue.ts), else the shown items' range.
    const catalogue = parts[0]?.[mode].catalogue ?? itemCount;
    // tune.coverageEstimate `extrapolated`: the distinct items of every customer's lists, from these lists' (coverage-estimate.ts).
    const lists = parts[0]?.[mode].lists;
    const distinct = lists === undefined ? seen.size : extrapolatedDistinct(incidenceOf(parts, mode, itemCount, n), Math.max(lists, n), catalogue);
    result[mode] = {
      ndcg: n ? ndcg / n : 0,
      recall: n ? recall / n : 0,
      coverage: catalogue > 0 ? distinct / catalogue : 0,
      reach: reachOf(distinct, catalogue, k, lists === undefined ? listed : Math.max(lists, n)),
      users: n,
    };
  }
  return result;
}

/** The parts' lists of one mode as coverage-estimate.ts counts them: how many, the distinct items shown, those shown by exactly one and two lists. */
function incidenceOf(parts: readonly BlendPart[], mode: EvalMode, itemCount: number, lists: number) {
  const times = new Int32Array(itemCount);
  for (const part of parts) {
    const { shown, incidence } = part[mode];
    if (!incidence) throw new Error('a part without its lists\' incidence cannot be extrapolated');
    for (let p = 0; p < shown.length; p++) times[shown[p]] += incidence[p];
  }
  let distinct = 0;
  let once = 0;
  let twice = 0;
  for (const t of times) {
    if (t > 0) distinct++;
    if (t === 1) once++;
    else if (t === 2) twice++;
  }
  return { lists, distinct, once, twice };
}

/** ndcgAt's gain of each rank below k, 1 / log2(r + 2), and the ideal DCG of the first n ranks (summed in the same order). */
function rankGains(k: number): { gain: Float64Array; ideal: Float64Array } {
  const n = Math.max(k, 0);
  const gain = new Float64Array(n);
  const ideal = new Float64Array(n + 1);
  for (let r = 0; r < n; r++) {
    gain[r] = 1 / Math.log2(r + 2);
    ideal[r + 1] = ideal[r] + gain[r];
  }
  return { gain, ideal };
}

/**
 * One mode's per-user NDCG@k and recall@k of top lists, and the items the lists showed: the same values
 * as ndcgAt and recallAt (metrics.ts), without a ranked array per user and mode. With `key`, each listed item
 * counts as its key (its group's) both in relevance and in what was shown.
 */
class ModeSums {
  private readonly ndcg: Float64Array;
  private readonly recall: Float64Array;
  private n = 0;
  private listed = 0;
  constructor(
    users: number,
    private readonly shown: ShownItems,
    private readonly key?: Int32Array,
  ) {
    this.ndcg = new Float64Array(users);
    this.recall = new Float64Array(users);
  }

  add(top: TopList, relevant: ReadonlySet<number>, k: number, gains: { gain: Float64Array; ideal: Float64Array }): void {
    let dcg = 0;
    let hits = 0;
    for (let r = 0; r < top.n; r++) {
      const item = this.key ? this.key[top.item[r]] : top.item[r];
      this.shown.add(item);
      if (relevant.has(item)) {
        dcg += gains.gain[r];
        hits++;
      }
    }
    // A user without relevant items counts with 0 (adding 0 leaves a sum exactly as it was).
    if (k > 0 && relevant.size > 0) {
      const ideal = Math.min(k, relevant.size);
      this.ndcg[this.n] = dcg / gains.ideal[ideal];
      this.recall[this.n] = hits / ideal;
    }
    this.n++;
  }

  /** A list counted in what was shown only (BlendCache.listedOnly): no NDCG, recall or user. */
  list(top: TopList): void {
    for (let r = 0; r < top.n; r++) this.shown.add(this.key ? this.key[top.item[r]] : top.item[r]);
    this.listed++;
  }

  /** With `lists` (BlendCache.coverageLists), the part carries them and the incidence of each shown item. */
  part(lists?: number): ModePart {
    const part = { ndcg: this.ndcg.slice(0, this.n), recall: this.recall.slice(0, this.n), shown: this.shown.items(), itemCount: this.shown.itemCount, ...(this.listed > 0 ? { listedOnly: this.listed } : {}) };
    return lists === undefined ? part : { ...part, lists, incidence: this.shown.incidence() };
  }
}

/** Distinct items, marked in a catalogue-sized mask that is cleared through their list. */
class ShownItems {
  private readonly mask: Uint8Array;
  /** Per item, how many times add() was called with it since the last clear (each list adds an item once). */
  private readonly times: Int32Array;
  private list = new Int32Array(64);
  private n = 0;
  constructor(readonly itemCount: number) {
    this.mask = new Uint8Array(itemCount);
    this.times = new Int32Array(itemCount);
  }

  get size(): number {
    return this.n;
  }

  add(item: number): void {
    this.times[item]++;
    if (this.mask[item] === 1) return;
    this.mask[item] = 1;
    this.list = grownTo(this.list, this.n + 1);
    this.list[this.n++] = item;
  }

  items(): Int32Array {
    return this.list.slice(0, this.n);
  }

  /** How many times each of items() was added, in the same order. */
  incidence(): Int32Array {
    return Int32Array.from(this.list.subarray(0, this.n), (i) => this.times[i]);
  }

  clear(): void {
    for (let p = 0; p < this.n; p++) {
      this.mask[this.list[p]] = 0;
      this.times[this.list[p]] = 0;
    }
    this.n = 0;
  }
}

/**
 * A call site's set over a catalogue of `itemCount` items, for this thread, handed out emptied (also of what
 * a failed scoring left in it): a blend search scores thousands of blends, and a fresh catalogue-sized mask
 * per blend, mode and fold was most of what a 16x tuning allocated. Each site holds its own, as scratchSite's.
 */
function shownSite(): (itemCount: number) => ShownItems {
  const byCount = new Map<number, ShownItems>();
  return (itemCount) => {
    let set = byCount.get(itemCount);
    if (!set) byCount.set(itemCount, (set = new ShownItems(itemCount)));
    set.clear();
    return set;
  };
}

const novelShown = shownSite();
const allShown = shownSite();
const mergedShown = shownSite();

/** The k best (item, score) pairs offered, best first; ties go to the lower item index (as topK). */
class TopList {
  /** Items of the list, best first: the first `n` are valid. */
  readonly item: Int32Array;
  private readonly score: Float64Array;
  n = 0;
  /** Groups none of whose items is listed (with `groupOf`); cleared by clear(). */
  blocked: GroupSet | undefined;
  /** With `groupOf` (each item's product group, -1: its own), one item per group: its best-ranked. */
  constructor(
    private readonly k: number,
    private readonly groupOf?: Int32Array,
  ) {
    this.item = new Int32Array(k);
    this.score = new Float64Array(k);
  }
  clear(): void {
    this.n = 0;
    this.blocked = undefined;
  }
  /** The r-th best (item, score), r < n. */
  at(r: number): [number, number] {
    return [this.item[r], this.score[r]];
  }
  offer(item: number, s: number): void {
    const { k, score, item: items } = this;
    if (k === 0) return;
    // Ranks below the offer: a lower score, or an equal score on a higher item index. Written out, not
    // as a closure: this runs for every candidate of every re-blend.
    if (this.n === k && !(score[k - 1] < s || (score[k - 1] === s && items[k - 1] > item))) return;
    if (this.groupOf !== undefined) {
      const g = this.groupOf[item];
      if (this.blocked?.has(g)) return;
      const slot = groupSlot(item, s, g, this.groupOf, items, score, this.n);
      if (slot < 0) return;
      // A worse item of its group gives up its place: the offer is inserted as into a list one shorter.
      if (slot < this.n) {
        items.copyWithin(slot, slot + 1, this.n);
        score.copyWithin(slot, slot + 1, this.n);
        this.n--;
      }
    }
    let p = this.n === k ? k - 1 : this.n++;
    while (p > 0 && (score[p - 1] < s || (score[p - 1] === s && items[p - 1] > item))) {
      items[p] = items[p - 1];
      score[p] = score[p - 1];
      p--;
    }
    items[p] = item;
    score[p] = s;
  }
}

/** Distinct items shown by `lists` top-k lists over a catalogue of `items`, as a share of the most they could show. */
function reachOf(distinct: number, items: number, k: number, lists: number): number {
  const most = Math.min(items, k * lists);
  return most > 0 ? distinct / most : 0;
}
