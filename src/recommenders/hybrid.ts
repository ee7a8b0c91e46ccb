import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { distinctOrderCount } from './history.js';
import type { Recommender, UserContext } from './recommender.js';
import { TopKHeap } from './top-k-heap.js';

const weights = z.record(z.string().min(1), z.number().min(0));

/** How the hybrid blends its sources; the `hybrid` section of a recipe. */
export const hybridConfigSchema = z.strictObject({
  /** Per-source weights for a user with 0-1 orders (cold) and for one with `fullHistoryOrders` or more (warm). */
  weights: z.strictObject({ cold: weights, warm: weights }),
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
   * blend / (1 + buyers(item))^beta, so long-tail items that several sources agree on can reach a
   * list; 0 = off. The user's own items (repurchases) are never discounted, nor anything for a
   * visitor without history (their list is popularity: nothing personal to reach the tail with).
   */
  popularityDiscount: z.number().min(0).max(2).default(0),
});
export type HybridConfig = z.output<typeof hybridConfigSchema>;

export interface HybridRecommender extends Recommender {
  readonly config: HybridConfig;
  /** The blend weight of every source for a user with `orders` distinct orders (sources with weight 0 omitted). */
  weightsFor(orders: number): Record<string, number>;
  /**
   * Like scoreUser, and also returns each source's weighted, normalised contribution, so serving can
   * say which sources put an item on the list. The arrays are fresh (the caller may keep them).
   */
  scoreUserBySource(ctx: UserContext, out: Float32Array): Record<string, Float32Array>;
}

const ALGORITHM = 'hybrid';
const VERSION = 1;

/** Multiplier of each item for users who have not bought it: (1 + buyers)^-beta (1 everywhere when beta = 0). */
export function discoveryDiscount(buyers: ArrayLike<number>, beta: number): Float32Array {
  const out = new Float32Array(buyers.length);
  for (let i = 0; i < out.length; i++) out[i] = beta > 0 ? Math.pow(1 + buyers[i], -beta) : 1;
  return out;
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
export function blendWeights(config: HybridConfig, orders: number): Record<string, number> {
  const t = Math.min(1, Math.log1p(Math.max(0, orders - 1)) / Math.log(config.fullHistoryOrders));
  const out: Record<string, number> = {};
  for (const name of new Set([...Object.keys(config.weights.cold), ...Object.keys(config.weights.warm)])) {
    const w = (1 - t) * (config.weights.cold[name] ?? 0) + t * (config.weights.warm[name] ?? 0);
    if (w > 0) out[name] = w;
  }
  return out;
}

/** Rescales one source's scores in place, per `normalisation` (see hybridConfigSchema). */
function normalise(scores: Float32Array, config: HybridConfig): void {
  if (config.normalisation === 'rank') {
    const top = new TopKHeap(config.rankDepth);
    for (let i = 0; i < scores.length; i++) if (scores[i] > 0) top.push(i, scores[i]);
    scores.fill(0);
    top.result().forEach((n, r) => (scores[n.item] = 1 - r / config.rankDepth));
    return;
  }
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s < min) min = s;
    if (s > max) max = s;
  }
  if (config.normalisation === 'minmax') {
    const range = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = range > 0 ? (scores[i] - min) / range : 0;
    return;
  }
  for (let i = 0; i < scores.length; i++) scores[i] = max > 0 && scores[i] > 0 ? scores[i] / max : 0;
}

/**
 * Blends already-fitted sources (the hybrid fits nothing itself, so training and evaluation reuse the
 * same fits). Throws when a weighted source is missing. Scores are sum_s w_s(n) * normalised_s(item).
 */
export function createHybrid(
  sources: ReadonlyMap<string, Recommender>,
  rawConfig: z.input<typeof hybridConfigSchema>,
  itemBuyers?: Float32Array,
): HybridRecommender {
  const config = hybridConfigSchema.parse(rawConfig);
  if (config.popularityDiscount > 0 && !itemBuyers) throw new Error('hybrid: popularityDiscount needs the items\' buyer counts');
  const discount = itemBuyers && config.popularityDiscount > 0 ? discoveryDiscount(itemBuyers, config.popularityDiscount) : null;
  // Scratch buffers reused across calls: scoring is synchronous, so no two calls overlap.
  let scratch = new Float32Array(0);
  let multiplier = new Float32Array(0);
  /**
   * The discount multiplier of every item for this user: 1 on their own items, (1 + buyers)^-beta on
   * the rest; null when nothing is discounted. With no history the blend is a popularity list:
   * discounting it would only turn it upside down.
   */
  const discountFor = (ctx: UserContext, n: number): Float32Array | null => {
    if (!discount || ctx.history.length === 0) return null;
    if (multiplier.length !== n) multiplier = new Float32Array(n);
    const m = Math.min(n, discount.length);
    multiplier.set(m === discount.length ? discount : discount.subarray(0, m));
    multiplier.fill(1, m);
    for (const h of ctx.history) if (h.item < n) multiplier[h.item] = 1;
    return multiplier;
  };
  for (const name of [...Object.keys(config.weights.cold), ...Object.keys(config.weights.warm)]) {
    if (!sources.has(name)) throw new Error(`hybrid: weighted source "${name}" is not among the fitted sources`);
  }
  const weightsFor = (orders: number) => blendWeights(config, orders);
  const blend = (ctx: UserContext, out: Float32Array, keep: boolean) => {
    const n = out.length;
    out.fill(0);
    const parts: Record<string, Float32Array> = {};
    if (scratch.length !== n) scratch = new Float32Array(n);
    const mult = discountFor(ctx, n);
    for (const [name, w] of Object.entries(weightsFor(distinctOrderCount(ctx.history)))) {
      sources.get(name)!.scoreUser(ctx, scratch);
      normalise(scratch, config);
      // One fused pass: discount, weight, add to the blend, and keep the part when asked.
      const part = keep ? (parts[name] = new Float32Array(n)) : null;
      for (let i = 0; i < n; i++) {
        const v = (mult ? scratch[i] * mult[i] : scratch[i]) * w;
        out[i] += v;
        if (part) part[i] = v;
      }
    }
    return parts;
  };
  return {
    name: ALGORITHM,
    config,
    weightsFor,
    scoreUser(ctx, out) {
      blend(ctx, out, false);
    },
    scoreUserBySource(ctx, out) {
      return blend(ctx, out, true);
    },
    /** The blend configuration and the buyer counts of the discount: the sources have artifacts of their own. */
    toArtifact() {
      const arrays: Record<string, Float32Array> = itemBuyers ? { itemBuyers } : {};
      return encodeArtifact({ algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params: config }, arrays);
    },
  };
}

/** Rebuilds a hybrid from its artifact around sources loaded from their own artifacts. */
export function hybridFromArtifact(bytes: Uint8Array, sources: ReadonlyMap<string, Recommender>): HybridRecommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const parsed = hybridConfigSchema.safeParse(header.params);
  if (!parsed.success) throw new ArtifactFormatError(`hybrid artifact: bad configuration (${parsed.error.issues[0].message})`);
  const { itemBuyers } = arrays;
  if (itemBuyers !== undefined && !(itemBuyers instanceof Float32Array)) throw new ArtifactFormatError('hybrid artifact: bad buyer counts');
  return createHybrid(sources, parsed.data, itemBuyers);
}
