/**
 * Ranking metrics of the evaluation protocol (docs/DESIGN.md, "Evaluation protocol").
 * Per-user metrics are pure functions `(relevant, ranked, k) -> number`: `relevant` is the user's
 * test item set, `ranked` the recommended items best first (distinct); only the first k count.
 * A user with no relevant items scores 0 everywhere (the runner never evaluates such a user).
 */

/** Number of relevant items among the first k ranked. */
function hitsAt(relevant: ReadonlySet<number>, ranked: readonly number[], k: number): number {
  let hits = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) if (relevant.has(ranked[r])) hits++;
  return hits;
}

/** precision@k = hits / k (a short list is not rewarded for being short). */
export function precisionAt(relevant: ReadonlySet<number>, ranked: readonly number[], k: number): number {
  if (k <= 0 || relevant.size === 0) return 0;
  return hitsAt(relevant, ranked, k) / k;
}

/** recall@k = hits / min(k, |relevant|), so a perfect list scores 1 even when |relevant| > k. */
export function recallAt(relevant: ReadonlySet<number>, ranked: readonly number[], k: number): number {
  if (k <= 0 || relevant.size === 0) return 0;
  return hitsAt(relevant, ranked, k) / Math.min(k, relevant.size);
}

/**
 * NDCG@k with binary gains: DCG = sum over hit ranks r (1-based) of 1 / log2(r + 1);
 * IDCG = sum_{r=1..min(k, |relevant|)} 1 / log2(r + 1); NDCG = DCG / IDCG.
 */
export function ndcgAt(relevant: ReadonlySet<number>, ranked: readonly number[], k: number): number {
  if (k <= 0 || relevant.size === 0) return 0;
  let dcg = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) if (relevant.has(ranked[r])) dcg += 1 / Math.log2(r + 2);
  let idcg = 0;
  const ideal = Math.min(k, relevant.size);
  for (let r = 0; r < ideal; r++) idcg += 1 / Math.log2(r + 2);
  return dcg / idcg;
}

/**
 * MAP@k (average precision of one user): sum over hit ranks r of precision@r, divided by
 * min(k, |relevant|). precision@r = (hits within the first r) / r.
 */
export function averagePrecisionAt(relevant: ReadonlySet<number>, ranked: readonly number[], k: number): number {
  if (k <= 0 || relevant.size === 0) return 0;
  let hits = 0;
  let sum = 0;
  const n = Math.min(k, ranked.length);
  for (let r = 0; r < n; r++) {
    if (relevant.has(ranked[r])) {
      hits++;
      sum += hits / (r + 1);
    }
  }
  return sum / Math.min(k, relevant.size);
}

/** 1 when at least one of the first k ranked items is relevant, else 0. */
export function hitRateAt(relevant: ReadonlySet<number>, ranked: readonly number[], k: number): number {
  if (k <= 0) return 0;
  return hitsAt(relevant, ranked, k) > 0 ? 1 : 0;
}

// ---- Run-level metrics: computed over all test users' lists (each list already cut to k). ----

/** Distinct recommended items / train catalog size. */
export function catalogCoverage(lists: readonly (readonly number[])[], catalogSize: number): number {
  if (catalogSize <= 0) return 0;
  const seen = new Set<number>();
  for (const list of lists) for (const item of list) seen.add(item);
  return seen.size / catalogSize;
}

/** Share of test users who received at least one recommendation. */
export function userCoverage(lists: readonly (readonly number[])[]): number {
  if (lists.length === 0) return 0;
  let covered = 0;
  for (const list of lists) if (list.length > 0) covered++;
  return covered / lists.length;
}

/**
 * Intra-list diversity of one list: 1 - mean over unordered pairs {a, b} of similarity(a, b).
 * Undefined (null) for lists with fewer than two items.
 */
export function intraListDiversity(list: readonly number[], similarity: (a: number, b: number) => number): number | null {
  if (list.length < 2) return null;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      sum += similarity(list[i], list[j]);
      pairs++;
    }
  }
  return 1 - sum / pairs;
}

/** Mean intra-list diversity over the lists where it is defined (>= 2 items); null if none. */
export function meanIntraListDiversity(
  lists: readonly (readonly number[])[],
  similarity: (a: number, b: number) => number,
): number | null {
  let sum = 0;
  let n = 0;
  for (const list of lists) {
    const d = intraListDiversity(list, similarity);
    if (d !== null) {
      sum += d;
      n++;
    }
  }
  return n > 0 ? sum / n : null;
}

/**
 * Self-information of one item: -log2(share), share = distinct train buyers of the item / train users.
 * Items nobody bought (share 0) are counted as bought by one user, to keep the value finite.
 */
export function itemNovelty(buyers: number, trainUsers: number): number {
  if (trainUsers <= 0) return 0;
  return -Math.log2(Math.max(buyers, 1) / trainUsers);
}

/**
 * Novelty of a run: per list, the mean self-information of its items (see itemNovelty); then the mean
 * over non-empty lists (every user weighs the same, whatever the length of the list). Null if no list
 * has items. `buyers[i]` = distinct train buyers of item i.
 */
export function novelty(lists: readonly (readonly number[])[], buyers: ArrayLike<number>, trainUsers: number): number | null {
  let sum = 0;
  let n = 0;
  for (const list of lists) {
    if (list.length === 0) continue;
    let s = 0;
    for (const item of list) s += itemNovelty(buyers[item], trainUsers);
    sum += s / list.length;
    n++;
  }
  return n > 0 ? sum / n : null;
}

/**
 * The `n` most popular items by distinct train buyers (ties broken by lower item index), as a 0/1 mask.
 */
export function popularTopMask(buyers: ArrayLike<number>, n: number): Uint8Array {
  const order = Array.from({ length: buyers.length }, (_, i) => i).sort((a, b) => buyers[b] - buyers[a] || a - b);
  const mask = new Uint8Array(buyers.length);
  for (let r = 0; r < Math.min(n, order.length); r++) mask[order[r]] = 1;
  return mask;
}

/** Share of all recommendation slots (pooled over lists) filled with an item in `mask`; null if none. */
export function maskedShare(lists: readonly (readonly number[])[], mask: ArrayLike<number>): number | null {
  let inMask = 0;
  let total = 0;
  for (const list of lists) {
    for (const item of list) {
      total++;
      if (mask[item]) inMask++;
    }
  }
  return total > 0 ? inMask / total : null;
}
