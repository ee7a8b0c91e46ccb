/**
 * "Because you bought X": for each recommended item, the purchase (anchor) most related to it by the
 * source that put the item on the list. Used at training time for every stored hybrid candidate (so the
 * request path only looks the answer up) and at request time for purchases made since training.
 */
import type { NeighbourTable } from './serving-artifacts.js';

const scratches = new WeakMap<object, { stamp: Int32Array; slot: Int32Array; gen: number }>();

/**
 * For each of `items`, the best anchor in one source's neighbour lists by
 *   sim(anchor, item) / (best sim of the anchor's list) / (1 + 0.2 r)
 * for the r-th newest anchor; -1 when no anchor lists the item. Only one source is searched, so the
 * anchor named is related to the item by that very source (a list holds an anchor's top neighbours
 * only: for ALS that is the few items nearest it in factor space, not everything a little alike).
 * Marks wanted items in a scratch array with a generation stamp, so the inner loop over anchors'
 * stored neighbours is two array reads.
 */
export function findAnchors(table: NeighbourTable, itemCount: number, items: ArrayLike<number>, anchors: ArrayLike<number>, maxAnchors = 10): Int32Array {
  let s = scratches.get(table);
  if (!s || s.gen >= 0x7ffffff0) scratches.set(table, (s = { stamp: new Int32Array(itemCount), slot: new Int32Array(itemCount), gen: 0 }));
  const gen = ++s.gen;
  const { stamp, slot } = s;
  for (let i = 0; i < items.length; i++) {
    stamp[items[i]] = gen;
    slot[items[i]] = i;
  }
  const best = new Float64Array(items.length);
  const found = new Int32Array(items.length).fill(-1);
  for (let r = 0; r < Math.min(anchors.length, maxAnchors); r++) {
    const anchor = anchors[r];
    const start = table.indptr[anchor];
    const end = table.indptr[anchor + 1];
    if (end <= start || !(table.scores[start] > 0)) continue;
    const scale = 1 / (1 + 0.2 * r) / table.scores[start];
    for (let p = start; p < end; p++) {
      const item = table.items[p];
      if (stamp[item] !== gen) continue;
      const i = slot[item];
      const value = scale * table.scores[p];
      if (value > best[i]) {
        best[i] = value;
        found[i] = anchor;
      }
    }
  }
  return found;
}

/**
 * Anchors for items each put on the list by its own source (`sourceOf(k)`, a name): every item is
 * searched in its source's neighbour lists only; -1 for items whose source has none (popularity,
 * trend, buy-again) or that no anchor lists. One pass per distinct source.
 */
export function findAnchorsBySource(
  neighbours: ReadonlyMap<string, NeighbourTable>,
  itemCount: number,
  items: ArrayLike<number>,
  sourceOf: (k: number) => string | undefined,
  anchors: ArrayLike<number>,
  maxAnchors = 10,
): Int32Array {
  const out = new Int32Array(items.length).fill(-1);
  const bySource = new Map<string, number[]>();
  for (let k = 0; k < items.length; k++) {
    const source = sourceOf(k);
    if (source === undefined || !neighbours.has(source)) continue;
    let ks = bySource.get(source);
    if (!ks) bySource.set(source, (ks = []));
    ks.push(k);
  }
  for (const [source, ks] of bySource) {
    const found = findAnchors(neighbours.get(source)!, itemCount, ks.map((k) => items[k]), anchors, maxAnchors);
    ks.forEach((k, j) => (out[k] = found[j]));
  }
  return out;
}
