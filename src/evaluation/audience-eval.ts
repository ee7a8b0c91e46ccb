/**
 * Offline evaluation of audiences ("who will buy this product?"), the transpose of the recommendation
 * protocol. With a temporal split at a cutoff:
 *   test items:  items of the train catalogue bought on/after the cutoff by >= 1 new buyer;
 *   new buyers:  known customers (>= 1 train purchase) who bought the item after the cutoff and never before;
 *   recall@K(i) = |top-K audience of i  ∩  newBuyers(i)| / min(K, |newBuyers(i)|), averaged over test items.
 * Prior buyers of an item are never in its audience (as with `novel` mode for users). Rankers return
 * customer indices of the train dataset, best first. Also the two baselines the issue names: the most
 * active customers, and the heaviest buyers of the item's category.
 */
import type { Dataset, ItemInfo } from '../recommenders/dataset.js';
import { TopKHeap } from '../recommenders/top-k-heap.js';
import { recallAt } from './metrics.js';

export interface AudienceTestItem {
  item: number;
  /** Train customer indices who bought the item after the cutoff and never before. */
  newBuyers: Set<number>;
}

/** Prior buyers of every train item: buyers[i] = customers who bought i in train. */
export function priorBuyers(ds: Pick<Dataset, 'itemIds' | 'eventUser' | 'eventItem'>): Set<number>[] {
  const out = ds.itemIds.map(() => new Set<number>());
  for (let e = 0; e < ds.eventUser.length; e++) out[ds.eventItem[e]].add(ds.eventUser[e]);
  return out;
}

/**
 * The test items and their new buyers: the transpose of a split's `novel` test sets (user -> items
 * bought after the cutoff and not before), so audiences and recommendations are scored on the same pairs.
 */
export function audienceTestItems(novel: ReadonlyMap<number, ReadonlySet<number>>): AudienceTestItem[] {
  const byItem = new Map<number, Set<number>>();
  for (const [user, items] of novel) {
    for (const item of items) {
      let set = byItem.get(item);
      if (!set) byItem.set(item, (set = new Set()));
      set.add(user);
    }
  }
  return [...byItem].sort((a, b) => a[0] - b[0]).map(([item, newBuyers]) => ({ item, newBuyers }));
}

/** Mean recall@k of a ranker over the test items. */
export function audienceRecall(items: readonly AudienceTestItem[], rank: (item: number, k: number) => readonly number[], k: number): number {
  if (items.length === 0) return 0;
  let sum = 0;
  for (const t of items) sum += recallAt(t.newBuyers, rank(t.item, k), k);
  return sum / items.length;
}

/** Distinct train orders per customer. */
export function ordersPerUser(ds: Pick<Dataset, 'userIds' | 'eventUser' | 'eventOrder'>): Float64Array {
  const seen = new Set<number>();
  const out = new Float64Array(ds.userIds.length);
  for (let e = 0; e < ds.eventUser.length; e++) {
    if (seen.has(ds.eventOrder[e])) continue;
    seen.add(ds.eventOrder[e]);
    out[ds.eventUser[e]]++;
  }
  return out;
}

/** Baseline 1: the customers with the most train orders who have not bought the item. */
export function mostActiveRanker(ds: Dataset, prior: Set<number>[] = priorBuyers(ds)) {
  const orders = ordersPerUser(ds);
  const byActivity = Array.from(orders.keys()).sort((a, b) => orders[b] - orders[a] || a - b);
  return (item: number, k: number): number[] => {
    const out: number[] = [];
    for (const u of byActivity) {
      if (out.length >= k) break;
      if (!prior[item].has(u)) out.push(u);
    }
    return out;
  };
}

/**
 * The category of an item for the category baseline: its first catalogue category, else (Online
 * Retail has none) the last word of its title, which names the kind of product ("... T-LIGHT HOLDER",
 * "... LUNCH BAG"), else its own id.
 */
export function derivedCategory(item: ItemInfo): string {
  if (item.categories && item.categories.length > 0) return item.categories[0];
  const words = (item.title ?? '').toUpperCase().match(/[A-Z][A-Z'-]*/g);
  return words && words.length > 0 ? words[words.length - 1] : `#${item.id}`;
}

/**
 * Baseline 2: customers ranked by how many train purchase lines they have in the item's category,
 * without prior buyers of the item (ties: more orders first).
 */
export function sameCategoryRanker(ds: Dataset, prior: Set<number>[] = priorBuyers(ds), categoryOf: (item: ItemInfo) => string = derivedCategory) {
  const category = ds.items.map(categoryOf);
  const counts = new Map<string, Map<number, number>>();
  for (let e = 0; e < ds.eventUser.length; e++) {
    const c = category[ds.eventItem[e]];
    let m = counts.get(c);
    if (!m) counts.set(c, (m = new Map()));
    m.set(ds.eventUser[e], (m.get(ds.eventUser[e]) ?? 0) + 1);
  }
  const orders = ordersPerUser(ds);
  return (item: number, k: number): number[] => {
    const heap = new TopKHeap(k);
    for (const [u, n] of counts.get(category[item]) ?? []) {
      // Orders break ties below one purchase line (at most 1e6 orders per customer).
      if (!prior[item].has(u)) heap.push(u, n + orders[u] / 1e6);
    }
    return heap.result().map((t) => t.item);
  };
}
