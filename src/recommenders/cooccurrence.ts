import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { recentDistinctItems } from './history.js';
import {
  checkNeighbourLists,
  neighboursOf,
  packNeighbourLists,
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
  /** Pairs kept per item. */
  topN: z.int().min(1).max(1000).default(50),
  /** How neighbours are ranked; see `pairScore`. */
  score: z.enum(['added-value', 'confidence', 'lift', 'support']).default('added-value'),
  /** Orders with more distinct items than this are ignored (0 = no limit): huge wholesale baskets pair everything. */
  maxBasketSize: z.int().min(0).default(0),
  /** How many of the user's most recent distinct items seed `scoreUser`. */
  recentItems: z.int().min(1).default(20),
});
export type CooccurrenceParams = z.output<typeof paramsSchema>;

/** One "bought together" pair a -> b with its market-basket statistics. */
export interface BoughtTogether {
  item: number;
  /** Orders containing both items. */
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
const VERSION = 1;

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

/** Groups each order's distinct items: CSR order -> items, skipping baskets above the size limit. */
function basketItems(ds: Dataset, maxBasketSize: number): { indptr: Int32Array; items: Int32Array } {
  const orders = ds.orderCount;
  const start = new Int32Array(orders + 1);
  for (let e = 0; e < ds.eventOrder.length; e++) start[ds.eventOrder[e] + 1]++;
  for (let o = 0; o < orders; o++) start[o + 1] += start[o];
  const raw = new Int32Array(ds.eventOrder.length);
  const fill = start.slice(0, orders);
  for (let e = 0; e < ds.eventOrder.length; e++) raw[fill[ds.eventOrder[e]]++] = ds.eventItem[e];
  // Deduplicate within each order with a "last order seen" mark per item.
  const mark = new Int32Array(ds.itemIds.length).fill(-1);
  const indptr = new Int32Array(orders + 1);
  const items = new Int32Array(raw.length);
  let p = 0;
  for (let o = 0; o < orders; o++) {
    const from = p;
    for (let q = start[o]; q < start[o + 1]; q++) {
      const i = raw[q];
      if (mark[i] !== o) {
        mark[i] = o;
        items[p++] = i;
      }
    }
    if (maxBasketSize > 0 && p - from > maxBasketSize) p = from;
    indptr[o + 1] = p;
  }
  return { indptr, items: items.slice(0, p) };
}

interface CooccurrenceState {
  itemIds: readonly string[];
  lists: NeighbourLists;
  /** Pair support aligned with lists.items. */
  pairSupport: Int32Array;
  /** Orders containing each item. */
  itemSupport: Int32Array;
  /** Orders counted (after the basket-size limit). */
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
 * Counts, for every item a, the orders shared with each other item b by walking a's orders with a
 * dense count row (cost: sum over orders of basket size squared), then keeps a's topN pairs with
 * support >= minSupport and a positive score.
 */
function fit(ds: Dataset, params: CooccurrenceParams): CooccurrenceRecommender {
  const itemCount = ds.itemIds.length;
  const baskets = basketItems(ds, params.maxBasketSize);
  let orders = 0;
  for (let o = 0; o < ds.orderCount; o++) if (baskets.indptr[o + 1] > baskets.indptr[o]) orders++;
  // Transpose to item -> orders.
  const itemPtr = new Int32Array(itemCount + 1);
  for (const i of baskets.items) itemPtr[i + 1]++;
  for (let i = 0; i < itemCount; i++) itemPtr[i + 1] += itemPtr[i];
  const itemSupport = new Int32Array(itemCount);
  for (let i = 0; i < itemCount; i++) itemSupport[i] = itemPtr[i + 1] - itemPtr[i];
  const itemOrders = new Int32Array(baskets.items.length);
  const fill = itemPtr.slice(0, itemCount);
  for (let o = 0; o < ds.orderCount; o++) {
    for (let q = baskets.indptr[o]; q < baskets.indptr[o + 1]; q++) itemOrders[fill[baskets.items[q]]++] = o;
  }

  const co = new Int32Array(itemCount);
  const touched = new Int32Array(itemCount);
  const lists: Neighbour[][] = [];
  const supports: number[][] = [];
  for (let a = 0; a < itemCount; a++) {
    let nTouched = 0;
    if (itemSupport[a] >= params.minSupport) {
      for (let p = itemPtr[a]; p < itemPtr[a + 1]; p++) {
        const o = itemOrders[p];
        for (let q = baskets.indptr[o]; q < baskets.indptr[o + 1]; q++) {
          const b = baskets.items[q];
          if (co[b]++ === 0) touched[nTouched++] = b;
        }
      }
    }
    const top = new TopKHeap(params.topN);
    for (let t = 0; t < nTouched; t++) {
      const b = touched[t];
      const s = co[b];
      if (b === a || s < params.minSupport) continue;
      const score = pairScore(params.score, s, itemSupport[a], itemSupport[b], orders);
      if (score > 0) top.push(b, score);
    }
    const kept = top.result();
    lists.push(kept);
    supports.push(kept.map((n) => co[n.item]));
    for (let t = 0; t < nTouched; t++) co[touched[t]] = 0;
  }
  return createCooccurrence(params, {
    itemIds: [...ds.itemIds],
    lists: packNeighbourLists(lists),
    pairSupport: Int32Array.from(supports.flat()),
    itemSupport,
    orders,
  });
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): CooccurrenceRecommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const meta = header.meta as { itemIds: string[]; orders: number };
  const { indptr, items, scores, pairSupport, itemSupport } = arrays;
  if (
    !(indptr instanceof Int32Array && items instanceof Int32Array && scores instanceof Float32Array) ||
    !(pairSupport instanceof Int32Array && itemSupport instanceof Int32Array) ||
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
    pairSupport: remapped.from.map((p) => pairSupport[p]),
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
