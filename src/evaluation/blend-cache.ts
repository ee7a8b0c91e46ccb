import { distinctOrderCount } from '../recommenders/history.js';
import { blendWeights, discoveryDiscount, type HybridConfig } from '../recommenders/hybrid.js';
import type { Recommender } from '../recommenders/recommender.js';
import { TopKHeap } from '../recommenders/top-k-heap.js';
import { topK } from './top-k.js';
import { catalogCoverage, ndcgAt, recallAt } from './metrics.js';
import { userContextsOf } from './user-contexts.js';
import type { EvalMode, EvaluationSplit } from './splits.js';

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
  relevant: Record<EvalMode, (ReadonlySet<number> | undefined)[]>;
  /** Distinct train buyers per item (for the hybrid's discovery discount). */
  itemBuyers: Float32Array;
  parts: Map<string, SourcePart>;
}

/** Scores of one blend on a split, per mode: mean NDCG@k and recall@k over test users, catalog coverage. */
export type BlendScores = Record<EvalMode, { ndcg: number; recall: number; coverage: number; users: number }>;

function buyersOf(split: EvaluationSplit): Float32Array {
  const buyers = new Float32Array(split.train.itemIds.length);
  for (const i of split.trainMatrix.indices) buyers[i]++;
  return buyers;
}

/** Cached users and their train facts, before any source is added. */
export function createBlendCache(split: EvaluationSplit): BlendCache {
  const userSet = new Set<number>([...split.test.novel.keys(), ...split.test.all.keys()]);
  const users = [...userSet].sort((a, b) => a - b);
  const m = split.trainMatrix;
  return {
    itemCount: split.train.itemIds.length,
    users,
    orders: Int32Array.from(users, (u) => split.trainOrders[u]),
    trainItems: users.map((u) => m.indices.slice(m.indptr[u], m.indptr[u + 1])),
    relevant: { novel: users.map((u) => split.test.novel.get(u)), all: users.map((u) => split.test.all.get(u)) },
    itemBuyers: buyersOf(split),
    parts: new Map(),
  };
}

/**
 * Scores every cached user with `model`, divides by the user's top score (the hybrid's `max`
 * normalisation) and keeps the `depth` best positive items. Depth bounds how far down a source's list
 * the blend can reach; a few hundred is plenty for a top 10.
 */
export function addSourcePart(cache: BlendCache, split: EvaluationSplit, name: string, model: Recommender, depth = 200): void {
  const contexts = userContextsOf(split, cache.users);
  const out = new Float32Array(cache.itemCount);
  const items: number[] = [];
  const scores: number[] = [];
  const indptr = new Int32Array(cache.users.length + 1);
  cache.users.forEach((u, j) => {
    out.fill(0);
    model.scoreUser(contexts.get(u)!, out);
    const heap = new TopKHeap(depth);
    for (let i = 0; i < out.length; i++) if (out[i] > 0) heap.push(i, out[i]);
    const top = heap.result();
    const max = top.length ? top[0].score : 1;
    for (const n of top) {
      items.push(n.item);
      scores.push(n.score / max);
    }
    indptr[j + 1] = items.length;
  });
  cache.parts.set(name, { indptr, items: Int32Array.from(items), scores: Float32Array.from(scores) });
}

/**
 * Blends the cached parts with a hybrid configuration (weights interpolated by order count as in
 * hybrid.ts) and measures NDCG@k, recall@k and catalog coverage per mode.
 */
export function scoreBlend(
  cache: BlendCache,
  config: Pick<HybridConfig, 'weights' | 'fullHistoryOrders'> & { popularityDiscount?: number },
  k = 10,
): BlendScores {
  const blended = new Float32Array(cache.itemCount);
  const exclude = new Uint8Array(cache.itemCount);
  const beta = config.popularityDiscount ?? 0;
  const discount = beta > 0 ? discoveryDiscount(cache.itemBuyers, beta) : null;
  const sums = { novel: { ndcg: 0, recall: 0, users: 0 }, all: { ndcg: 0, recall: 0, users: 0 } };
  const lists: Record<EvalMode, number[][]> = { novel: [], all: [] };
  const weightCache = new Map<number, [SourcePart, number][]>();
  const fullConfig = { ...config, normalisation: 'max', rankDepth: 200 } as HybridConfig;
  for (let j = 0; j < cache.users.length; j++) {
    const orders = cache.orders[j];
    let weighted = weightCache.get(orders);
    if (!weighted) {
      weighted = Object.entries(blendWeights(fullConfig, orders)).flatMap(([name, w]) => {
        const part = cache.parts.get(name);
        return part ? [[part, w] as [SourcePart, number]] : [];
      });
      weightCache.set(orders, weighted);
    }
    const touched: number[] = [];
    for (const [part, w] of weighted) {
      for (let p = part.indptr[j]; p < part.indptr[j + 1]; p++) {
        const i = part.items[p];
        if (blended[i] === 0) touched.push(i);
        blended[i] += w * part.scores[p];
      }
    }
    for (const i of cache.trainItems[j]) exclude[i] = 1;
    // The hybrid discounts items outside the user's history (its sum is linear, so once here is the same).
    if (discount) for (const i of touched) if (!exclude[i]) blended[i] *= discount[i];
    for (const mode of ['novel', 'all'] as const) {
      const relevant = cache.relevant[mode][j];
      if (!relevant) continue;
      const ranked = topK(blended, k, mode === 'novel' ? exclude : undefined, touched);
      sums[mode].ndcg += ndcgAt(relevant, ranked, k);
      sums[mode].recall += recallAt(relevant, ranked, k);
      sums[mode].users++;
      lists[mode].push(ranked);
    }
    for (const i of touched) blended[i] = 0;
    for (const i of cache.trainItems[j]) exclude[i] = 0;
  }
  const result = {} as BlendScores;
  for (const mode of ['novel', 'all'] as const) {
    const n = sums[mode].users;
    result[mode] = {
      ndcg: n ? sums[mode].ndcg / n : 0,
      recall: n ? sums[mode].recall / n : 0,
      coverage: catalogCoverage(lists[mode], cache.itemCount),
      users: n,
    };
  }
  return result;
}
