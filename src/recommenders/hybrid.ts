import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { distinctOrderCount } from './history.js';
import { OwnItems } from './own-items.js';
import type { Recommender, UserContext } from './recommender.js';
import { setBestPositive, SparseScores } from './sparse-scores.js';
import { scratchSite, TopKHeap } from './top-k-heap.js';

const weights = z.record(z.string().min(1), z.number().min(0));

/** HybridConfig.discountShare's default: an item's buyers counted per thousand customers. */
export const DEFAULT_DISCOUNT_SHARE = 0.001;

/** How the hybrid blends its sources; the `hybrid` section of a recipe. */
export const hybridConfigSchema = z.strictObject({
  /** Per-source weights for a user with 0-1 orders (cold) and for one with `fullHistoryOrders` or more (warm). */
  weights: z.strictObject({ cold: weights, warm: weights }),
  /**
   * Weights of the same sources on the user's own items (what they bought before), interpolated the
   * same way; absent = `weights`. Which unbought items a user sees depends only on `weights`; where
   * their repurchases rank among them depends on these. Ranking new items and ranking a customer's
   * next repurchase are different tasks, so tuning fits `weights` to the novel lists and these to the
   * lists with repurchases (rolling-tune.ts).
   */
  repeatWeights: z.strictObject({ cold: weights, warm: weights }).optional(),
  /** Distinct orders at which a user counts as fully warm. */
  fullHistoryOrders: z.int().min(2).default(10),
  /**
   * Per source and user, before weighting: `max` divides by the user's top score (negatives -> 0),
   * `minmax` maps [min, max] to [0, 1], `rank` gives the r-th best of the top `rankDepth` 1 - r/rankDepth.
   */
  normalisation: z.enum(['max', 'minmax', 'rank']).default('max'),
  /** Items per source that get a rank score under `rank` normalisation. */
  rankDepth: z.int().min(1).default(200),
  /**
   * Exponent beta of the discovery discount: an item the user has not bought scores
   * blend / (1 + buyers(item) / unit)^beta, so long-tail items that several sources agree on can reach a
   * list; 0 = off. The user's own items (repurchases) are never discounted, nor anything for a
   * visitor without history (their list is popularity: nothing personal to reach the tail with).
   */
  popularityDiscount: z.number().min(0).max(2).default(0),
  /**
   * The discount's unit of buyers as a share of the customers the model was trained on:
   * unit = max(1, discountShare x customers). With a share, an item's discount depends on how many of
   * the shop's customers bought it rather than on the shop's size, so a beta tuned on a sample of the
   * customers does to the whole shop what it did to the sample (with unit 1, a beta that cost a 5,000-
   * customer sample a tenth of its accuracy cost 128,000 customers 40%: bench/README, "The discovery
   * discount by share of customers"). 0: unit 1, buyers counted as they are. Under 1 / discountShare
   * customers (1,000 by default) the unit stays 1; tuning on a sample of customers scales the whole shop's
   * unit to the sample (evaluation/blend-cache.ts), so it discounts as the shop will whatever the sample's size.
   */
  discountShare: z.number().min(0).max(1).default(DEFAULT_DISCOUNT_SHARE),
  /**
   * Items a dense source (ALS, EASE, popularity, any source without sparse scoring) contributes per user:
   * its `sourceDepth` best among those the user has not bought, and its scores of the user's own items
   * beside them (a depth over both would give a customer with `sourceDepth` purchases among the source's
   * favourites nothing new from it). Sparse sources (neighbours of the user's items, their own items)
   * contribute everything they score. Bounds a user's blend by what they touch, not by the catalogue.
   */
  sourceDepth: z.int().min(1).max(100_000).default(1000),
  /**
   * When set, every source contributes only its `sourceLimit` best items per user among those the user has
   * not bought (after the above), and its scores of the user's own items besides, as tuning's validation
   * lists see each source (their `depth` best new items, 100 in training, and the user's own): a blend tuned
   * there then ranks here as it did there. Absent = everything the sources score.
   */
  sourceLimit: z.int().min(1).max(100_000).optional(),
  /**
   * Keeps non-personal sources from filling a list: for a user with at least `minOrders` distinct
   * orders, items whose dominant source (dominantSource) is one of `sources` take at most
   * ceil(share * r) of the first r places of the top `window` (among items the user has not bought),
   * unless nothing else is left. Absent = no cap. See capSourceSlots.
   */
  sourceCap: z
    .strictObject({
      sources: z.array(z.string().min(1)).min(1),
      share: z.number().min(0).max(1),
      window: z.int().min(1).max(1000).default(20),
      minOrders: z.int().min(0).default(2),
    })
    .optional(),
});
export type HybridConfig = z.output<typeof hybridConfigSchema>;

export interface HybridRecommender extends Recommender {
  readonly config: HybridConfig;
  /** The blend weight of every source for a user with `orders` distinct orders (sources with weight 0 omitted). */
  weightsFor(orders: number): Record<string, number>;
  /** The same for the user's own items (repeatWeights, else weightsFor's). */
  repeatWeightsFor(orders: number): Record<string, number>;
  /**
   * Scores a user into `scratch` (see createBlendScratch): the blend, and each weighted source's raw
   * sparse scores and weighted, normalised part, so serving can say which sources put an item on the
   * list and rank each source on its own without scoring it again. scoreUser is this, made dense.
   */
  blendSparse(ctx: UserContext, scratch: BlendScratch): void;
}

/** Reusable per-thread buffers of one user's blend. */
export interface BlendScratch {
  /** sum over sources of part_s(i) * multiplier(i). */
  blend: SparseScores;
  /** Per source scored for this user: all its raw scores and the weighted normalised part of those the blend took (before the discount). */
  sources: Map<string, { raw: SparseScores; part: SparseScores; pooled?: boolean }>;
  /** The discovery-discount multiplier of item i for this user (1 on their own items); valid until the next blend. */
  multiplier(item: number): number;
  /**
   * The candidates a source that ranks given items (ALS) ranks: every item a source weighted on new
   * items scored (the user's own items included), whatever the repeat weights, so the new items a user
   * sees never depend on them.
   */
  pool: SparseScores;
  /**
   * New items of the pool a pooled source's `raw` keeps at least, besides its scores of the user's own
   * (0 by default: what the blend takes, its `sourceLimit` best, when there is a limit; without one the
   * whole pool). Serving sets its single lists' length when it ranks them from `raw`.
   */
  pooledDepth: number;
  /** The sources the last blend scored, in the order it summed them (ALS-like sources last). */
  blended: string[];
  /** A source's `sourceLimit` best scores of new items and its scores of the user's own, the part of them the blend takes (scratch). */
  limited: SparseScores;
  /** 1 on the items of the user being blended (scratch for the discount). */
  own: Uint8Array;
  ownItems: number[];
}

const ALGORITHM = 'hybrid';
const VERSION = 1;

/**
 * Multiplier of each item for users who have not bought it: (1 + buyers / unit)^-beta (1 everywhere when
 * beta = 0), with `unit` buyers (see discountUnit).
 */
export function discoveryDiscount(buyers: ArrayLike<number>, beta: number, unit = 1): Float32Array {
  const out = new Float32Array(buyers.length);
  for (let i = 0; i < out.length; i++) out[i] = beta > 0 ? Math.pow(1 + buyers[i] / unit, -beta) : 1;
  return out;
}

/** The discount's unit of buyers for a model trained on `customers` buyers (unknown: 1, as models before the share were). */
export function discountUnit(share: number, customers: number | undefined): number {
  return customers === undefined ? 1 : Math.max(1, share * customers);
}

/** Customers with at least one purchase in a dataset: whom the discount's share is of. */
export function buyerCount(ds: Pick<Dataset, 'userIds' | 'eventUser'>): number {
  const seen = new Uint8Array(ds.userIds.length);
  let n = 0;
  for (let e = 0; e < ds.eventUser.length; e++) {
    if (seen[ds.eventUser[e]] === 0) {
      seen[ds.eventUser[e]] = 1;
      n++;
    }
  }
  return n;
}

/** Distinct buyers per item index of a dataset (each user counted once per item). */
export function itemBuyerCounts(ds: Pick<Dataset, 'itemIds' | 'eventUser' | 'eventItem'>): Float32Array {
  const buyers = new Float32Array(ds.itemIds.length);
  const seen = new Set<number>();
  const n = ds.itemIds.length;
  for (let e = 0; e < ds.eventUser.length; e++) {
    const key = ds.eventUser[e] * n + ds.eventItem[e];
    if (seen.has(key)) continue;
    seen.add(key);
    buyers[ds.eventItem[e]]++;
  }
  return buyers;
}

/**
 * Interpolates each source's weight between cold and warm with the user's distinct-order count n:
 *   w(n) = (1 - t) * cold + t * warm,  t = min(1, ln(1 + max(0, n - 1)) / ln(fullHistoryOrders))
 * so t = 0 for 0-1 orders, grows fast over the first few orders and reaches 1 at fullHistoryOrders.
 */
export function blendWeights(config: Pick<HybridConfig, 'weights' | 'fullHistoryOrders'>, orders: number): Record<string, number> {
  return interpolateWeights(config.weights, config.fullHistoryOrders, orders);
}

/** blendWeights for the user's own items: repeatWeights interpolated the same way, else the same as blendWeights. */
export function repeatBlendWeights(config: Pick<HybridConfig, 'weights' | 'repeatWeights' | 'fullHistoryOrders'>, orders: number): Record<string, number> {
  return interpolateWeights(config.repeatWeights ?? config.weights, config.fullHistoryOrders, orders);
}

function interpolateWeights(weights: HybridConfig['weights'], fullHistoryOrders: number, orders: number): Record<string, number> {
  const t = Math.min(1, Math.log1p(Math.max(0, orders - 1)) / Math.log(fullHistoryOrders));
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(weights.cold), ...Object.keys(weights.warm)])) {
    const w = (1 - t) * (weights.cold[name] ?? 0) + t * (weights.warm[name] ?? 0);
    if (w > 0) out[name] = w;
  }
  return out;
}

/**
 * The sources blended for a user, in the order their parts are summed: those weighted on new items
 * (blendWeights' order), then those weighted only on the user's own items.
 */
export function blendedSources(config: Pick<HybridConfig, 'weights' | 'repeatWeights' | 'fullHistoryOrders'>, orders: number): string[] {
  return sourcesOf(blendWeights(config, orders), config.repeatWeights ? repeatBlendWeights(config, orders) : undefined);
}

/** blendedSources from the interpolated weights on new items and (if any) on own items. */
function sourcesOf(novel: Record<string, number>, own: Record<string, number> | undefined): string[] {
  const names = Object.keys(novel);
  if (own) for (const name of Object.keys(own)) if (!(name in novel)) names.push(name);
  return names;
}

/**
 * Blends already-fitted sources (the hybrid fits nothing itself, so training and evaluation reuse the
 * same fits). Throws when a weighted source is missing. Scores are
 *   sum_s w_s(n) * normalised_s(item) * multiplier(item)
 * (w_s the repeat weights on the user's own items) over each source's sparse scores (see sourceDepth): a user costs what their sources touch.
 */
export function createHybrid(
  sources: ReadonlyMap<string, Recommender>,
  rawConfig: z.input<typeof hybridConfigSchema>,
  itemBuyers?: Float32Array,
  customers?: number,
): HybridRecommender {
  const config = hybridConfigSchema.parse(rawConfig);
  if (config.popularityDiscount > 0 && !itemBuyers) throw new Error('hybrid: popularityDiscount needs the items\' buyer counts');
  const discount =
    itemBuyers && config.popularityDiscount > 0 ? discoveryDiscount(itemBuyers, config.popularityDiscount, discountUnit(config.discountShare, customers)) : null;
  const repeat = config.repeatWeights ?? { cold: {}, warm: {} };
  for (const name of [...Object.keys(config.weights.cold), ...Object.keys(config.weights.warm), ...Object.keys(repeat.cold), ...Object.keys(repeat.warm)]) {
    if (!sources.has(name)) throw new Error(`hybrid: weighted source "${name}" is not among the fitted sources`);
  }
  for (const name of config.sourceCap?.sources ?? []) {
    if (!sources.has(name)) throw new Error(`hybrid: capped source "${name}" is not among the fitted sources`);
  }
  const weightsFor = (orders: number) => blendWeights(config, orders);
  const repeatWeightsFor = (orders: number) => repeatBlendWeights(config, orders);
  /** scoreUser's own buffers (blendSparse callers bring theirs). */
  let denseCall: { scratch: BlendScratch; n: number } | null = null;
  const dense = createDenseScratch();
  const depth = blendDepth(config);
  const scoreSource = (source: Recommender, ctx: UserContext, raw: SparseScores) => scoreSparseOf(source, ctx, raw, depth, dense);

  /**
   * part = w * normalised raw score, per `normalisation`, on the touched items (untouched ones count 0),
   * with w = `wOwn` on the items marked in `own` (the user's history) and `w` elsewhere; a part of 0 is
   * left out.
   */
  const normalise = (raw: SparseScores, part: SparseScores, w: number, wOwn: number, own: Uint8Array, pool: SparseScores) => {
    if (config.normalisation === 'rank') {
      const top = new TopKHeap(config.rankDepth);
      for (let p = 0; p < raw.size; p++) {
        const i = raw.item(p);
        if (raw.values[i] > 0) top.push(i, raw.values[i]);
      }
      const ranked = top.result();
      for (let r = 0; r < ranked.length; r++) {
        const i = ranked[r].item;
        const weight = own[i] === 1 ? wOwn : w;
        if (weight > 0) part.set(i, weight * (1 - r / config.rankDepth));
        if (w > 0) pool.set(i, 1);
      }
      return;
    }
    let min = 0;
    let max = 0;
    for (let p = 0; p < raw.size; p++) {
      const v = raw.values[raw.item(p)];
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const from = config.normalisation === 'minmax' ? min : 0;
    if (!(max > from)) return;
    const scale = w / (max - from);
    const ownScale = wOwn / (max - from);
    for (let p = 0; p < raw.size; p++) {
      const i = raw.item(p);
      const v = raw.values[i];
      if (!(v > from)) continue;
      const s = own[i] === 1 ? ownScale : scale;
      if (s > 0) part.set(i, (v - from) * s);
      if (w > 0) pool.set(i, 1);
    }
  };

  /**
   * The weights and the sources summed for a user with `orders` distinct orders, in summing order (sources
   * that rank given candidates, ALS, last): the same for every user with as many orders, so made once per
   * count (frozen: a blend's `blended` is this very array).
   */
  const pooled = (name: string) => sources.get(name)!.scoreCandidates !== undefined;
  const plans = new Map<number, { novelWeights: Record<string, number>; ownWeights: Record<string, number>; weighted: string[] }>();
  const planFor = (orders: number) => {
    let plan = plans.get(orders);
    if (!plan) {
      const novelWeights = weightsFor(orders);
      const ownWeights = config.repeatWeights ? repeatWeightsFor(orders) : novelWeights;
      const weighted = sourcesOf(novelWeights, config.repeatWeights ? ownWeights : undefined);
      weighted.sort((a, b) => Number(pooled(a)) - Number(pooled(b)));
      plan = { novelWeights: Object.freeze(novelWeights), ownWeights: Object.freeze(ownWeights), weighted: Object.freeze(weighted) as string[] };
      plans.set(orders, plan);
    }
    return plan;
  };

  const blendSparse = (ctx: UserContext, scratch: BlendScratch) => {
    scratch.blend.clear();
    scratch.pool.clear();
    for (const { raw, part } of scratch.sources.values()) {
      raw.clear();
      part.clear();
    }
    // Items of the user's history are never discounted; with no history nothing is (a popularity list).
    // `own` marks them; the previous user's marks are cleared first (kept until now for multiplier()).
    const own = scratch.own;
    for (const i of scratch.ownItems) own[i] = 0;
    scratch.ownItems.length = 0;
    for (const h of ctx.history) {
      if (h.item >= 0 && h.item < own.length && own[h.item] === 0) {
        own[h.item] = 1;
        scratch.ownItems.push(h.item);
      }
    }
    const factor = discount !== null && ctx.history.length > 0 ? discount : null;
    const multiplier = (i: number) => (factor === null || own[i] === 1 || i >= factor.length ? 1 : factor[i]);
    scratch.multiplier = multiplier;
    const n = scratch.blend.itemCount;
    // Sources that can rank given candidates (ALS) come last and rank what the others found.
    const orders = distinctOrderCount(ctx.history);
    // Weights stop changing at fullHistoryOrders (blendWeights), so counts above it share its plan.
    const { novelWeights, ownWeights, weighted } = planFor(Math.min(orders, config.fullHistoryOrders));
    scratch.blended = weighted;
    const cap = config.sourceCap;
    for (const name of weighted) {
      let bufs = scratch.sources.get(name);
      if (!bufs) scratch.sources.set(name, (bufs = { raw: new SparseScores(n), part: new SparseScores(n) }));
      const source = sources.get(name)!;
      // `pooled`: its raw scores are of the pool, not its blendDepth best (serving's single lists tell them apart).
      bufs.pooled = source.scoreCandidates !== undefined && scratch.pool.size > 0;
      if (bufs.pooled) {
        // With a source limit the blend takes only the pool's `sourceLimit` best new items and the user's own.
        const cut = config.sourceLimit === undefined ? undefined : { limit: Math.max(config.sourceLimit, scratch.pooledDepth), own };
        source.scoreCandidates!(ctx, scratch.pool, bufs.raw, cut);
      } else scoreSource(source, ctx, bufs.raw);
      // The blend takes the source's sourceLimit best items the user has not bought, and its scores of
      // the user's own items beside them (ranked apart, by the repeat weights): a limit over both would
      // give a customer who bought more than sourceLimit of the source's favourites nothing new from it.
      // `raw` keeps all it scored (serving ranks the source alone from it).
      let blended = bufs.raw;
      if (config.sourceLimit !== undefined && bufs.raw.size > config.sourceLimit) {
        blended = scratch.limited;
        blended.clear();
        setBestPositive(bufs.raw, config.sourceLimit, blended, own);
        const { values } = bufs.raw;
        for (const i of scratch.ownItems) if (values[i] > 0) blended.set(i, values[i]);
      }
      normalise(blended, bufs.part, novelWeights[name] ?? 0, ownWeights[name] ?? 0, own, scratch.pool);
      const { part } = bufs;
      const partValues = part.values;
      for (let p = 0; p < part.size; p++) {
        const i = part.item(p);
        // multiplier(i), inline: this loop runs for every item of every source of every customer.
        scratch.blend.add(i, partValues[i] * (factor === null || own[i] === 1 || i >= factor.length ? 1 : factor[i]));
      }
    }
    if (cap && orders >= cap.minOrders) capSourceSlots(scratch, weighted, cap);
  };

  return {
    name: ALGORITHM,
    config,
    weightsFor,
    repeatWeightsFor,
    blendSparse,
    scoreUser(ctx, out) {
      if (!denseCall || denseCall.n !== out.length) denseCall = { scratch: createBlendScratch(out.length), n: out.length };
      blendSparse(ctx, denseCall.scratch);
      denseCall.scratch.blend.toDense(out);
    },
    /** The blend configuration and the buyer counts of the discount: the sources have artifacts of their own. */
    toArtifact() {
      const arrays: Record<string, Float32Array> = itemBuyers ? { itemBuyers } : {};
      // The share travels in meta, not in params: a process still on the code before the share reads
      // params strictly, and would refuse the model rather than count its discount in plain buyers.
      const { discountShare, ...params } = config;
      const meta = { discountShare, ...(customers === undefined ? {} : { customers }) };
      return encodeArtifact({ algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params, meta }, arrays);
    },
  };
}

/**
 * How many new items the blend asks of each source that ranks them (sourceDepth): no more than the
 * sourceLimit best it takes of them. The `sourceLimit` best of a source's exact `sourceDepth` best are its
 * exact `sourceLimit` best (ties to the lower index in both), so the blend is the same, and a customer no
 * longer costs 1,000 items of each of popularity, trend and EASE to keep 100 (at 420,000 customers,
 * setting and ranking those was the serving build's largest cost).
 */
export const blendDepth = (config: Pick<HybridConfig, 'sourceDepth' | 'sourceLimit'>): number =>
  config.sourceLimit === undefined ? config.sourceDepth : Math.min(config.sourceDepth, config.sourceLimit);

const denseBest = scratchSite();

/** scoreSparseOf's scratch for sources scored densely: the scores (grown as needed) and the user's own items. */
export interface DenseScratch {
  buffer: Float32Array;
  own: OwnItems;
}

/** An empty DenseScratch (one per thread, reused across users). */
export const createDenseScratch = (): DenseScratch => ({ buffer: new Float32Array(0), own: new OwnItems() });

/**
 * A source's scores for a user, sparse: its own sparse scoring, else (scored densely into
 * `dense.buffer`) its `depth` best positive items the user has not bought and its positive scores of
 * their own items, as Recommender.scoreSparse cuts.
 */
export function scoreSparseOf(source: Recommender, ctx: UserContext, out: SparseScores, depth: number, dense: DenseScratch): void {
  if (source.scoreSparse) return source.scoreSparse(ctx, out, depth);
  if (dense.buffer.length !== out.itemCount) dense.buffer = new Float32Array(out.itemCount);
  const scores = dense.buffer;
  source.scoreUser(ctx, scores);
  const { own } = dense;
  own.mark(ctx.history, scores.length);
  const top = denseBest(depth);
  for (let i = 0; i < scores.length; i++) if (scores[i] > 0 && own.mask[i] === 0) top.heap.push(i, scores[i]);
  const kept = top.drain();
  for (let r = 0; r < kept; r++) out.set(top.items[r], scores[top.items[r]]);
  for (const i of own.items) if (scores[i] > 0) out.set(i, scores[i]);
}

/** Buffers for blendSparse over a catalogue of `itemCount` items (one per thread, reused across users). */
export function createBlendScratch(itemCount: number): BlendScratch {
  return { blend: new SparseScores(itemCount), sources: new Map(), pooledDepth: 0, blended: [], multiplier: () => 1, pool: new SparseScores(itemCount), limited: new SparseScores(itemCount), own: new Uint8Array(itemCount), ownItems: [] };
}

/** Rebuilds a hybrid from its artifact around sources loaded from their own artifacts. */
export function hybridFromArtifact(bytes: Uint8Array, sources: ReadonlyMap<string, Recommender>): HybridRecommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const parsed = hybridConfigSchema.safeParse(header.params);
  if (!parsed.success) throw new ArtifactFormatError(`hybrid artifact: bad configuration (${parsed.error.issues[0].message})`);
  const { itemBuyers } = arrays;
  if (itemBuyers !== undefined && !(itemBuyers instanceof Float32Array)) throw new ArtifactFormatError('hybrid artifact: bad buyer counts');
  // Artifacts written before the discount's share have no customer count, and keep the unit they were made with.
  const { customers, discountShare } = header.meta ?? {};
  if (customers !== undefined && (typeof customers !== 'number' || !Number.isInteger(customers) || customers < 0)) throw new ArtifactFormatError('hybrid artifact: bad customer count');
  if (discountShare !== undefined && (typeof discountShare !== 'number' || !(discountShare >= 0 && discountShare <= 1))) throw new ArtifactFormatError('hybrid artifact: bad discount share');
  return createHybrid(sources, { ...parsed.data, ...(discountShare === undefined ? {} : { discountShare }) }, itemBuyers, customers);
}

/**
 * The source that put `item` on the user's list: the one with the largest part of its blended score,
 * part_s(i) = w_s * normalised_s(i) (the discovery discount scales every part of an item alike, so it
 * never changes which is largest). Ties go to the earlier of `names`. Returns its index in `names`,
 * -1 when no source scored the item. Explanations are phrased from this source (never from a weaker one).
 */
export function dominantSource(scratch: BlendScratch, item: number, names: readonly string[]): number {
  let best = -1;
  let bestPart = 0;
  for (let k = 0; k < names.length; k++) {
    const part = scratch.sources.get(names[k])?.part.values[item] ?? 0;
    if (part > bestPart) [best, bestPart] = [k, part];
  }
  return best;
}

const cappedBest = scratchSite();
const othersBest = scratchSite();

/**
 * Re-ranks the top of a blend so that items whose dominant source is one of `cap.sources` take at most
 * ceil(share * r) of the first r places, r <= window, among the items the user has not bought (their
 * own items keep their scores and take no place: serving and novel evaluation leave them out). The
 * window is filled from the best `window` items of each group, each group in the blend's order: the
 * capped group's best when it scores higher and has places left, else the other group's best; when
 * either group runs out the other fills on. Then the blend's scores are made the capped order: window
 * items are lowered where needed to just below the one before, and every other item (not the user's
 * own) is scaled by one factor to below the window's last, which keeps their order among themselves.
 * So every reader of the blend (serving build, evaluation's top k) sees the same list.
 */
export function capSourceSlots(scratch: BlendScratch, names: readonly string[], cap: { sources: readonly string[]; share: number; window: number }): void {
  const { blend, own } = scratch;
  const values = blend.values;
  const cappedTop = cappedBest(cap.window);
  const otherTop = othersBest(cap.window);
  // dominantSource per blend item, with each source's parts and whether it is capped looked up once per
  // user rather than per item and source (the same sources in the same order, so the same choice).
  const partsOf: Float32Array[] = [];
  const cappedOf: boolean[] = [];
  for (const name of names) {
    const part = scratch.sources.get(name)?.part.values;
    if (!part) continue;
    partsOf.push(part);
    cappedOf.push(cap.sources.includes(name));
  }
  // An item scoring below both heaps' thresholds enters neither, whichever its dominant source: only
  // the others are looked up (most of a blend once the heaps are full).
  let cappedMin = cappedTop.heap.threshold;
  let otherMin = otherTop.heap.threshold;
  for (let p = 0; p < blend.size; p++) {
    const i = blend.item(p);
    const v = values[i];
    if (!(v > 0) || own[i] === 1 || (v < cappedMin && v < otherMin)) continue;
    let best = -1;
    let bestPart = 0;
    for (let k = 0; k < partsOf.length; k++) {
      const part = partsOf[k][i];
      if (part > bestPart) {
        best = k;
        bestPart = part;
      }
    }
    if (best >= 0 && cappedOf[best]) {
      if (v >= cappedMin) {
        cappedTop.heap.push(i, v);
        cappedMin = cappedTop.heap.threshold;
      }
    } else if (v >= otherMin) {
      otherTop.heap.push(i, v);
      otherMin = otherTop.heap.threshold;
    }
  }
  const capped = cappedTop.items.subarray(0, cappedTop.drain());
  const others = otherTop.items.subarray(0, otherTop.drain());
  if (capped.length === 0 || others.length === 0) return;
  const order: number[] = [];
  let c = 0;
  let o = 0;
  while (order.length < cap.window && (c < capped.length || o < others.length)) {
    const allowed = Math.ceil(cap.share * (order.length + 1) - 1e-9);
    const takeCapped = o >= others.length || (c < capped.length && values[capped[c]] >= values[others[o]] && c < allowed);
    order.push(takeCapped ? capped[c++] : others[o++]);
  }
  let prev = Infinity;
  for (const i of order) {
    if (!(values[i] < prev)) blend.set(i, prev * (1 - 1e-5));
    prev = values[i];
  }
  // Everything else below the window's last item, in its own order: `own` marks the window's items
  // (as 2) while they are passed over, and is put back after.
  for (const i of order) if (own[i] === 0) own[i] = 2;
  try {
    let rest = 0;
    for (let p = 0; p < blend.size; p++) {
      const i = blend.item(p);
      if (own[i] === 0 && values[i] > rest) rest = values[i];
    }
    if (!(rest >= prev)) return;
    const factor = (prev * (1 - 1e-5)) / rest;
    for (let p = 0; p < blend.size; p++) {
      const i = blend.item(p);
      if (own[i] === 0 && values[i] > 0) values[i] *= factor;
    }
  } finally {
    for (const i of order) if (own[i] === 2) own[i] = 0;
  }
}
