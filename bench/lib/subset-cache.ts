import type { BlendCache, SourcePart } from '../../src/evaluation/blend-cache.js';

/** The cache's users at `keep` (positions, ascending) with their parts, nothing kept from scoring; with `lists`, counted as that many lists per mode. */
export function subsetCache(cache: BlendCache, keep: readonly number[], lists?: BlendCache['coverageLists']): BlendCache {
  const parts = new Map<string, SourcePart>();
  for (const [source, p] of cache.parts) {
    const indptr = new Int32Array(keep.length + 1);
    keep.forEach((j, r) => (indptr[r + 1] = indptr[r] + p.indptr[j + 1] - p.indptr[j]));
    const items = new Int32Array(indptr[keep.length]);
    const scores = new Float32Array(indptr[keep.length]);
    keep.forEach((j, r) => {
      items.set(p.items.subarray(p.indptr[j], p.indptr[j + 1]), indptr[r]);
      scores.set(p.scores.subarray(p.indptr[j], p.indptr[j + 1]), indptr[r]);
    });
    parts.set(source, { indptr, items, scores });
  }
  return {
    ...cache,
    users: keep.map((j) => cache.users[j]),
    orders: Int32Array.from(keep, (j) => cache.orders[j]),
    trainItems: keep.map((j) => cache.trainItems[j]),
    relevant: { novel: keep.map((j) => cache.relevant.novel[j]), all: keep.map((j) => cache.relevant.all[j]) },
    parts,
    coverageLists: lists,
    contexts: undefined,
    matrix: undefined,
    fixedNew: undefined,
    keptSums: undefined,
  };
}
