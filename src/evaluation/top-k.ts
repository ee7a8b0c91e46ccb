/**
 * Top-k item indices of a full-catalogue score vector, best first, by partial selection: one pass
 * keeping a sorted buffer of k, so cost is O(n + m*k) for m insertions instead of a full O(n log n) sort.
 * Only items with a score > 0 are candidates (the Recommender contract: "items it has nothing
 * to say about get 0 or less"), so a list may be shorter than k. Items with `exclude[i] !== 0` are skipped.
 * Ties go to the lower item index, so results are deterministic.
 */
export function topK(scores: ArrayLike<number>, k: number, exclude?: ArrayLike<number>): number[] {
  const items: number[] = [];
  const best: number[] = [];
  if (k <= 0) return items;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    // `s > 0` is false for NaN and for every excluded/no-opinion score.
    if (!(s > 0) || (exclude !== undefined && exclude[i] !== 0)) continue;
    const n = items.length;
    // Strictly better than the current k-th: a later item with an equal score never displaces an earlier one.
    if (n === k && s <= best[n - 1]) continue;
    let p = n === k ? n - 1 : n;
    while (p > 0 && best[p - 1] < s) {
      best[p] = best[p - 1];
      items[p] = items[p - 1];
      p--;
    }
    best[p] = s;
    items[p] = i;
  }
  return items;
}
