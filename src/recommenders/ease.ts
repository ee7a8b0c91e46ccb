import { z } from 'zod';
import { ArtifactFormatError, decodeArtifact, encodeArtifact } from './artifact.js';
import type { Dataset } from './dataset.js';
import { decay } from './decay.js';
import { regularisedGramInverse } from './ease-inverse.js';
import { recentDistinctItems } from './history.js';
import { userItemMatrix } from './interactions.js';
import { checkNeighbourLists, packNeighbourLists, remapNeighbourLists, type NeighbourLists } from './neighbour-lists.js';
import { OwnItems } from './own-items.js';
import { parseParams } from './parse-params.js';
import type { Neighbour, Recommender, RecommenderFactory, UserContext } from './recommender.js';
import { setBestNewAndOwn, SparseScores } from './sparse-scores.js';
import { TopKHeap } from './top-k-heap.js';

/**
 * Largest catalogue EASE inverts by default. The fit holds one dense n x n Float64Array (8 n^2 bytes:
 * 200 MB at 5,000 items) and costs ~n^3 / 2 multiply-adds (3,600 items: ~10-20 s on one core here;
 * less when the customers are fewer than the items, see ease-inverse.ts); both grow too fast beyond
 * this, so larger catalogues keep only their most-bought items (see maxItems).
 */
export const EASE_DEFAULT_MAX_ITEMS = 5000;

const paramsSchema = z.strictObject({
  /** L2 regularisation lambda added to the Gram matrix's diagonal; larger = smoother, more popular lists. */
  lambda: z.number().positive().default(400),
  /** User-item value in X: 1 per bought item (as in Steck 2019), or ln(1 + distinct orders). */
  weighting: z.enum(['binary', 'log']).default('binary'),
  /**
   * At most this many items enter the model. Only items bought in the training data enter it (one nobody
   * bought has a zero column in X: its weights are 0 either way, it would only cost a slot and its share of
   * the inversion); when more were bought, those with the most distinct buyers are kept and every other
   * item scores 0 (and says nothing as history). The fit's `info.restrictedTo` says when this happened.
   */
  maxItems: z.int().min(2).max(20_000).default(EASE_DEFAULT_MAX_ITEMS),
  /**
   * Weights kept per item row of B, the largest in absolute value (negative weights are kept: they
   * push items down); 0 keeps the whole dense row. Bounds the artifact at n * neighbours entries.
   */
  neighbours: z.int().min(0).default(500),
  /** Half-life in days of a history item's weight when scoring (null = every bought item counts 1). */
  historyHalfLifeDays: z.number().positive().nullable().default(null),
});
export type EaseParams = z.output<typeof paramsSchema>;

const ALGORITHM = 'ease';
const VERSION = 1;

/** What a fit wants the data team to know. */
export interface EaseInfo {
  /** Items in the model's index (the catalogue), those bought in the training data, and those in the model. */
  catalogItems: number;
  /** Absent from an artifact written before it was recorded. */
  boughtItems?: number;
  modelItems: number;
  /**
   * Set when bought items exceeded maxItems: only the most-bought `restrictedTo` of the `boughtItems` are
   * scored (null when every bought item is in the model, however large the catalogue).
   */
  restrictedTo: number | null;
}

export interface EaseRecommender extends Recommender {
  readonly info: EaseInfo;
}

function createEase(params: EaseParams, itemIds: readonly string[], rows: NeighbourLists, trainedNow: number, info: EaseInfo): EaseRecommender {
  const itemCount = rows.indptr.length - 1;
  /** Calls `add(j, v)` for each weighted row entry of the user's distinct history items. */
  const accumulate = (ctx: UserContext, add: (item: number, v: number) => void) => {
    const now = ctx.now ?? trainedNow;
    for (const { item, ts } of recentDistinctItems(ctx.history, itemCount)) {
      const w = decay(now, ts, params.historyHalfLifeDays);
      for (let p = rows.indptr[item]; p < rows.indptr[item + 1]; p++) add(rows.items[p], w * rows.scores[p]);
    }
  };
  // The sums of scoreSparse before its cut (rows hold negative weights too, so a sum is final only at the end).
  let sums: SparseScores | null = null;
  const own = new OwnItems();
  return {
    name: ALGORITHM,
    info,
    /** score(j) = sum over distinct history items i of x_i * B[i][j], x_i = 1 (or its recency decay). */
    scoreUser(ctx: UserContext, out: Float32Array) {
      out.fill(0);
      accumulate(ctx, (item, v) => (out[item] += v));
    },
    /**
     * The same sums over the rows of the user's items only, cut to the `limit` best positive ones the user
     * has not bought and the positive ones of their own items: what scoring the whole catalogue and cutting
     * it so gives, at the cost of the user's rows instead of the catalogue.
     */
    scoreSparse(ctx: UserContext, out: SparseScores, limit: number) {
      if (!sums || sums.itemCount !== out.itemCount) sums = new SparseScores(out.itemCount);
      const acc = sums;
      acc.clear();
      accumulate(ctx, (item, v) => acc.add(item, v));
      own.mark(ctx.history, out.itemCount);
      setBestNewAndOwn(acc, limit, out, own);
    },
    /** The items a one-item history {item} scores highest: row `item` of B, positive weights only. */
    similarItems(item: number, k: number): Neighbour[] {
      if (!Number.isInteger(item) || item < 0 || item >= itemCount) return [];
      const out: Neighbour[] = [];
      for (let p = rows.indptr[item]; p < rows.indptr[item + 1] && out.length < k; p++) {
        if (rows.scores[p] > 0) out.push({ item: rows.items[p], score: rows.scores[p] });
      }
      return out;
    },
    toArtifact() {
      return encodeArtifact(
        { algorithm: ALGORITHM, version: VERSION, trainedAt: new Date().toISOString(), params, meta: { itemIds, now: trainedNow, info } },
        { indptr: rows.indptr, items: rows.items, scores: rows.scores },
      );
    },
  };
}

/** Item indices of the model: every bought item, or the `max` with the most distinct buyers (ties: lower index). */
function modelItems(buyers: Int32Array, max: number): Int32Array {
  const bought: number[] = [];
  for (let i = 0; i < buyers.length; i++) if (buyers[i] > 0) bought.push(i);
  if (bought.length <= max) return Int32Array.from(bought);
  const chosen = bought.sort((a, b) => buyers[b] - buyers[a] || a - b).slice(0, max);
  return Int32Array.from(chosen.sort((a, b) => a - b));
}

/**
 * EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): the item-item weights minimising
 * ||X - X B||^2 + lambda ||B||^2 subject to diag(B) = 0 have the closed form
 *   P = (X^T X + lambda I)^-1,   B[i][j] = -P[i][j] / P[j][j]  (i != j),   B[j][j] = 0,
 * so a user's scores are x_u B. X is the user x item matrix (binary by default). P comes from the
 * Gram matrix inverted densely, or through the users' matrix when they are fewer and that is cheaper
 * (ease-inverse.ts), and each row of B is kept as its `neighbours` largest weights by absolute value,
 * best first.
 */
function fit(ds: Dataset, params: EaseParams): EaseRecommender {
  const x = userItemMatrix(ds);
  const itemCount = ds.itemIds.length;
  const buyers = new Int32Array(itemCount);
  for (let p = 0; p < x.indices.length; p++) buyers[x.indices[p]]++;
  const kept = modelItems(buyers, params.maxItems);
  const n = kept.length;
  const slot = new Int32Array(itemCount).fill(-1);
  kept.forEach((item, s) => (slot[item] = s));
  const value = (count: number) => (params.weighting === 'log' ? Math.log1p(count) : 1);

  // X over the kept items, users without any left out (they add nothing to X^T X).
  const indptr: number[] = [0];
  const slots: number[] = [];
  const values: number[] = [];
  for (let u = 0; u < x.rows; u++) {
    // Row indices ascend and slots preserve item order, so each row's slots ascend.
    for (let p = x.indptr[u]; p < x.indptr[u + 1]; p++) {
      const s = slot[x.indices[p]];
      if (s < 0) continue;
      slots.push(s);
      values.push(value(x.values[p]));
    }
    if (slots.length > indptr[indptr.length - 1]) indptr.push(slots.length);
  }
  const rows = { indptr: Int32Array.from(indptr), slots: Int32Array.from(slots), values: Float64Array.from(values) };
  const g = regularisedGramInverse(rows, n, params.lambda).p;

  const keep = params.neighbours > 0 ? Math.min(params.neighbours, Math.max(n - 1, 0)) : Math.max(n - 1, 0);
  // The diagonal of P, read once per weight: a contiguous copy instead of a stride of n + 1 through P.
  const diagonal = new Float64Array(n);
  for (let t = 0; t < n; t++) diagonal[t] = g[t * n + t];
  const lists: Neighbour[][] = [];
  for (let item = 0; item < itemCount; item++) {
    const s = slot[item];
    if (s < 0) {
      lists.push([]);
      continue;
    }
    const heap = new TopKHeap(keep);
    const rs = s * n;
    for (let t = 0; t < n; t++) {
      if (t === s) continue;
      const w = -g[rs + t] / diagonal[t];
      // Below the heap's threshold a weight cannot enter (push would reject it): skip the call.
      if (w !== 0 && Math.abs(w) >= heap.threshold) heap.push(t, Math.abs(w));
    }
    const row: Neighbour[] = [];
    heap.forEach((t) => row.push({ item: kept[t], score: -g[rs + t] / diagonal[t] }));
    lists.push(row.sort((a, b) => b.score - a.score || a.item - b.item));
  }
  let boughtItems = 0;
  for (const b of buyers) if (b > 0) boughtItems++;
  const info: EaseInfo = { catalogItems: itemCount, boughtItems, modelItems: n, restrictedTo: n < boughtItems ? n : null };
  return createEase(params, [...ds.itemIds], packNeighbourLists(lists), ds.now, info);
}

function fromArtifact(bytes: Uint8Array, ds: Pick<Dataset, 'itemIds'>): EaseRecommender {
  const { header, arrays } = decodeArtifact(bytes, { algorithm: ALGORITHM, version: VERSION });
  const { indptr, items, scores } = arrays;
  if (!(indptr instanceof Int32Array && items instanceof Int32Array && scores instanceof Float32Array)) {
    throw new ArtifactFormatError('ease artifact: unexpected array types');
  }
  const rows = { indptr, items, scores };
  const meta = header.meta as { itemIds: string[]; now: number; info: EaseInfo };
  checkNeighbourLists(rows, meta.itemIds.length, 'ease artifact');
  const params = parseParams(ALGORITHM, paramsSchema, header.params);
  const remapped = remapNeighbourLists(rows, meta.itemIds, ds.itemIds);
  if (!remapped) return createEase(params, meta.itemIds, rows, meta.now, meta.info);
  return createEase(params, [...ds.itemIds], remapped.lists, meta.now, meta.info);
}

/** EASE: closed-form linear item-item model (shallow autoencoder with a zero diagonal). */
export const easeFactory = {
  name: ALGORITHM,
  parseParams: (raw: unknown) => parseParams(ALGORITHM, paramsSchema, raw),
  fit,
  fromArtifact,
} satisfies RecommenderFactory<EaseParams>;
