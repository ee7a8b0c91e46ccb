import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { datasetHistories } from './history.js';
import { itemRemap } from './item-remap.js';
import { parseParams } from './parse-params.js';
import type { HistoryEntry, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import type { SparseScores } from './sparse-scores.js';
import { TopKHeap } from './top-k-heap.js';

const paramsSchema = z.strictObject({
  /** Most similar customers whose baskets are averaged. */
  neighbours: z.int().min(1).max(2000).default(100),
  /** Weight of an order one order older than the next: the newest order counts 1, the one before r, then r^2... */
  orderDecay: z.number().gt(0).max(1).default(0.9),
  /**
   * Share of the customer's own basket profile in the score (the rest is the neighbours'): 1 = only
   * their own items (a repeat model), 0 = only what similar customers buy.
   */
  alpha: z.number().min(0).max(1).default(0.5),
  /**
   * Customers kept per item in the similarity index (those whose profiles weigh the item most): bounds
   * what one scored customer costs however popular their items are.
   */
  maxItemBuyers: z.int().min(1).default(1000),
});
export type UserKnnParams = z.output<typeof paramsSchema>;

const ALGORITHM = 'user-knn';
const VERSION = 1;

/** Sparse rows, one per customer: items ascending, weights aligned. */
interface Profiles {
  indptr: Int32Array;
  items: Int32Array;
  weights: Float32Array;
}

/**
 * A customer's basket profile (TIFU-KNN, Hu et al. 2020, with one decay level): the decayed average of
 * their orders' item indicators, v[i] = sum over orders o holding i of r^age(o) / sum over orders of
 * r^age(o), where age is 0 for the newest order. Items outside [0, itemCount) are ignored.
 */
export function basketProfile(history: readonly HistoryEntry[], itemCount: number, orderDecay: number): Map<number, number> {
  const orderTs = new Map<string | number, number>();
  for (const h of history) {
    if (!Number.isInteger(h.item) || h.item < 0 || h.item >= itemCount) continue;
    const seen = orderTs.get(h.order);
    if (seen === undefined || h.ts < seen) orderTs.set(h.order, h.ts);
  }
  // Newest first; ties on time by order key, so the profile does not depend on event order.
  const orders = [...orderTs].sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0])));
  const weightOf = new Map<string | number, number>();
  let total = 0;
  let w = 1;
  for (const [order] of orders) {
    weightOf.set(order, w);
    total += w;
    w *= orderDecay;
  }
  // An item counts once per order: the orders already counted for it (few per item).
  const counted = new Map<number, (string | number)[]>();
  const profile = new Map<number, number>();
  for (const h of history) {
    const ow = weightOf.get(h.order);
    if (ow === undefined) continue;
    const orders = counted.get(h.item);
    if (orders === undefined) counted.set(h.item, [h.order]);
    else if (orders.includes(h.order)) continue;
    else orders.push(h.order);
    profile.set(h.item, (profile.get(h.item) ?? 0) + ow / total);
  }
  return profile;
}

function packProfiles(rows: Map<number, number>[]): Profiles {
  const indptr = new Int32Array(rows.length + 1);
  rows.forEach((r, u) => (indptr[u + 1] = indptr[u] + r.size));
  const items = new Int32Array(indptr[rows.length]);
  const weights = new Float32Array(indptr[rows.length]);
  rows.forEach((r, u) => {
    let p = indptr[u];
    for (const [item, w] of [...r].sort((a, b) => a[0] - b[0])) {
      items[p] = item;
      weights[p++] = w;
    }
  });
  return { indptr, items, weights };
}

/**
 * Per item, the customers whose unit-length profiles weigh it most (at most `cap`), with those
 * weights: a customer's cosine with every other is then a walk over their own items' lists. Item i's
 * list is userOf / weightOf[indptr[i], ends[i]) (ends[i] = indptr[i + 1] until customers are forgotten).
 */
function similarityIndex(profiles: Profiles, itemCount: number, cap: number) {
  const users = profiles.indptr.length - 1;
  const norm = new Float64Array(users);
  for (let u = 0; u < users; u++) {
    let s = 0;
    for (let p = profiles.indptr[u]; p < profiles.indptr[u + 1]; p++) s += profiles.weights[p] * profiles.weights[p];
    norm[u] = Math.sqrt(s);
  }
  const byItem: { user: number; w: number }[][] = Array.from({ length: itemCount }, () => []);
  for (let u = 0; u < users; u++) {
    for (let p = profiles.indptr[u]; p < profiles.indptr[u + 1]; p++) byItem[profiles.items[p]].push({ user: u, w: profiles.weights[p] / norm[u] });
  }
  const indptr = new Int32Array(itemCount + 1);
  for (let i = 0; i < itemCount; i++) {
    byItem[i] = strongest(byItem[i], cap);
    indptr[i + 1] = indptr[i] + byItem[i].length;
  }
  const userOf = new Int32Array(indptr[itemCount]);
  const weightOf = new Float32Array(indptr[itemCount]);
  for (let i = 0; i < itemCount; i++) writeList(userOf, weightOf, indptr[i], byItem[i]);
  return { indptr, ends: indptr.slice(1), userOf, weightOf, norm };
}
type SimilarityIndex = ReturnType<typeof similarityIndex>;

/** The `cap` buyers weighing an item most (ties to the lower customer), or all of them when that many or fewer. */
function strongest(buyers: { user: number; w: number }[], cap: number) {
  return buyers.length > cap ? buyers.sort((a, b) => b.w - a.w || a.user - b.user).slice(0, cap) : buyers;
}

function writeList(userOf: Int32Array, weightOf: Float32Array, from: number, buyers: readonly { user: number; w: number }[]): void {
  let p = from;
  for (const e of buyers) {
    userOf[p] = e.user;
    weightOf[p++] = e.w;
  }
}

/**
 * The index as similarityIndex would build it from `profiles`, given that only the lists of `items`
 * changed (customers who bought them were emptied): those lists are built again, in place (a list
 * never grows when customers leave), from one pass over the profiles. Other customers' norms stay.
 */
function reindexItems(index: SimilarityIndex, profiles: Profiles, items: ReadonlySet<number>, cap: number): void {
  const byItem = new Map<number, { user: number; w: number }[]>([...items].map((i) => [i, []]));
  for (let u = 0; u + 1 < profiles.indptr.length; u++) {
    for (let p = profiles.indptr[u]; p < profiles.indptr[u + 1]; p++) byItem.get(profiles.items[p])?.push({ user: u, w: profiles.weights[p] / index.norm[u] });
  }
  for (const [i, buyers] of byItem) {
    const list = strongest(buyers, cap);
    writeList(index.userOf, index.weightOf, index.indptr[i], list);
    index.ends[i] = index.indptr[i] + list.length;
  }
}

/** The profiles with the rows of `rows` emptied (their items and weights gone; every other row as it was). */
function withoutRows(profiles: Profiles, rows: ReadonlySet<number>): Profiles {
  const { indptr, items, weights } = profiles;
  const keep: number[] = [];
  const nextIndptr = new Int32Array(indptr.length);
  for (let u = 0; u + 1 < indptr.length; u++) {
    if (!rows.has(u)) for (let p = indptr[u]; p < indptr[u + 1]; p++) keep.push(p);
    nextIndptr[u + 1] = keep.length;
  }
  return { indptr: nextIndptr, items: Int32Array.from(keep, (p) => items[p]), weights: Float32Array.from(keep, (p) => weights[p]) };
}

/** Whether any of `rows` is a customer of `profiles` with a non-empty basket. */
const anyBasket = (profiles: Profiles, rows: ReadonlySet<number>) =>
  [...rows].some((u) => u >= 0 && u + 1 < profiles.indptr.length && profiles.indptr[u + 1] > profiles.indptr[u]);

function createUserKnn(params: UserKnnParams, itemIds: readonly string[], fitted: Profiles, trainedNow: number): Recommender {
  const itemCount = itemIds.length;
  const userCount = fitted.indptr.length - 1;
  // Replaced (with customers' rows emptied) when customers are forgotten.
  let profiles = fitted;
  const index = similarityIndex(profiles, itemCount, params.maxItemBuyers);
  // Scratch reused across calls (scoring is synchronous): dot products per customer and who was touched.
  const dot = new Float64Array(userCount);
  const touched = new Int32Array(userCount);
  // And per item, for scoreSparse's cut.
  const acc = new Float64Array(itemCount);
  const accTouched = new Int32Array(itemCount);

  /**
   * Calls add(item, score) once per (source, item) pair: own profile and each neighbour's. Returns the
   * customer's own profile (their items).
   */
  const score = (ctx: UserContext, add: (item: number, v: number) => void): Map<number, number> => {
    const own = basketProfile(ctx.history, itemCount, params.orderDecay);
    if (own.size === 0) return own;
    let norm = 0;
    for (const w of own.values()) norm += w * w;
    norm = Math.sqrt(norm);
    let n = 0;
    for (const [item, w] of own) {
      const q = w / norm;
      for (let p = index.indptr[item]; p < index.ends[item]; p++) {
        const v = index.userOf[p];
        if (v === ctx.user) continue;
        if (dot[v] === 0) touched[n++] = v;
        dot[v] += q * index.weightOf[p];
      }
    }
    const top = new TopKHeap(params.neighbours);
    for (let t = 0; t < n; t++) {
      const v = touched[t];
      top.push(v, dot[v]);
      dot[v] = 0;
    }
    const near = top.result();
    if (params.alpha > 0) for (const [item, w] of own) add(item, params.alpha * w);
    let simSum = 0;
    for (const nb of near) simSum += nb.score;
    if (params.alpha >= 1 || !(simSum > 0)) return own;
    for (const nb of near) {
      const f = ((1 - params.alpha) * nb.score) / simSum;
      for (let p = profiles.indptr[nb.item]; p < profiles.indptr[nb.item + 1]; p++) add(profiles.items[p], f * profiles.weights[p]);
    }
    return own;
  };

  return {
    name: ALGORITHM,
    scoreUser(ctx: UserContext, out: Float32Array) {
      out.fill(0);
      score(ctx, (item, v) => {
        if (item < out.length) out[item] += v;
      });
    },
    /**
     * The customer's own items and the `limit` best of the rest: a hundred neighbours' profiles touch
     * thousands of items, most with a negligible share, and every candidate costs the blend (and ALS,
     * which ranks the pool) a little.
     */
    scoreSparse(ctx: UserContext, out: SparseScores, limit: number) {
      let n = 0;
      const own = score(ctx, (item, v) => {
        if (acc[item] === 0) accTouched[n++] = item;
        acc[item] += v;
      });
      const heap = n > limit ? new TopKHeap(limit) : null;
      for (let t = 0; t < n; t++) {
        const item = accTouched[t];
        if (heap === null || own.has(item)) out.set(item, acc[item]);
        else heap.push(item, acc[item]);
      }
      if (heap) for (const top of heap.result()) out.set(top.item, acc[top.item]);
      for (let t = 0; t < n; t++) acc[accTouched[t]] = 0;
    },
    /**
     * In this copy, what withoutUsers does to the artifact: the customers' baskets emptied, and the
     * buyer lists of their items built again without them (a list cut at maxItemBuyers takes the next
     * buyer in), so nobody gets them as a neighbour and every score is the scrubbed artifact's.
     */
    forgetUsers(rows: ReadonlySet<number>) {
      if (!anyBasket(profiles, rows)) return;
      const items = new Set<number>();
      for (const u of rows) if (u >= 0 && u < userCount) for (let p = profiles.indptr[u]; p < profiles.indptr[u + 1]; p++) items.add(profiles.items[p]);
      profiles = withoutRows(profiles, rows);
      reindexItems(index, profiles, items, params.maxItemBuyers);
    },
    toArtifact() {
      return encodeArtifact(
        { algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params, meta: { itemIds, now: trainedNow } },
        { indptr: profiles.indptr, items: profiles.items, weights: profiles.weights },
      );
    },
  };
}

function fit(ds: Dataset, params: UserKnnParams): Recommender {
  const histories = datasetHistories(ds);
  const rows = histories.map((h) => basketProfile(h, ds.itemIds.length, params.orderDecay));
  return createUserKnn(params, [...ds.itemIds], packProfiles(rows), ds.now);
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): Recommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const { indptr, items, weights } = arrays;
  if (!(indptr instanceof Int32Array && items instanceof Int32Array && weights instanceof Float32Array) || items.length !== weights.length) {
    throw new ArtifactFormatError('user-knn artifact: unexpected arrays');
  }
  const meta = header.meta as { itemIds: string[]; now: number };
  if (!Array.isArray(meta?.itemIds) || typeof meta.now !== 'number') throw new ArtifactFormatError('user-knn artifact: missing item ids or reference time');
  if (indptr[indptr.length - 1] !== items.length || items.some((i) => i < 0 || i >= meta.itemIds.length)) {
    throw new ArtifactFormatError('user-knn artifact: profiles do not match the item list');
  }
  const params = parseParams(ALGORITHM, paramsSchema, header.params);
  const map = itemRemap(meta.itemIds, ds.itemIds);
  if (!map) return createUserKnn(params, meta.itemIds, { indptr, items, weights }, meta.now);
  // Items of the fitted catalogue that are gone are dropped from the profiles; new items have no buyers yet.
  const toCurrent = new Int32Array(meta.itemIds.length).fill(-1);
  map.forEach((fitted, current) => fitted >= 0 && (toCurrent[fitted] = current));
  const rows: Map<number, number>[] = [];
  for (let u = 0; u + 1 < indptr.length; u++) {
    const row = new Map<number, number>();
    for (let p = indptr[u]; p < indptr[u + 1]; p++) if (toCurrent[items[p]] >= 0) row.set(toCurrent[items[p]], weights[p]);
    rows.push(row);
  }
  return createUserKnn(params, [...ds.itemIds], packProfiles(rows), meta.now);
}

/**
 * User-based collaborative filtering on decayed basket profiles (TIFU-KNN): a customer's score of an
 * item mixes their own profile (how much of their recent ordering the item is) with the similarity-
 * weighted mean profile of the `neighbours` most similar customers (cosine). Ranks repeat buys and
 * new items on one scale.
 */
export const userKnnFactory = {
  name: ALGORITHM,
  parseParams: (raw: unknown) => parseParams(ALGORITHM, paramsSchema, raw),
  fit,
  fromArtifact,
  withoutUsers,
} satisfies RecommenderFactory<UserKnnParams>;

/** The customers' basket profiles emptied: they are nobody's neighbour any more, and score as new customers. */
function withoutUsers(bytes: Uint8Array, rows: ReadonlySet<number>): Uint8Array | null {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const { indptr, items, weights } = arrays;
  if (!(indptr instanceof Int32Array && items instanceof Int32Array && weights instanceof Float32Array)) throw new ArtifactFormatError('user-knn artifact: unexpected arrays');
  const profiles = { indptr, items, weights };
  if (!anyBasket(profiles, rows)) return null;
  return encodeArtifact(header, { ...withoutRows(profiles, rows) });
}
