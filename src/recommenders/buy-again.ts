import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { DAY_MS, decay } from './decay.js';
import { cycleDue, orderTimesByItem } from './history.js';
import { userItemMatrix } from './interactions.js';
import { itemRemap } from './item-remap.js';
import { parseParams } from './parse-params.js';
import type { HistoryEntry, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import type { SparseScores } from './sparse-scores.js';

const paramsSchema = z.strictObject({
  /** Half-life in days of the recency factor (time since the item was last bought). */
  halfLifeDays: z.number().positive().nullable().default(60),
  /**
   * Weight of the "due" factor relative to recency; 0 switches cycle detection off. On Online Retail
   * 0.5 ranks as well as 0 and better than 1 (NDCG@10, mode all); shops with real cycles want more.
   */
  dueWeight: z.number().min(0).default(0.5),
  /** Width (standard deviation of ln(elapsed / cycle)) of the due bump; larger = more forgiving. */
  dueWidth: z.number().positive().default(0.5),
  /** Fewest distinct orders of an item before its purchase cycle is trusted (2 = one interval). */
  minOrdersForCycle: z.int().min(2).default(2),
  /** Shortest interval in days: purchases on the same day do not make a zero-length cycle. */
  minIntervalDays: z.number().positive().default(1),
  /**
   * Exponent of the item's repurchase propensity (see itemPropensity); 0 = off. Lets items that
   * people habitually rebuy (bags, candles) outrank one-off buys (a clock) at equal history.
   */
  propensityWeight: z.number().min(0).default(0),
  /** Pseudo-buyers of the propensity prior: items with few buyers are pulled towards the catalogue mean. */
  propensityPrior: z.number().min(0).default(10),
});
export type BuyAgainParams = z.output<typeof paramsSchema>;

const ALGORITHM = 'buy-again';
const VERSION = 2;

/**
 * Scores the items in the user's own history (everything else gets 0):
 *   score = ln(1 + orders) * (recency + dueWeight * due) * propensity(item)^propensityWeight
 *   recency = 0.5^((now - last) / halfLife)
 *   due = exp(-ln(elapsed / cycle)^2 / (2 * dueWidth^2)), cycle = median interval between the item's orders
 * `due` peaks at 1 when the time since the last purchase equals the usual cycle, so a coffee bought every
 * 30 days ranks first on day 30 even when other items were bought more recently.
 */
function createBuyAgain(params: BuyAgainParams, itemIds: readonly string[], propensity: Float32Array, trainedNow: number): Recommender {
  const itemCount = itemIds.length;
  const minInterval = params.minIntervalDays * DAY_MS;
  const boost = (item: number) => (params.propensityWeight > 0 ? Math.pow(propensity[item], params.propensityWeight) : 1);
  const score = (ctx: UserContext, n: number, set: (item: number, v: number) => void) => {
    const now = ctx.now ?? trainedNow;
    for (const [item, times] of orderTimesByItem(ctx.history, n)) {
      const last = times[times.length - 1];
      const recency = decay(now, last, params.halfLifeDays);
      const due = params.dueWeight > 0 && times.length >= params.minOrdersForCycle ? cycleDue(times, now, minInterval, params.dueWidth) : 0;
      set(item, Math.log1p(times.length) * (recency + params.dueWeight * due) * boost(item));
    }
  };
  return {
    name: ALGORITHM,
    scoreUser(ctx: UserContext, out: Float32Array) {
      out.fill(0);
      score(ctx, Math.min(itemCount, out.length), (item, v) => (out[item] = v));
    },
    /** Exact: only the user's own items score. */
    scoreSparse(ctx: UserContext, out: SparseScores) {
      score(ctx, Math.min(itemCount, out.itemCount), (item, v) => out.set(item, v));
    },
    toArtifact() {
      return encodeArtifact(
        { algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params, meta: { now: trainedNow, itemIds } },
        { propensity },
      );
    },
  };
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): Recommender {
  const { header, arrays } = decodeArtifact(bytes);
  if (header.algorithm !== ALGORITHM || (header.version !== 1 && header.version !== VERSION)) {
    throw new ArtifactFormatError(`not a ${ALGORITHM} v1-${VERSION} artifact (${header.algorithm} v${header.version})`);
  }
  const meta = header.meta as { now: number; itemIds?: string[] };
  if (typeof meta?.now !== 'number') throw new ArtifactFormatError('buy-again artifact: missing reference time');
  const params = parseParams(ALGORITHM, paramsSchema, header.params);
  // Version 1 (before propensities) scored without them: a neutral 1 per item keeps its scores.
  if (header.version === 1) return createBuyAgain(params, [...ds.itemIds], new Float32Array(ds.itemIds.length).fill(1), meta.now);
  const { propensity } = arrays;
  if (!Array.isArray(meta.itemIds) || !(propensity instanceof Float32Array) || propensity.length !== meta.itemIds.length) {
    throw new ArtifactFormatError('buy-again artifact: propensity does not match the item list');
  }
  // Items added since training get the prior mean: they have no buyers to learn from.
  const map = itemRemap(meta.itemIds, ds.itemIds);
  const mean = meanOf(propensity);
  const remapped = map ? Float32Array.from(map, (f) => (f >= 0 ? propensity[f] : mean)) : propensity;
  return createBuyAgain(params, [...ds.itemIds], remapped, meta.now);
}

const meanOf = (a: Float32Array) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : 0);

/**
 * Per item, the share of its buyers who bought it in two or more distinct orders, shrunk towards
 * the share over all (user, item) pairs with `prior` pseudo-buyers:
 *   propensity(i) = (repeaters(i) + prior * globalShare) / (buyers(i) + prior)
 */
export function itemPropensity(ds: Dataset, prior: number): Float32Array {
  const m = userItemMatrix(ds);
  const buyers = new Float64Array(ds.itemIds.length);
  const repeaters = new Float64Array(ds.itemIds.length);
  let pairs = 0;
  let repeats = 0;
  for (let k = 0; k < m.indices.length; k++) {
    buyers[m.indices[k]]++;
    pairs++;
    if (m.values[k] >= 2) {
      repeaters[m.indices[k]]++;
      repeats++;
    }
  }
  const share = pairs ? repeats / pairs : 0;
  return Float32Array.from(buyers, (b, i) => (repeaters[i] + prior * share) / (b + prior || 1));
}

/**
 * Repurchase: the user's own items by frequency, recency and purchase cycle, optionally weighted by
 * how habitually other users rebuy each item. Fit records the items' propensities and the dataset's
 * `now` (the default scoring time).
 */
export const buyAgainFactory = {
  name: ALGORITHM,
  parseParams: (raw: unknown) => parseParams(ALGORITHM, paramsSchema, raw),
  fit: (ds: Dataset, params: BuyAgainParams) => createBuyAgain(params, [...ds.itemIds], itemPropensity(ds, params.propensityPrior), ds.now),
  fromArtifact,
} satisfies RecommenderFactory<BuyAgainParams>;
