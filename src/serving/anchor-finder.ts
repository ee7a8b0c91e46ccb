/**
 * "Because you bought X": for each recommended item, the purchase (anchor) most related to it by the
 * source that put the item on the list. Used at training time for every stored hybrid candidate (so the
 * request path only looks the answer up) and at request time for purchases made since training.
 */
import type { NeighbourTable } from './serving-artifacts.js';

const scratches = new WeakMap<object, { stamp: Int32Array; slot: Int32Array; gen: number; best: Float64Array }>();

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
  const found = new Int32Array(items.length).fill(-1);
  anchorsInto(table, itemCount, items, items.length, anchors, maxAnchors, found, null);
  return found;
}

/**
 * findAnchors for the first `count` of `items`, written to `out[at[j]]` for the j-th (to `out[j]` when
 * `at` is null); entries of `out` whose item no anchor lists are left as they are.
 */
function anchorsInto(
  table: NeighbourTable,
  itemCount: number,
  items: ArrayLike<number>,
  count: number,
  anchors: ArrayLike<number>,
  maxAnchors: number,
  out: Int32Array,
  at: ArrayLike<number> | null,
): void {
  let s = scratches.get(table);
  if (!s || s.gen >= 0x7ffffff0) scratches.set(table, (s = { stamp: new Int32Array(itemCount), slot: new Int32Array(itemCount), gen: 0, best: new Float64Array(16) }));
  const gen = ++s.gen;
  const { stamp, slot } = s;
  for (let i = 0; i < count; i++) {
    stamp[items[i]] = gen;
    slot[items[i]] = i;
  }
  if (s.best.length < count) s.best = new Float64Array(Math.max(count, 2 * s.best.length));
  const best = s.best;
  best.fill(0, 0, count);
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
        out[at === null ? i : at[i]] = anchor;
      }
    }
  }
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
  // The items of each source and their positions in `items`, in list order.
  const bySource = new Map<string, { items: number[]; at: number[] }>();
  for (let k = 0; k < items.length; k++) {
    const source = sourceOf(k);
    if (source === undefined || !neighbours.has(source)) continue;
    let group = bySource.get(source);
    if (!group) bySource.set(source, (group = { items: [], at: [] }));
    group.items.push(items[k]);
    group.at.push(k);
  }
  for (const [source, group] of bySource) anchorsInto(neighbours.get(source)!, itemCount, group.items, group.items.length, anchors, maxAnchors, out, group.at);
  return out;
}
