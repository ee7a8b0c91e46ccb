import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { DAY_MS } from './decay.js';
import { cycleDue, eventEntry, orderTimesByItem } from './history.js';
import { eventsByUser, type UserEvents } from './interactions.js';
import { itemRemap } from './item-remap.js';
import { fitLogistic } from './logistic.js';
import { parseParams } from './parse-params.js';
import type { HistoryEntry, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import type { SparseScores } from './sparse-scores.js';

const paramsSchema = z.strictObject({
  /**
   * Days at the end of the training data whose purchases are the labels: the model learns which of a
   * customer's earlier items they bought again in that window, from what was known at its start.
   */
  labelDays: z.number().positive().default(30),
  /** Days over which an item's recent buyers are counted (a feature: what is selling now). */
  recentDays: z.number().positive().default(30),
  /** A shorter window of the same (what is selling this week). */
  trendDays: z.number().positive().default(10),
  /** L2 penalty on the standardised coefficients (the intercept is not penalised). */
  l2: z.number().min(0).default(1),
  /** Newton steps of the logistic regression (it converges in a handful). */
  iterations: z.int().min(1).max(100).default(20),
  /** Pseudo-buyers of the items' repurchase-share prior (as buy-again's propensityPrior). */
  propensityPrior: z.number().min(0).default(10),
  /**
   * About the most (customer, item) pairs the regression is fitted on: above it every k-th customer of
   * the label window is kept, k = ceil(pairs / maxPairs), so the pairs kept are about maxPairs (more
   * when the kept customers happen to have more items than the average). 16 coefficients are well
   * determined by far fewer, and a large shop's fit stays fast.
   */
  maxPairs: z.int().min(100).default(200_000),
});
export type RepurchaseParams = z.output<typeof paramsSchema>;

const ALGORITHM = 'repurchase';
const VERSION = 1;

/** The features of one (customer, own item) pair, in this order; the coefficients end with the intercept. */
export const REPURCHASE_FEATURES = [
  'log orders with the item',
  'log days since the item was last bought',
  'the same, squared',
  'log days since the item was first bought',
  "share of the customer's orders with the item",
  "log customer's orders",
  "log days since the customer's last order",
  'log quantity bought',
  'recency: 0.5^(days since last bought / 60)',
  'log orders with the item x recency',
  'item is due: closeness of the days since last bought to its usual interval',
  "item's repurchase share",
  "log item's buyers",
  "log item's buyers in the last recentDays",
  "log item's buyers in the last trendDays",
] as const;
const F = REPURCHASE_FEATURES.length;

/** Per-item facts the features read, as of a reference time (all by item index). */
export interface ItemFacts {
  /** Share of the item's buyers who bought it in 2+ orders, shrunk toward the share over all pairs. */
  propensity: Float32Array;
  /** ln(1 + distinct buyers). */
  buyers: Float32Array;
  /** ln(1 + distinct buyers in the `recentDays` before the reference time). */
  recent: Float32Array;
  /** ln(1 + distinct buyers in the `trendDays` before it). */
  trend: Float32Array;
}
const FACTS = ['propensity', 'buyers', 'recent', 'trend'] as const;

/** A customer's items with their distinct orders' times (ascending) and quantity bought, their order count and last order's time. */
function ownItems(history: readonly HistoryEntry[], itemCount: number) {
  const times = orderTimesByItem(history, itemCount);
  const quantity = new Map<number, number>();
  const orders = new Set<string | number>();
  let lastOrder = Number.NEGATIVE_INFINITY;
  for (const h of history) {
    if (!times.has(h.item)) continue;
    orders.add(h.order);
    lastOrder = Math.max(lastOrder, h.ts);
    quantity.set(h.item, (quantity.get(h.item) ?? 0) + Math.max(0, h.quantity));
  }
  return { times, quantity, orders: orders.size, lastOrder };
}

const logDays = (ms: number) => Math.log1p(Math.max(0, ms) / DAY_MS);

/**
 * Calls `emit(item, x)` for each item in the customer's history with its features (REPURCHASE_FEATURES)
 * at time `now`. `x` is reused: copy it to keep it.
 */
export function pairFeatures(history: readonly HistoryEntry[], now: number, facts: ItemFacts, emit: (item: number, x: Float64Array) => void): void {
  const { times: items, quantity: bought, orders, lastOrder } = ownItems(history, facts.propensity.length);
  const x = new Float64Array(F);
  for (const [item, times] of items) {
    const quantity = bought.get(item) ?? 0;
    const n = times.length;
    const last = times[n - 1];
    const recency = Math.pow(0.5, Math.max(0, now - last) / (60 * DAY_MS));
    // Buy-again's due bump with its default width and shortest gap (a day).
    const due = n >= 2 ? cycleDue(times, now, DAY_MS, 0.5) : 0;
    x[0] = Math.log1p(n);
    x[1] = logDays(now - last);
    x[2] = x[1] * x[1];
    x[3] = logDays(now - times[0]);
    x[4] = n / Math.max(1, orders);
    x[5] = Math.log1p(orders);
    x[6] = logDays(now - lastOrder);
    x[7] = Math.log1p(quantity);
    x[8] = recency;
    x[9] = x[0] * recency;
    x[10] = due;
    x[11] = facts.propensity[item];
    x[12] = facts.buyers[item];
    x[13] = facts.recent[item];
    x[14] = facts.trend[item];
    emit(item, x);
  }
}

/**
 * Item facts from the purchases before `before`, in one pass over each customer's events with a stamp
 * per item (no per-pair map, so a large shop costs its events, not its customer x item pairs).
 */
export function itemFacts(
  ds: Dataset,
  before: number,
  params: Pick<RepurchaseParams, 'recentDays' | 'trendDays' | 'propensityPrior'>,
  { indptr, events }: UserEvents = eventsByUser(ds),
): ItemFacts {
  const n = ds.itemIds.length;
  const buyers = new Float64Array(n);
  const repeaters = new Float64Array(n);
  const recent = new Float64Array(n);
  const trend = new Float64Array(n);
  // Per item, the customer last counted for it in each measure, and the order their purchase of it was last seen in.
  const bought = new Int32Array(n).fill(-1);
  const repeated = new Int32Array(n).fill(-1);
  const inRecent = new Int32Array(n).fill(-1);
  const inTrend = new Int32Array(n).fill(-1);
  const lastOrder = new Int32Array(n);
  const recentFrom = before - params.recentDays * DAY_MS;
  const trendFrom = before - params.trendDays * DAY_MS;
  let pairs = 0;
  let repeats = 0;
  for (let u = 0; u < ds.userIds.length; u++) {
    for (let p = indptr[u]; p < indptr[u + 1]; p++) {
      const e = events[p];
      const ts = ds.eventTs[e];
      if (ts >= before) break;
      const item = ds.eventItem[e];
      const order = ds.eventOrder[e];
      if (bought[item] !== u) {
        bought[item] = u;
        lastOrder[item] = order;
        buyers[item]++;
        pairs++;
      } else if (lastOrder[item] !== order) {
        // Distinct orders of a pair are counted as changes of order between its events, in time order.
        lastOrder[item] = order;
        if (repeated[item] !== u) {
          repeated[item] = u;
          repeaters[item]++;
          repeats++;
        }
      }
      if (ts >= recentFrom && inRecent[item] !== u) (inRecent[item] = u), recent[item]++;
      if (ts >= trendFrom && inTrend[item] !== u) (inTrend[item] = u), trend[item]++;
    }
  }
  const share = pairs ? repeats / pairs : 0;
  const prior = params.propensityPrior;
  const log1p = (a: Float64Array) => Float32Array.from(a, (v) => Math.log1p(v));
  return {
    propensity: Float32Array.from(buyers, (b, i) => (repeaters[i] + prior * share) / (b + prior || 1)),
    buyers: log1p(buyers),
    recent: log1p(recent),
    trend: log1p(trend),
  };
}

/**
 * The training pairs: for the customers who bought in the label window [start, ...), each item they had
 * bought before `start`, with its features at `start` (row-major, F per pair) and label 1 if they bought
 * it again in the window. Customers who bought nothing in the window say nothing about which items come
 * back, so only those who did give pairs (as the evaluation ranks only customers who buy). Above
 * `maxPairs`, every k-th such customer. Only the chosen customers' histories are built.
 */
function labelledPairs(ds: Dataset, start: number, facts: ItemFacts, maxPairs: number, { indptr, events }: UserEvents): { x: Float64Array; y: Uint8Array } {
  const n = ds.itemIds.length;
  // Customers with purchases on both sides of `start`, and their pairs before it.
  const seen = new Int32Array(n).fill(-1);
  const customers: number[] = [];
  let pairs = 0;
  for (let u = 0; u < ds.userIds.length; u++) {
    const from = indptr[u];
    const to = indptr[u + 1];
    if (to === from || ds.eventTs[events[from]] >= start || ds.eventTs[events[to - 1]] < start) continue;
    customers.push(u);
    for (let p = from; p < to && ds.eventTs[events[p]] < start; p++) {
      const item = ds.eventItem[events[p]];
      if (seen[item] !== u) (seen[item] = u), pairs++;
    }
  }
  const every = Math.max(1, Math.ceil(pairs / maxPairs));
  const x: number[] = [];
  const y: number[] = [];
  const later = new Int32Array(n).fill(-1);
  for (let c = 0; c < customers.length; c += every) {
    const u = customers[c];
    const history: HistoryEntry[] = [];
    for (let p = indptr[u]; p < indptr[u + 1]; p++) {
      const e = events[p];
      if (ds.eventTs[e] < start) history.push(eventEntry(ds, e));
      else later[ds.eventItem[e]] = u;
    }
    pairFeatures(history, start, facts, (item, features) => {
      for (const v of features) x.push(v);
      y.push(later[item] === u ? 1 : 0);
    });
  }
  return { x: Float64Array.from(x), y: Uint8Array.from(y) };
}

/**
 * Without labels to learn from (a label window with no repurchase, or nothing but), frequency and
 * recency alone: more orders of the item rank higher, an item bought longer ago lower.
 */
const FALLBACK = Float64Array.from({ length: F + 1 }, (_, f) => (f === 0 ? 1 : f === 1 ? -0.5 : 0));

function createRepurchase(params: RepurchaseParams, itemIds: readonly string[], facts: ItemFacts, coefficients: Float64Array, trainedNow: number): Recommender {
  const score = (ctx: UserContext, itemCount: number, set: (item: number, v: number) => void) => {
    pairFeatures(ctx.history, ctx.now ?? trainedNow, facts, (item, x) => {
      if (item >= itemCount) return;
      let s = coefficients[F];
      for (let f = 0; f < F; f++) s += coefficients[f] * x[f];
      set(item, 1 / (1 + Math.exp(-s)));
    });
  };
  return {
    name: ALGORITHM,
    scoreUser(ctx: UserContext, out: Float32Array) {
      out.fill(0);
      score(ctx, out.length, (item, v) => (out[item] = v));
    },
    /** Exact: only the customer's own items score. */
    scoreSparse(ctx: UserContext, out: SparseScores) {
      score(ctx, out.itemCount, (item, v) => out.set(item, v));
    },
    toArtifact() {
      return encodeArtifact(
        { algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params, meta: { now: trainedNow, itemIds, features: REPURCHASE_FEATURES } },
        { ...facts, coefficients },
      );
    },
  };
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): Recommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const meta = header.meta as { now?: unknown; itemIds?: unknown };
  if (typeof meta?.now !== 'number' || !Array.isArray(meta.itemIds)) throw new ArtifactFormatError('repurchase artifact: missing reference time or items');
  const itemIds = meta.itemIds as string[];
  const { coefficients } = arrays;
  if (!(coefficients instanceof Float64Array) || coefficients.length !== F + 1) throw new ArtifactFormatError('repurchase artifact: wrong number of coefficients');
  const map = itemRemap(itemIds, ds.itemIds);
  const facts = {} as ItemFacts;
  for (const name of FACTS) {
    const a = arrays[name];
    if (!(a instanceof Float32Array) || a.length !== itemIds.length) throw new ArtifactFormatError(`repurchase artifact: ${name} does not match the item list`);
    // Items added since training: the mean repurchase share, and no buyers.
    const missing = name === 'propensity' && a.length ? a.reduce((s, v) => s + v, 0) / a.length : 0;
    facts[name] = map ? Float32Array.from(map, (f) => (f >= 0 ? a[f] : missing)) : a;
  }
  return createRepurchase(parseParams(ALGORITHM, paramsSchema, header.params), [...ds.itemIds], facts, coefficients, meta.now);
}

/**
 * Learned repurchase: a logistic regression of "bought again within the next `labelDays`" on features
 * of each (customer, own item) pair (REPURCHASE_FEATURES), fitted on the last `labelDays` of the
 * training data with features as of that window's start. A customer's own items score their
 * predicted probability at the scoring time; everything else scores 0.
 */
export const repurchaseFactory = {
  name: ALGORITHM,
  parseParams: (raw: unknown) => parseParams(ALGORITHM, paramsSchema, raw),
  fit(ds: Dataset, params: RepurchaseParams): Recommender {
    const start = ds.now - params.labelDays * DAY_MS;
    const byUser = eventsByUser(ds);
    const pairs = labelledPairs(ds, start, itemFacts(ds, start, params, byUser), params.maxPairs, byUser);
    const coefficients = fitLogistic(pairs.x, pairs.y, F, params.l2, params.iterations) ?? FALLBACK;
    // The served facts count everything trained on: their windows end just after the latest purchase.
    const end = ds.eventTs.length ? Math.max(ds.now, ds.eventTs[ds.eventTs.length - 1] + 1) : ds.now;
    return createRepurchase(params, [...ds.itemIds], itemFacts(ds, end, params, byUser), coefficients, ds.now);
  },
  fromArtifact,
} satisfies RecommenderFactory<RepurchaseParams>;
