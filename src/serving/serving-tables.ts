/**
 * Per-item tables of the serving model, built from fitted recommenders at training time: neighbour lists
 * of every item-based source and popularity lists (global, and per user-attribute value for cold start).
 */
import { isContentRecommender } from '../recommenders/content.js';
import { isCooccurrenceRecommender } from '../recommenders/cooccurrence.js';
import type { Dataset } from '../recommenders/dataset.js';
import { firstSegment, isPopularityRecommender } from '../recommenders/popularity.js';
import type { Neighbour, Recommender } from '../recommenders/recommender.js';
import type { NeighbourTable, PopularSegment, PopularTable } from './serving-artifacts.js';

/**
 * ALS similarItems scans the whole catalogue per item (O(items^2 x factors) for all of them, ~1.6e9
 * multiply-adds at this size); above it, each item's ALS neighbours are the best by factor cosine among
 * the item's neighbours in the other item-based sources (pooled), which costs items x pool x factors.
 */
const MAX_ITEMS_FOR_FULL_SCAN_NEIGHBOURS = 5_000;

/** A source that can rank a given pool of items by similarity to an item (ALS). */
interface PoolRanker extends Recommender {
  similarAmong(item: number, pool: readonly number[], k: number): Neighbour[];
}
const ranksPools = (r: Recommender): r is PoolRanker => typeof (r as Partial<PoolRanker>).similarAmong === 'function';

/** 1 for each item with a purchase or a weighted signal in `ds`. */
function interactedItems(ds: Dataset): Uint8Array {
  const out = new Uint8Array(ds.itemIds.length);
  for (let e = 0; e < ds.eventItem.length; e++) out[ds.eventItem[e]] = 1;
  const signals = ds.signals;
  if (signals) for (let e = 0; e < signals.item.length; e++) if (signals.weight[e] > 0) out[signals.item[e]] = 1;
  return out;
}

function pack(lists: Neighbour[][]): NeighbourTable {
  const indptr = new Int32Array(lists.length + 1);
  lists.forEach((l, i) => (indptr[i + 1] = indptr[i] + l.length));
  const items = new Int32Array(indptr[lists.length]);
  const scores = new Float32Array(items.length);
  lists.forEach((l, i) => l.forEach((n, k) => ((items[indptr[i] + k] = n.item), (scores[indptr[i] + k] = n.score))));
  return { indptr, items, scores };
}

/** Top-`n` neighbours of every item for each source that has them; co-occurrence keeps its statistics. */
export function buildNeighbourTables(ds: Dataset, sources: ReadonlyMap<string, Recommender>, n: number): Map<string, NeighbourTable> {
  const itemCount = ds.itemIds.length;
  const out = new Map<string, NeighbourTable>();
  // Collaborative neighbours only among items someone bought (or viewed, carted, rated): an item nobody
  // did keeps the factors ALS started it with, and its "neighbours" would be noise explained as purchases.
  // Content knows every item by its text.
  const interacted = interactedItems(ds);
  const collaborative = (r: Recommender, lists: Neighbour[][]): Neighbour[][] =>
    isContentRecommender(r) ? lists : lists.map((l, i) => (interacted[i] ? l.filter((nb) => interacted[nb.item]) : []));
  const pooled: [string, PoolRanker][] = [];
  for (const [name, r] of sources) {
    if (r.similarItems && ranksPools(r) && itemCount > MAX_ITEMS_FOR_FULL_SCAN_NEIGHBOURS) pooled.push([name, r]);
    else if (isCooccurrenceRecommender(r)) {
      const pairs = ds.itemIds.map((_, i) => r.boughtTogether(i, n));
      const table = pack(pairs.map((l) => l.map((p) => ({ item: p.item, score: p.score }))));
      const flat = pairs.flat();
      out.set(name, {
        ...table,
        support: Float32Array.from(flat, (p) => p.support),
        confidence: Float32Array.from(flat, (p) => p.confidence),
        lift: Float32Array.from(flat, (p) => p.lift),
      });
    } else if (r.similarItems) {
      out.set(name, pack(collaborative(r, ds.itemIds.map((_, i) => r.similarItems!(i, n)))));
    }
  }
  const others = [...out.values()];
  for (const [name, r] of pooled) {
    const lists: Neighbour[][] = [];
    for (let i = 0; i < itemCount; i++) {
      const pool = new Set<number>();
      for (const t of others) for (let p = t.indptr[i]; p < t.indptr[i + 1]; p++) pool.add(t.items[p]);
      lists.push(r.similarAmong(i, [...pool], n));
    }
    out.set(name, pack(collaborative(r, lists)));
  }
  return out;
}

/** Distinct buyers per item: the popularity of a recipe without a popularity source. */
function distinctBuyers(ds: Dataset): Float32Array {
  const score = new Float32Array(ds.itemIds.length);
  const seen = new Set<number>();
  for (let e = 0; e < ds.eventItem.length; e++) {
    const key = ds.eventUser[e] * ds.itemIds.length + ds.eventItem[e];
    if (!seen.has(key)) {
      seen.add(key);
      score[ds.eventItem[e]] += 1;
    }
  }
  return score;
}

/** Global scores and full ranking of items, and the top-`n` list of every attribute value with its own segment. */
export function buildPopularTable(ds: Dataset, source: Recommender | undefined, n: number): PopularTable {
  const itemCount = ds.itemIds.length;
  const pop = source && isPopularityRecommender(source) ? source : undefined;
  let score: Float32Array;
  if (pop) {
    score = new Float32Array(itemCount);
    for (const { item, score: s } of pop.popularItems(undefined, itemCount)) score[item] = s;
  } else {
    score = distinctBuyers(ds);
  }
  const order = Int32Array.from(ds.itemIds.keys()).sort((a, b) => score[b] - score[a] || a - b);

  const segments: PopularSegment[] = [];
  if (pop) {
    const pairs = new Map<string, { name: string; value: string }>();
    for (const attrs of ds.userAttributes) for (const [name, value] of Object.entries(attrs)) pairs.set(`${name}\u0000${value}`, { name, value });
    for (const key of [...pairs.keys()].sort()) {
      const attr = pairs.get(key)!;
      const buyers = pop.segmentBuyers(attr);
      if (buyers <= 0) continue;
      const top = pop.popularItems(attr, n);
      segments.push({ ...attr, buyers, globalPart: pop.segmentGlobalPart(attr), items: Int32Array.from(top, (t) => t.item), scores: Float32Array.from(top, (t) => t.score) });
    }
  }
  return pop ? { score, order, segments, attributes: [...pop.params.attributes], minSegmentBuyers: pop.params.minSegmentBuyers } : { score, order, segments };
}

/**
 * The popularity segment (index into `segments`) of someone with these attributes, as the popularity
 * source scores them: their value of the first of the recipe's `attributes` that has a segment; -1 = none
 * (global list). A table from before the order was kept tries the attributes by name (its segments are
 * sorted by name, then value), as serving then did.
 */
export function findSegment(table: Pick<PopularTable, 'segments' | 'attributes'>, attributes: Record<string, unknown>): number {
  const { segments } = table;
  const order = table.attributes ?? [...new Set(segments.map((s) => s.name))];
  return firstSegment(order, attributes, (name, value) => {
    const k = segments.findIndex((s) => s.name === name && s.value === value);
    return k >= 0 ? k : undefined;
  }) ?? -1;
}
