/**
 * Top-k item indices of a full-catalogue score vector, best first, by partial selection: one pass
 * keeping a sorted buffer of k, so cost is O(n + m*k) for m insertions instead of a full O(n log n) sort.
 * Only items with a score > 0 are candidates (the Recommender contract: "items it has nothing
 * to say about get 0 or less"), so a list may be shorter than k. Items with `exclude[i] !== 0` are skipped.
 * `among` limits the pass to some item indices, in any order (e.g. the items a sparse blend touched).
 * Ties go to the lower item index, so results are deterministic.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ArrayLike<number>, among?: Iterable<number>): number[] {
  const items: number[] = [];
  const best: number[] = [];
  if (k <= 0) return items;
  // Ranks below: a lower score, or an equal score on a higher item index.
  const below = (sa: number, a: number, sb: number, b: number) => sa < sb || (sa === sb && a > b);
  const consider = (i: number) => {
    const s = scores[i];
    // `s > 0` is false for NaN and for every excluded/no-opinion score.
    if (!(s > 0) || (exclude !== undefined && exclude[i] !== 0)) return;
    const n = items.length;
    if (n === k && !below(best[n - 1], items[n - 1], s, i)) return;
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
