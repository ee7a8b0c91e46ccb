/**
 * "Because you bought X": for each recommended item, the purchase (anchor) most related to it. Used at
 * training time for every stored hybrid candidate (so the request path only looks the answer up) and
 * at request time for purchases made since training.
 */
import type { NeighbourTable } from './serving-artifacts.js';

/**
 * Sources whose neighbour lists are evidence: items really bought together (co-occurrence), by the same
 * buyers (item-kNN) or alike (content). ALS cosines are left out: on latent factors nearly everything
 * is a little similar to everything, which would name arbitrary purchases. The index is the source code.
 */
export const EVIDENCE_SOURCES = ['cooccurrence', 'item-knn', 'content'] as const;

/** anchor * 4 + source code, or -1 when no anchor lists the item. */
export type AnchorCode = number;
export const anchorOf = (code: AnchorCode) => code >> 2;
export const sourceOf = (code: AnchorCode) => EVIDENCE_SOURCES[code & 3];

const scratches = new WeakMap<object, { stamp: Int32Array; slot: Int32Array; gen: number }>();

/**
 * For each of `items`, the best anchor by  sim(anchor, item) / (best sim of the anchor's list) / (1 + 0.2 r)
 * for the r-th newest anchor, over the evidence sources. Marks wanted items in a scratch array with a
 * generation stamp, so the inner loop over anchors' stored neighbours is two array reads.
 */
export function findAnchors(
  neighbours: ReadonlyMap<string, NeighbourTable>,
  itemCount: number,
  items: ArrayLike<number>,
  anchors: ArrayLike<number>,
  maxAnchors = 10,
): Int32Array {
  let s = scratches.get(neighbours);
  if (!s || s.gen >= 0x7ffffff0) scratches.set(neighbours, (s = { stamp: new Int32Array(itemCount), slot: new Int32Array(itemCount), gen: 0 }));
  const gen = ++s.gen;
  const { stamp, slot } = s;
  for (let i = 0; i < items.length; i++) {
    stamp[items[i]] = gen;
    slot[items[i]] = i;
  }
  const best = new Float64Array(items.length);
  const code = new Int32Array(items.length).fill(-1);
  for (let r = 0; r < Math.min(anchors.length, maxAnchors); r++) {
    const anchor = anchors[r];
    const recency = 1 / (1 + 0.2 * r);
    for (let src = 0; src < EVIDENCE_SOURCES.length; src++) {
      const t = neighbours.get(EVIDENCE_SOURCES[src]);
      if (!t) continue;
      const start = t.indptr[anchor];
      const end = t.indptr[anchor + 1];
      if (end <= start || !(t.scores[start] > 0)) continue;
      const scale = recency / t.scores[start];
      for (let p = start; p < end; p++) {
        const item = t.items[p];
        if (stamp[item] !== gen) continue;
        const i = slot[item];
        const value = scale * t.scores[p];
        if (value > best[i]) {
          best[i] = value;
          code[i] = anchor * 4 + src;
        }
      }
    }
  }
  return code;
}
