import { groupSlot, type GroupSet } from './eval-groups.js';

/** One item per product group, as served (eval-groups.ts): each item's group (-1: its own), and groups never listed. */
export interface TopKGroups {
  of: Int32Array;
  /** Groups left out whole (the customer's purchases' groups, where purchases are left out). */
  blocked?: GroupSet;
}

/**
 * Top-k item indices of a full-catalogue score vector, best first, by partial selection: one pass
 * keeping a sorted buffer of k, so cost is O(n + m*k) for m insertions instead of a full O(n log n) sort.
 * Only items with a score > 0 are candidates (the Recommender contract: "items it has nothing
 * to say about get 0 or less"), so a list may be shorter than k. Items with `exclude[i] !== 0` are skipped.
 * `among` limits the pass to some item indices, in any order (e.g. the items a sparse blend touched).
 * Ties go to the lower item index, so results are deterministic. With `groups`, the list keeps the best-ranked
 * item of each group (its siblings' places go to the next groups down) and none of a blocked group.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ArrayLike<number>, among?: Iterable<number>, groups?: TopKGroups): number[] {
  const items: number[] = [];
  const best: number[] = [];
  if (k <= 0) return items;
  // Ranks below: a lower score, or an equal score on a higher item index.
  const below = (sa: number, a: number, sb: number, b: number) => sa < sb || (sa === sb && a > b);
  const consider = (i: number) => {
    const s = scores[i];
    // `s > 0` is false for NaN and for every excluded/no-opinion score.
    if (!(s > 0) || (exclude !== undefined && exclude[i] !== 0)) return;
    let n = items.length;
    if (n === k && !below(best[n - 1], items[n - 1], s, i)) return;
    if (groups !== undefined) {
      const g = groups.of[i];
      if (groups.blocked?.has(g)) return;
      const slot = groupSlot(i, s, g, groups.of, items, best, n);
      if (slot < 0) return;
      // A worse item of its group gives up its place: the offer is inserted as into a list one shorter.
      if (slot < n) {
        items.splice(slot, 1);
        best.splice(slot, 1);
        n--;
      }
    }
    let p = n === k ? n - 1 : n;
    while (p > 0 && below(best[p - 1], items[p - 1], s, i)) {
      best[p] = best[p - 1];
      items[p] = items[p - 1];
      p--;
    }
    best[p] = s;
    items[p] = i;
  };
  if (among) for (const i of among) consider(i);
  else for (let i = 0; i < scores.length; i++) consider(i);
  return items;
}
