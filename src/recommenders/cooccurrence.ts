import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { recentDistinctItems } from './history.js';
import {
  checkNeighbourLists,
  neighboursOf,
  NeighbourListBuilder,
  remapNeighbourLists,
  remapPerItem,
  type NeighbourLists,
} from './neighbour-lists.js';
import { parseParams } from './parse-params.js';
import type { Neighbour, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import type { SparseScores } from './sparse-scores.js';
import { TopKHeap } from './top-k-heap.js';

const paramsSchema = z.strictObject({
  /** Fewest orders containing both items for a pair to be kept. */
  minSupport: z.int().min(1).default(3),
  /**
   * Fewest distinct customers who bought both items together for a pair to be kept: one customer's
   * standing order, repeated every week, is that customer's habit, not what customers buy together.
   */
  minCustomers: z.int().min(1).default(1),
  /** Pairs kept per item. */
  topN: z.int().min(1).max(1000).default(50),
  /** How neighbours are ranked; see `pairScore`. */
  score: z.enum(['added-value', 'confidence', 'lift', 'support']).default('added-value'),
  /** Orders with more distinct items than this are ignored (0 = no limit): huge wholesale baskets pair everything. */
  maxBasketSize: z.int().min(0).default(0),
  /** How many of the user's most recent distinct items seed `scoreUser`. */
  recentItems: z.int().min(1).default(20),
  /**
   * Views and add-to-carts have no order: a user's signals with gaps of at most this many minutes form
   * one session, counted as a basket (see basketItems). Unused on purchase-only data.
   */
  sessionGapMinutes: z.number().positive().max(7 * 24 * 60).default(30),
});
export type CooccurrenceParams = z.output<typeof paramsSchema>;

/** One "bought together" pair a -> b with its market-basket statistics. */
export interface BoughtTogether {
  item: number;
  /** Orders containing both items (plus view/cart sessions at their weight, see basketItems). */
  support: number;
  /** P(b | a) = support / orders(a). */
  confidence: number;
  /** P(a and b) / (P(a) P(b)) = support * orders / (orders(a) * orders(b)); > 1 means bought together more than by chance. */
  lift: number;
  /** The ranking score (params.score). */
  score: number;
}

export interface CooccurrenceRecommender extends Recommender {
  /** Items most often bought in the same order as `item`, best first by the configured score. */
  boughtTogether(item: number, k: number): BoughtTogether[];
}

const ALGORITHM = 'cooccurrence';
/** v2 stores supports as float32 (weighted sessions make them fractional); v1 (int32) still loads. */
const VERSION = 2;

/**
 * Ranking score of the pair a -> b from its counts (s = support of the pair, sa/sb = orders with a/b,
 * n = orders). The default, added value = P(b|a) - P(b) = confidence * (1 - 1/lift), is confidence
 * damped by lift: a bestseller that is in every other basket gains nothing from being in a's baskets.
 */
export function pairScore(kind: CooccurrenceParams['score'], s: number, sa: number, sb: number, n: number): number {
  switch (kind) {
    case 'confidence':
      return s / sa;
    case 'lift':
      return (s * n) / (sa * sb);
    case 'support':
      return s;
    case 'added-value':
      return s / sa - sb / n;
  }
}

/**
 * Baskets: each order's distinct items (weight 1), then, when the dataset has views, carts or ratings,
 * each session of them: a user's signals in time order, cut where two are more than `gapMs` apart.
 * An item's weight in a session is its strongest signal's weight, capped at 1 (one order): a session
 * in which a and b were only viewed adds w_view to their pair's support, one in which both were carted
 * w_cart, i.e. support(a, b) = orders with both + sum over sessions of min(w_a, w_b). Purchases alone
 * give weight 1 everywhere, the plain counts. Baskets above maxBasketSize distinct items are skipped.
 */
function basketItems(ds: Dataset, maxBasketSize: number, gapMs: number): { indptr: Int32Array; items: Int32Array; weights: Float32Array; users: Int32Array; count: number } {
  const orders = ds.orderCount;
  const start = new Int32Array(orders + 1);
  for (let e = 0; e < ds.eventOrder.length; e++) start[ds.eventOrder[e] + 1]++;
  for (let o = 0; o < orders; o++) start[o + 1] += start[o];
  const raw = new Int32Array(ds.eventOrder.length);
  const fill = start.slice(0, orders);
  for (let e = 0; e < ds.eventOrder.length; e++) raw[fill[ds.eventOrder[e]]++] = ds.eventItem[e];
  const sig = ds.signals;
  const nSig = sig?.user.length ?? 0;
  // Deduplicate within each basket with a "last basket seen" mark per item (and its slot, for sessions).
  const mark = new Int32Array(ds.itemIds.length).fill(-1);
  const slot = new Int32Array(ds.itemIds.length);
  const indptr: number[] = [0];
  // Each basket's customer: an order's (all its events are one customer's), a session's.
  const basketUsers: number[] = new Array(orders).fill(-1);
  for (let e = 0; e < ds.eventOrder.length; e++) basketUsers[ds.eventOrder[e]] = ds.eventUser[e];
  const items = new Int32Array(raw.length + nSig);
  const weights = new Float32Array(raw.length + nSig);
  let p = 0;
  for (let o = 0; o < orders; o++) {
    const from = p;
    for (let q = start[o]; q < start[o + 1]; q++) {
      const i = raw[q];
      if (mark[i] !== o) {
        mark[i] = o;
        items[p] = i;
        weights[p++] = 1;
      }
    }
    if (maxBasketSize > 0 && p - from > maxBasketSize) p = from;
    indptr.push(p);
  }
  if (sig && nSig > 0) {
    // Signals by user (counting sort into one Int32Array: views may be 10-100x the purchases), then
    // each user's by time.
    const users = ds.userIds.length;
    const from0 = new Int32Array(users + 1);
    for (let k = 0; k < nSig; k++) from0[sig.user[k] + 1]++;
    for (let u = 0; u < users; u++) from0[u + 1] += from0[u];
    const bySignal = new Int32Array(nSig);
    const next = from0.slice(0, users);
    for (let k = 0; k < nSig; k++) bySignal[next[sig.user[k]]++] = k;
    for (let u = 0; u < users; u++) {
      if (from0[u + 1] - from0[u] > 1) bySignal.subarray(from0[u], from0[u + 1]).sort((a, b) => sig.ts[a] - sig.ts[b] || a - b);
    }
    let basket = orders;
    let from = p;
    for (let k = 0; k < nSig; k++) {
      const s = bySignal[k];
      const prev = k > 0 ? bySignal[k - 1] : -1;
      if (prev >= 0 && (sig.user[prev] !== sig.user[s] || sig.ts[s] - sig.ts[prev] > gapMs)) {
        if (maxBasketSize > 0 && p - from > maxBasketSize) p = from;
        indptr.push(p);
        basketUsers.push(sig.user[prev]);
        basket++;
        from = p;
      }
      const i = sig.item[s];
      const w = Math.min(1, sig.weight[s]);
      if (mark[i] !== basket) {
        mark[i] = basket;
        slot[i] = p;
        items[p] = i;
        weights[p++] = w;
      } else if (w > weights[slot[i]]) weights[slot[i]] = w;
    }
    if (maxBasketSize > 0 && p - from > maxBasketSize) p = from;
    indptr.push(p);
    basketUsers.push(sig.user[bySignal[nSig - 1]]);
  }
  return { indptr: Int32Array.from(indptr), items: items.slice(0, p), weights: weights.slice(0, p), users: Int32Array.from(basketUsers), count: indptr.length - 1 };
}

interface CooccurrenceState {
  itemIds: readonly string[];
  lists: NeighbourLists;
  /** Pair support aligned with lists.items. */
  pairSupport: Float32Array;
  /** Orders (and weighted sessions) containing each item. */
  itemSupport: Float32Array;
  /** Orders counted (after the basket-size limit), plus each session at its strongest item's weight. */
  orders: number;
}

function createCooccurrence(params: CooccurrenceParams, state: CooccurrenceState): CooccurrenceRecommender {
  const { itemIds, lists, pairSupport, itemSupport, orders } = state;
  const itemCount = itemSupport.length;
  return {
    name: ALGORITHM,
    scoreUser(ctx: UserContext, out: Float32Array) {
      out.fill(0);
      // Sum of neighbour scores over the user's latest items: what goes with what they just bought.
      for (const { item } of recentDistinctItems(ctx.history, itemCount, params.recentItems)) {
        for (let p = lists.indptr[item]; p < lists.indptr[item + 1]; p++) out[lists.items[p]] += lists.scores[p];
      }
    },
    /** Exact: only the partners of the user's latest items score. */
    scoreSparse(ctx: UserContext, out: SparseScores) {
      for (const { item } of recentDistinctItems(ctx.history, itemCount, params.recentItems)) {
        for (let p = lists.indptr[item]; p < lists.indptr[item + 1]; p++) out.add(lists.items[p], lists.scores[p]);
      }
    },
    similarItems(item: number, k: number): Neighbour[] {
      return neighboursOf(lists, item, k);
    },
    boughtTogether(item: number, k: number): BoughtTogether[] {
      if (!Number.isInteger(item) || item < 0 || item >= itemCount) return [];
      const out: BoughtTogether[] = [];
      const end = Math.min(lists.indptr[item + 1], lists.indptr[item] + Math.max(0, k));
      for (let p = lists.indptr[item]; p < end; p++) {
        const b = lists.items[p];
        const s = pairSupport[p];
        out.push({
          item: b,
          support: s,
          confidence: s / itemSupport[item],
          lift: (s * orders) / (itemSupport[item] * itemSupport[b]),
          score: lists.scores[p],
        });
      }
      return out;
    },
    toArtifact() {
      return encodeArtifact(
        { algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params, meta: { itemIds, orders } },
        { indptr: lists.indptr, items: lists.items, scores: lists.scores, pairSupport, itemSupport },
      );
    },
  };
}

/**
 * Counts, for every item a, the (weighted) baskets shared with each other item b by walking a's baskets
 * with a dense count row (cost: sum over baskets of basket size squared), then keeps a's topN pairs
 * with support >= minSupport and a positive score. A pair's share of a basket is min(w_a, w_b), which
 * is 1 for every order: on purchases alone the supports are the plain order counts.
 */
function fit(ds: Dataset, params: CooccurrenceParams): CooccurrenceRecommender {
  const itemCount = ds.itemIds.length;
  const baskets = basketItems(ds, params.maxBasketSize, params.sessionGapMinutes * 60_000);
  let orders = 0;
  for (let o = 0; o < baskets.count; o++) {
    let w = 0;
    for (let q = baskets.indptr[o]; q < baskets.indptr[o + 1]; q++) w = Math.max(w, baskets.weights[q]);
    orders += w;
  }
  // Transpose to item -> baskets.
  const itemPtr = new Int32Array(itemCount + 1);
  for (const i of baskets.items) itemPtr[i + 1]++;
  for (let i = 0; i < itemCount; i++) itemPtr[i + 1] += itemPtr[i];
  const itemBaskets = new Int32Array(baskets.items.length);
  const itemWeight = new Float32Array(baskets.items.length);
  const itemSupport = new Float64Array(itemCount);
  const fill = itemPtr.slice(0, itemCount);
  // Baskets by customer, so each item's baskets come customer by customer and the distinct customers of
  // a pair are counted with one "last customer" mark per item.
  const byCustomer = Int32Array.from({ length: baskets.count }, (_, o) => o).sort((x, y) => baskets.users[x] - baskets.users[y] || x - y);
  for (const o of byCustomer) {
    for (let q = baskets.indptr[o]; q < baskets.indptr[o + 1]; q++) {
      const i = baskets.items[q];
      const at = fill[i]++;
      itemBaskets[at] = o;
      itemWeight[at] = baskets.weights[q];
      itemSupport[i] += baskets.weights[q];
    }
  }

  const co = new Float64Array(itemCount);
  const customers = new Int32Array(itemCount);
  const lastCustomer = new Int32Array(itemCount).fill(-1);
  const touched = new Int32Array(itemCount);
  const lists = new NeighbourListBuilder(itemCount, params.topN);
  const supports: number[] = [];
  const top = new TopKHeap(params.topN);
  for (let a = 0; a < itemCount; a++) {
    let nTouched = 0;
    if (itemSupport[a] >= params.minSupport) {
      for (let p = itemPtr[a]; p < itemPtr[a + 1]; p++) {
        const o = itemBaskets[p];
        const wa = itemWeight[p];
        const customer = baskets.users[o];
        for (let q = baskets.indptr[o]; q < baskets.indptr[o + 1]; q++) {
          const b = baskets.items[q];
          if (co[b] === 0) touched[nTouched++] = b;
          co[b] += Math.min(wa, baskets.weights[q]);
          if (lastCustomer[b] !== customer) {
            lastCustomer[b] = customer;
            customers[b]++;
          }
        }
      }
    }
    for (let t = 0; t < nTouched; t++) {
      const b = touched[t];
      const s = co[b];
      if (b === a || s < params.minSupport || customers[b] < params.minCustomers) continue;
      const score = pairScore(params.score, s, itemSupport[a], itemSupport[b], orders);
      if (score > 0) top.push(b, score);
    }
    const count = top.length;
    const start = lists.add(top);
    for (let p = start; p < start + count; p++) supports.push(co[lists.itemAt(p)]);
    for (let t = 0; t < nTouched; t++) {
      const b = touched[t];
      co[b] = 0;
      customers[b] = 0;
      lastCustomer[b] = -1;
    }
  }
  return createCooccurrence(params, {
    itemIds: [...ds.itemIds],
    lists: lists.finish(),
    pairSupport: Float32Array.from(supports),
    itemSupport: Float32Array.from(itemSupport),
    orders,
  });
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): CooccurrenceRecommender {
  const { header, arrays } = decodeArtifact(bytes);
  if (header.algorithm !== ALGORITHM || (header.version !== 1 && header.version !== VERSION)) {
    throw new ArtifactFormatError(`expected ${ALGORITHM} v1 or v${VERSION}, got ${header.algorithm} v${header.version}`);
  }
  const meta = header.meta as { itemIds: string[]; orders: number };
  const { indptr, items, scores } = arrays;
  // v1 (before views and carts) stored whole counts as int32.
  const asFloat = (a: unknown) => (a instanceof Float32Array ? a : a instanceof Int32Array ? Float32Array.from(a) : null);
  const pairSupport = asFloat(arrays.pairSupport);
  const itemSupport = asFloat(arrays.itemSupport);
  if (
    !(indptr instanceof Int32Array && items instanceof Int32Array && scores instanceof Float32Array) ||
    !pairSupport || !itemSupport ||
    pairSupport.length !== items.length ||
    itemSupport.length !== meta.itemIds.length
  ) {
    throw new ArtifactFormatError('cooccurrence artifact: arrays do not match the header');
  }
  const lists = { indptr, items, scores };
  checkNeighbourLists(lists, meta.itemIds.length, 'cooccurrence artifact');
  const params = parseParams(ALGORITHM, paramsSchema, header.params);
  const remapped = remapNeighbourLists(lists, meta.itemIds, ds.itemIds);
  if (!remapped) return createCooccurrence(params, { itemIds: meta.itemIds, lists, pairSupport, itemSupport, orders: meta.orders });
  return createCooccurrence(params, {
    itemIds: [...ds.itemIds],
    lists: remapped.lists,
    pairSupport: Float32Array.from(remapped.from, (p) => pairSupport[p]),
    itemSupport: remapPerItem(itemSupport, remapped.map),
    orders: meta.orders,
  });
}

/** Market-basket co-occurrence: items bought in the same order, with support, confidence and lift. */
export const cooccurrenceFactory = {
  name: ALGORITHM,
  parseParams: (raw: unknown) => parseParams(ALGORITHM, paramsSchema, raw),
  fit,
  fromArtifact,
} satisfies RecommenderFactory<CooccurrenceParams>;

/** Narrows a fitted recommender to co-occurrence (for `GET /v1/items/:id/bought-together`). */
export function isCooccurrenceRecommender(r: Recommender): r is CooccurrenceRecommender {
  return r.name === ALGORITHM && typeof (r as Partial<CooccurrenceRecommender>).boughtTogether === 'function';
}
