import type { HybridConfig } from '../recommenders/hybrid.js';
import type { Recommender } from '../recommenders/recommender.js';
import { recommenderFactory } from '../recommenders/registry.js';
import { createBlendCache, scoreBlend, scoreBlendRange, sourcePart, withParts, type BlendCache, type BlendPart, type BlendScores, type SourcePart } from './blend-cache.js';
import { selectPurchases } from './purchase-columns.js';
import { makeSplit } from './run-evaluation.js';
import { purchasesOf, type EvalMode, type EvaluationSplit, type SplitInput } from './splits.js';
import { objective } from './tune.js';
import type { CoverageEstimateRule } from './coverage-estimate.js';
import { evalGroupsOf, groupKeysOf, groupTestSets } from './eval-groups.js';

/** What defines one rolling-origin fold and how its blends are scored. */
export interface FoldSpec {
  /** Exclusive end of the fold's validation window (ISO). */
  end: string;
  days: number;
  k: number;
  fullHistoryOrders: number;
  /** Items kept per source and validation user. */
  depth: number;
  /** The recipe hybrid's discountShare (default: the hybrid's default). */
  discountShare?: number;
  /** The share of the shop's customers the input holds when it is a sample of them (default 1); see createBlendCache. */
  customerShare?: number;
  /**
   * When tuning scores a sample of the shop's customers: their ids. The input then holds every customer's
   * purchases; the fold's sources learn from all of those before its window (see POPULATION_FITTED) and
   * only these customers are validated (the blend cache's users, contexts and relevant sets).
   */
  scored?: readonly string[];
  /**
   * What novel coverage and reach divide by (BlendCache.coverageCatalogue): tuning passes the catalogue the served
   * model will have (coverage-catalogue.ts), so the windows count coverage as the served lists are counted.
   * Absent: the fold's own train catalogue.
   */
  coverageCatalogue?: number;
  /**
   * With `scored` (tune.keepOn `left-out`): customers disjoint from `scored` the fold also validates, apart, for the
   * keep rule (tuning-sample.ts CustomerSample.leftOut). No source is fitted for them: each candidate fitted on the
   * fold is scored once more on them (RollingFold.scoreLeftOut), a population-fitted one as it scores the sample, one
   * fitted on the sample's purchases as a model scores a customer it was not trained on (from their purchases).
   */
  leftOut?: readonly string[];
  /**
   * tune.coverageEstimate (coverage-estimate.ts): `extrapolated` counts coverage and reach as every customer's lists of
   * the window would reach them (those of `scored`'s whole input, or the sample scaled by 1 / customerShare),
   * extrapolated from the validated customers' lists. `every-customer` (with `scored`) counts them: every customer of the
   * window the sample left out is listed too (BlendCache.listedOnly), their lists re-blended with every trial and counted
   * in novel coverage and reach only. Absent or `sample`: the validated customers' lists as they are.
   */
  coverageEstimate?: CoverageEstimateRule;
}

/**
 * The recommenders a fold of a sampled tuning fits on every customer's purchases before its window
 * (FoldSpec.scored): those that learn item-item or item statistics from the whole shop's purchases
 * (EASE's Gram matrix, item-kNN's similarities, co-purchase counts, popularity, and so trend: a
 * popularity source with a shorter half-life), which a few thousand customers' purchases misjudge (bench/README, "Tuning that fits on the whole shop"). The
 * others (ALS, content, buy-again, repurchase, user-kNN) are fitted on the scored customers' purchases
 * only, as before: ALS's alternating solves cost customers x factors^3 per iteration (about 5 minutes
 * for one fit at 420,000 customers), so fitting it per fold and candidate on everyone would multiply
 * tuning's time; buy-again and repurchase score a customer's own items, and content, item attributes.
 */
export const POPULATION_FITTED: ReadonlySet<string> = new Set(['ease', 'item-knn', 'cooccurrence', 'popularity']);

/** A fold's split, as the tuner reports it. */
export interface FoldInfo {
  start: number;
  end: number;
  trainEvents: number;
  /** Validation customers (who bought anything in the window, repurchases included). */
  users: number;
  /** Of them, those who bought something they had not bought before the window (the novel lists' customers). */
  novelUsers: number;
  /** With FoldSpec.leftOut: the same two counts of the left-out customers. */
  leftOut?: { users: number; novelUsers: number };
  /**
   * With coverageEstimate `every-customer`: the customers of the window the sample left out whose novel lists are made
   * for coverage only. The fold's cached users (what a thread's share of it ranges over) are `users` + these.
   */
  listedOnly?: number;
}

/** A candidate's lists on a fold: for the scored customers and, with FoldSpec.leftOut, for the left-out ones. */
export interface CandidateParts {
  part: SourcePart;
  leftOutPart?: SourcePart;
}

/** A blend to score on a fold. */
export type FoldBlend = Pick<HybridConfig, 'weights' | 'repeatWeights'> & { popularityDiscount?: number; modes?: readonly EvalMode[] };

/**
 * One rolling-origin fold: its split and blend cache, the source candidates fitted on it and the
 * blends scored on it. Everything a fold does depends only on its own split and the requests it gets
 * in order, so a fold gives the same numbers in this thread or in a worker thread (fold-worker.ts).
 */
export class RollingFold {
  /** The fold's split: train before the validation window, test inside it. */
  readonly split: EvaluationSplit;
  readonly cache: BlendCache;
  /** Parts of the candidates fitted for the source being tuned, by candidate index, until one is kept. */
  private readonly candidates = new Map<string, SourcePart[]>();

  /** With FoldSpec.scored: the input, to draw the scored customers' purchases from when a source is fitted on them. */
  private readonly input?: SplitInput;
  /** With FoldSpec.scored: the split of the scored customers' purchases only, made when a source first needs it. */
  private sampled?: SampledFold;
  /** With FoldSpec.leftOut: the split validating the left-out customers only (its train is everyone's) and its cache. */
  private readonly leftOut?: { split: EvaluationSplit; cache: BlendCache };
  /** Their parts of the candidates fitted, by candidate index, until one is kept (as `candidates`). */
  private readonly leftOutCandidates = new Map<string, SourcePart[]>();
  /**
   * With coverageEstimate `every-customer` and `scored`: the split of the customers listed for coverage only (the
   * cache's listedOnly users, in the same order), to score the sample-fitted sources for them as for unknown customers.
   */
  private readonly listed?: { split: EvaluationSplit; cache: BlendCache };

  constructor(
    input: SplitInput,
    private readonly spec: FoldSpec,
    built: FoldState = buildFold(input, spec),
  ) {
    this.split = built.split;
    this.cache = built.cache;
    if (spec.scored) this.input = input;
    if (built.leftOut) this.leftOut = built.leftOut;
    if (built.listed) this.listed = built.listed;
  }

  /**
   * What the fold was built into from its input, before any candidate was fitted: another thread given it (as
   * a structured clone) makes the same fold with `new RollingFold(input, spec, state)` without splitting the
   * purchases again (fold-pool.ts). Asked before the first fit: the fits add to the caches.
   */
  state(): FoldState {
    return { split: this.split, cache: this.cache, ...(this.leftOut ? { leftOut: this.leftOut } : {}), ...(this.listed ? { listed: this.listed } : {}) };
  }

  info(): FoldInfo {
    const counted = (cache: BlendCache, j: number) => !cache.listedOnly?.[j];
    const novelUsers = (cache: BlendCache) => cache.relevant.novel.reduce((n, r, j) => n + (r && r.size > 0 && counted(cache, j) ? 1 : 0), 0);
    const leftOut = this.leftOut ? { leftOut: { users: this.leftOut.cache.users.length, novelUsers: novelUsers(this.leftOut.cache) } } : {};
    const listedOnly = this.cache.listedOnly?.reduce((n, x) => n + x, 0) ?? 0;
    const users = this.cache.users.length - listedOnly;
    return { start: this.split.cutoff!, end: this.split.testEnd!, trainEvents: this.split.train.eventUser.length, users, novelUsers: novelUsers(this.cache), ...leftOut, ...(this.listed ? { listedOnly } : {}) };
  }

  /** Fits source `name` with candidate hyperparameters (recipe JSON) and returns the objective of that source alone. */
  fit(name: string, recommender: string, candidate: Record<string, unknown>, index: number): number {
    const factory = recommenderFactory(recommender)!;
    const params = factory.parseParams(candidate);
    let part: SourcePart;
    // The model as it scores the left-out customers (FoldSpec.leftOut): fitted without them either way.
    let forLeftOut: Pick<Recommender, 'scoreUser'>;
    if (this.input && !POPULATION_FITTED.has(recommender)) {
      const s = (this.sampled ??= sampledFold(this.input, this.spec, this.cache, this.split));
      const model = factory.fit(s.split.train, params);
      part = remapPart(sourcePart(s.cache, s.split, model, this.spec.depth), s, this.cache.users.length);
      forLeftOut = this.leftOut || this.listed ? asUnknownCustomers(model, s, this.cache.itemCount) : model;
      // The customers listed for coverage only, as the left-out ones: scored by the sample's model from their purchases.
      // A window where no customer the sample left out bought something new lists no one (the cache marks no one).
      if (this.listed && this.cache.listedOnly) part = withRowsOf(part, sourcePart(this.listed.cache, this.listed.split, forLeftOut, this.spec.depth), this.cache.listedOnly);
      // Contexts of the sample's split are done with once every candidate is fitted (as keep() says of the fold's own).
    } else {
      const model = factory.fit(this.split.train, params);
      part = sourcePart(this.cache, this.split, model, this.spec.depth);
      forLeftOut = model;
    }
    const leftOutPart = this.leftOut ? sourcePart(this.leftOut.cache, this.leftOut.split, forLeftOut, this.spec.depth) : undefined;
    this.install(name, index, { part, ...(leftOutPart ? { leftOutPart } : {}) });
    // Scored alone on a view of the cache holding only this part: the lists are those of the full blend
    // with weight on this source only, and the fold's blend matrix is not rebuilt. Blends go on scoring
    // the part kept before (if any) until keep() says which candidate stays, so a fold's blends do not
    // depend on which candidates were fitted on this copy of it.
    const view = withParts(this.cache, new Map([[name, part]]));
    const blend = { weights: { cold: { [name]: 1 }, warm: { [name]: 1 } }, fullHistoryOrders: this.spec.fullHistoryOrders };
    return objective(scoreBlend(view, blend, this.spec.k));
  }

  /** The part candidate `index` of source `name` gave on this fold. */
  candidatePart(name: string, index: number): SourcePart {
    const part = this.candidates.get(name)?.[index];
    if (!part) throw new Error(`fold has no candidate ${index} of ${name}`);
    return part;
  }

  /** The parts candidate `index` of source `name` gave on this fold, with the left-out customers' (to install them in a copy of the fold elsewhere). */
  candidateParts(name: string, index: number): CandidateParts {
    const leftOutPart = this.leftOutCandidates.get(name)?.[index];
    return { part: this.candidatePart(name, index), ...(leftOutPart ? { leftOutPart } : {}) };
  }

  /** Adds a candidate's parts fitted on a copy of this fold (the same split) as if fit() had made them here. */
  install(name: string, index: number, { part, leftOutPart }: CandidateParts): void {
    const parts = this.candidates.get(name) ?? [];
    parts[index] = part;
    this.candidates.set(name, parts);
    if (!this.leftOut) return;
    if (!leftOutPart) throw new Error(`candidate ${index} of ${name} came without its lists for the left-out customers`);
    const leftOutParts = this.leftOutCandidates.get(name) ?? [];
    leftOutParts[index] = leftOutPart;
    this.leftOutCandidates.set(name, leftOutParts);
  }

  /** Keeps candidate `index` of source `name` in the blend and drops the others. */
  keep(name: string, index: number): void {
    this.cache.parts.set(name, this.candidates.get(name)![index]);
    this.candidates.delete(name);
    if (this.leftOut) {
      this.leftOut.cache.parts.set(name, this.leftOutCandidates.get(name)![index]);
      this.leftOutCandidates.delete(name);
      this.leftOut.cache.contexts = undefined;
    }
    // Tuning asks for every fit before the first keep, so the validation contexts are done with (a fit
    // after this would build them again).
    this.cache.contexts = undefined;
    if (this.listed) this.listed.cache.contexts = undefined;
    this.sampled = undefined;
  }

  score(blend: FoldBlend): BlendScores {
    return scoreBlend(this.cache, { ...blend, fullHistoryOrders: this.spec.fullHistoryOrders }, this.spec.k);
  }

  /** score()'s measures of the validation users in [from, to) of cache.users, to be merged with the rest (mergeBlendParts). */
  scoreRange(blend: FoldBlend, from: number, to: number): BlendPart {
    return scoreBlendRange(this.cache, { ...blend, fullHistoryOrders: this.spec.fullHistoryOrders }, this.spec.k, from, to);
  }

  /** The blend's scores on the left-out customers (FoldSpec.leftOut), with the candidates kept for the sample. */
  scoreLeftOut(blend: FoldBlend): BlendScores {
    return scoreBlend(this.leftOutCache(), { ...blend, fullHistoryOrders: this.spec.fullHistoryOrders }, this.spec.k);
  }

  /** scoreLeftOut()'s measures of the left-out users in [from, to), to be merged with the rest (mergeBlendParts). */
  scoreLeftOutRange(blend: FoldBlend, from: number, to: number): BlendPart {
    return scoreBlendRange(this.leftOutCache(), { ...blend, fullHistoryOrders: this.spec.fullHistoryOrders }, this.spec.k, from, to);
  }

  private leftOutCache(): BlendCache {
    if (!this.leftOut) throw new Error('this fold validates no left-out customers (FoldSpec.leftOut)');
    return this.leftOut.cache;
  }
}

/** A fold as built from its input and spec (RollingFold.state): plain data, so a structured clone of it is the same fold. */
export interface FoldState {
  split: EvaluationSplit;
  cache: BlendCache;
  leftOut?: { split: EvaluationSplit; cache: BlendCache };
  listed?: { split: EvaluationSplit; cache: BlendCache };
}

/** Splits the input as fold `spec` says and makes its blend caches: the most of a fold's cost that grows with the purchases. */
function buildFold(input: SplitInput, spec: FoldSpec): FoldState {
  const split = makeSplit(input, { kind: 'validation', days: spec.days, end: spec.end });
  const foldSplit = spec.scored ? scoredOnly(split, new Set(spec.scored)) : split;
  const lists = spec.coverageEstimate === 'extrapolated' ? everyCustomersLists(split, spec.scored ? 1 : (spec.customerShare ?? 1)) : undefined;
  let cache: BlendCache;
  let listed: FoldState['listed'];
  if (spec.scored && spec.coverageEstimate === 'every-customer') {
    // Every customer of the window is cached; those the sample left out only for their novel lists' coverage.
    const scored = new Set(spec.scored);
    const ids = split.train.userIds;
    const others = new Set([...split.test.novel.keys()].filter((u) => !scored.has(ids[u])));
    const withOthers = { ...split, test: { novel: split.test.novel, all: foldSplit.test.all } };
    cache = createBlendCache(withOthers, spec.discountShare, spec.customerShare, spec.coverageCatalogue, undefined, others);
    // Their novel purchases only: with product groups a customer whose new products are all of groups they bought has no
    // novel list, and is listed in neither cache (the fold's caches them by their novel lists alone).
    const listedSplit = { ...split, test: { novel: new Map([...split.test.novel].filter(([u]) => others.has(u))), all: new Map<number, ReadonlySet<number>>() } };
    listed = { split: listedSplit, cache: createBlendCache(listedSplit, spec.discountShare, spec.customerShare) };
    const marked = cache.listedOnly?.reduce((n, x) => n + x, 0) ?? 0;
    if (marked !== listed.cache.users.length) throw new Error(`fold lists ${marked} customers for coverage only but their own split holds ${listed.cache.users.length}`);
  } else cache = createBlendCache(foldSplit, spec.discountShare, spec.customerShare, spec.coverageCatalogue, lists);
  let leftOut: FoldState['leftOut'];
  if (spec.scored && spec.leftOut) {
    // The left-out customers are another sample of the same window's customers: with coverageEstimate `extrapolated`
    // their lists are extrapolated to the same every customer's lists as the sample's, so the keep rule judges on
    // the measure the search used (keep-on-coverage-estimate.test.ts).
    const leftOutSplit = scoredOnly(split, new Set(spec.leftOut));
    leftOut = { split: leftOutSplit, cache: createBlendCache(leftOutSplit, spec.discountShare, spec.customerShare, spec.coverageCatalogue, lists) };
  }
  return { split: foldSplit, cache, ...(leftOut ? { leftOut } : {}), ...(listed ? { listed } : {}) };
}

/**
 * A model fitted on the sampled fold (its users and items), as it scores a customer it was not trained on (a
 * left-out one, FoldSpec.leftOut), laid out by the fold's items: their purchases of the items the sample bought, as
 * serving scores a new customer (user -1: ALS folds them in from their purchases; buy-again, repurchase and content
 * read the purchases alone). No fit.
 */
function asUnknownCustomers(model: Recommender, s: SampledFold, foldItems: number): Pick<Recommender, 'scoreUser'> {
  const toSampled = new Int32Array(foldItems).fill(-1);
  s.item.forEach((foldItem, j) => (toSampled[foldItem] = j));
  const scratch = new Float32Array(s.item.length);
  return {
    scoreUser(ctx, out) {
      const history = ctx.history.flatMap((h) => (toSampled[h.item] < 0 ? [] : [{ ...h, item: toSampled[h.item] }]));
      model.scoreUser({ ...ctx, user: -1, history }, scratch);
      out.fill(0);
      for (let j = 0; j < scratch.length; j++) out[s.item[j]] = scratch[j];
    },
  };
}

/**
 * Per mode, the lists a split's validation customers get (as a blend cache counts them: with product groups, the
 * customers with a group they had not bought, in mode novel), divided by `share` when the split holds that share of
 * the shop's customers.
 */
function everyCustomersLists(split: EvaluationSplit, share: number): Record<EvalMode, number> {
  const m = split.trainMatrix;
  const groups = evalGroupsOf(split.train.items);
  const keys = groups && groupKeysOf(groups);
  const test = groups && keys ? groupTestSets(split.test, groups, keys, (u) => m.indices.subarray(m.indptr[u], m.indptr[u + 1])) : split.test;
  const scale = share > 0 && share < 1 ? 1 / share : 1;
  return { novel: Math.round(test.novel.size * scale), all: Math.round(test.all.size * scale) };
}

/**
 * The split with only the scored customers' validation purchases (its train is everyone's): the blend
 * cache made of it validates those customers alone.
 */
function scoredOnly(split: EvaluationSplit, scored: ReadonlySet<string>): EvaluationSplit {
  const ids = split.train.userIds;
  const only = (m: Map<number, ReadonlySet<number>>) => new Map([...m].filter(([u]) => scored.has(ids[u])));
  return { ...split, test: { novel: only(split.test.novel), all: only(split.test.all) } };
}

/** A fold of the scored customers' purchases only, and how its users and items map onto the fold's. */
interface SampledFold {
  split: EvaluationSplit;
  cache: BlendCache;
  /** Per user of the fold's cache (by position): the position of the same customer in this cache, or -1. */
  row: Int32Array;
  /** Per item of this split's train catalog: the fold's index of it. */
  item: Int32Array;
}

/**
 * The scored customers' purchases split as the fold is, with a blend cache over its validation users.
 * Its train catalog holds the items they bought, all in the fold's catalog (the fold trains on a superset),
 * so each maps onto it; a customer the fold validates but this split does not (one whose window purchases
 * are only of items no scored customer bought before) gets no items from the sources fitted here.
 */
function sampledFold(input: SplitInput, spec: FoldSpec, fold: BlendCache, foldSplit: EvaluationSplit): SampledFold {
  const c = purchasesOf(input);
  const scored = new Set(spec.scored);
  const keepUser = Uint8Array.from(c.userIds, (id) => (scored.has(id) ? 1 : 0));
  const keep = new Uint8Array(c.length);
  for (let i = 0; i < c.length; i++) keep[i] = keepUser[c.user[i]];
  const users = input.users ? { users: [...input.users].filter((u) => scored.has(u.id)) } : {};
  const split = makeSplit({ purchases: selectPurchases(c, keep), ...(input.items ? { items: input.items } : {}), ...users }, { kind: 'validation', days: spec.days, end: spec.end });
  const cache = createBlendCache(split, spec.discountShare);
  const foldItem = new Map(foldSplit.train.itemIds.map((id, i) => [id, i]));
  const item = Int32Array.from(split.train.itemIds, (id) => {
    const i = foldItem.get(id);
    if (i === undefined) throw new Error(`item ${id} of the scored customers is not in the fold's catalog`);
    return i;
  });
  const position = new Map(cache.users.map((u, j) => [split.train.userIds[u], j]));
  const row = Int32Array.from(fold.users, (u) => position.get(foldSplit.train.userIds[u]) ?? -1);
  return { split, cache, row, item };
}

/**
 * `part` with the rows of the users marked in `listedOnly` (by position in the fold's cache) taken, in order, from
 * `listed` (a part over those users alone, in the same order): the sampled fold's part leaves them empty.
 */
export function withRowsOf(part: SourcePart, listed: SourcePart, listedOnly: Uint8Array): SourcePart {
  const users = listedOnly.length;
  const rowOf = (j: number, l: number) => (listedOnly[j] ? [listed, l] as const : [part, j] as const);
  const indptr = new Int32Array(users + 1);
  for (let j = 0, l = 0; j < users; j++) {
    const [from, r] = rowOf(j, l);
    if (listedOnly[j]) l++;
    indptr[j + 1] = indptr[j] + from.indptr[r + 1] - from.indptr[r];
  }
  const items = new Int32Array(indptr[users]);
  const scores = new Float32Array(indptr[users]);
  for (let j = 0, l = 0; j < users; j++) {
    const [from, r] = rowOf(j, l);
    if (listedOnly[j]) l++;
    items.set(from.items.subarray(from.indptr[r], from.indptr[r + 1]), indptr[j]);
    scores.set(from.scores.subarray(from.indptr[r], from.indptr[r + 1]), indptr[j]);
  }
  return { indptr, items, scores };
}

/** A part made on the sampled fold, laid out by the fold's users and items. */
function remapPart(part: SourcePart, s: SampledFold, users: number): SourcePart {
  const indptr = new Int32Array(users + 1);
  for (let j = 0; j < users; j++) {
    const r = s.row[j];
    indptr[j + 1] = indptr[j] + (r < 0 ? 0 : part.indptr[r + 1] - part.indptr[r]);
  }
  const items = new Int32Array(indptr[users]);
  const scores = new Float32Array(indptr[users]);
  for (let j = 0; j < users; j++) {
    const r = s.row[j];
    if (r < 0) continue;
    for (let p = part.indptr[r], q = indptr[j]; p < part.indptr[r + 1]; p++, q++) {
      items[q] = s.item[part.items[p]];
      scores[q] = part.scores[p];
    }
  }
  return { indptr, items, scores };
}
