import { ArtifactFormatError } from './artifact.js';
import { grownTo } from './grow-array.js';
import { itemRemap } from './item-remap.js';
import type { Neighbour } from './recommender.js';
import type { TopKHeap } from './top-k-heap.js';

/**
 * Top-N neighbours of every item, packed CSR-style: the neighbours of item i are
 * `items[indptr[i]..indptr[i+1])` with `scores` aligned, best first. Compact to store in artifacts
 * and cheap to walk when scoring a user's history.
 */
export interface NeighbourLists {
  indptr: Int32Array;
  items: Int32Array;
  scores: Float32Array;
}

/** Packs per-item neighbour lists (index = item) into the CSR layout. */
export function packNeighbourLists(lists: Neighbour[][]): NeighbourLists {
  const indptr = new Int32Array(lists.length + 1);
  for (let i = 0; i < lists.length; i++) indptr[i + 1] = indptr[i] + lists[i].length;
  const items = new Int32Array(indptr[lists.length]);
  const scores = new Float32Array(indptr[lists.length]);
  for (let i = 0; i < lists.length; i++) {
    let p = indptr[i];
    for (const n of lists[i]) {
      items[p] = n.item;
      scores[p++] = n.score;
    }
  }
  return { indptr, items, scores };
}

/**
 * Builds NeighbourLists item by item from a heap each, without a Neighbour object per pair: what a
 * fit over a large catalogue uses (packNeighbourLists' arrays of objects cost more in garbage
 * collection than the lists' own work).
 */
export class NeighbourListBuilder {
  private readonly indptr: Int32Array;
  private items: Int32Array;
  private scores: Float32Array;
  private item = 0;

  constructor(itemCount: number, expectedPerItem: number) {
    this.indptr = new Int32Array(itemCount + 1);
    // Lists are often shorter than their bound (minimum supports, few touched items): start at most
    // ~8 MB and grow.
    const capacity = Math.max(16, Math.min(itemCount * Math.max(0, expectedPerItem), 1 << 20));
    this.items = new Int32Array(capacity);
    this.scores = new Float32Array(capacity);
  }

  /** The next item's list: `heap`'s pairs, best first (the heap is left empty). Returns where the list starts. */
  add(heap: TopKHeap): number {
    const start = this.indptr[this.item];
    const end = start + heap.length;
    this.items = grownTo(this.items, end);
    this.scores = grownTo(this.scores, end);
    heap.drainBestFirst(this.items, this.scores, start);
    this.indptr[++this.item] = end;
    return start;
  }

  /** The item of position `p` of the lists added so far. */
  itemAt(p: number): number {
    return this.items[p];
  }

  /** The lists; every item of the catalogue must have been added. */
  finish(): NeighbourLists {
    if (this.item !== this.indptr.length - 1) throw new Error(`NeighbourListBuilder: ${this.item} of ${this.indptr.length - 1} items added`);
    const n = this.indptr[this.item];
    return { indptr: this.indptr, items: this.items.slice(0, n), scores: this.scores.slice(0, n) };
  }
}

/** The first k stored neighbours of an item (already best first); empty for an unknown item. */
export function neighboursOf(lists: NeighbourLists, item: number, k: number): Neighbour[] {
  if (!Number.isInteger(item) || item < 0 || item >= lists.indptr.length - 1) return [];
  const out: Neighbour[] = [];
  const end = Math.min(lists.indptr[item + 1], lists.indptr[item] + Math.max(0, k));
  for (let p = lists.indptr[item]; p < end; p++) out.push({ item: lists.items[p], score: lists.scores[p] });
  return out;
}

/** Checks that decoded arrays form valid lists over `itemCount` items, so a bad artifact fails at load. */
export function checkNeighbourLists(lists: NeighbourLists, itemCount: number, what: string): void {
  const { indptr, items, scores } = lists;
  const ok =
    indptr.length === itemCount + 1 &&
    indptr[0] === 0 &&
    indptr[itemCount] === items.length &&
    items.length === scores.length &&
    indicesBelow(items, itemCount);
  if (!ok) throw new ArtifactFormatError(`${what}: neighbour lists do not match a catalogue of ${itemCount} items`);
}

/** Whether every index is in [0, n): a loop, since `every` with a closure cost 20-30 ms over 4.5M neighbours. */
export function indicesBelow(indices: Int32Array, n: number): boolean {
  for (let k = 0; k < indices.length; k++) if (indices[k] < 0 || indices[k] >= n) return false;
  return true;
}

/**
 * Re-indexes neighbour lists fitted on `fittedIds` onto `currentIds` (a catalogue that has grown or
 * been reordered since): current item i gets the list of the fitted item with the same id, with
 * neighbours that no longer exist dropped. `from[p]` is the fitted position of new position p, so
 * callers can carry arrays aligned with the lists (e.g. pair supports). Null when nothing changes.
 */
export function remapNeighbourLists(
  lists: NeighbourLists,
  fittedIds: readonly string[],
  currentIds: readonly string[],
): { lists: NeighbourLists; map: Int32Array; from: Int32Array } | null {
  const map = itemRemap(fittedIds, currentIds);
  if (!map) return null;
  const toCurrent = new Int32Array(fittedIds.length).fill(-1);
  map.forEach((fitted, current) => {
    if (fitted >= 0) toCurrent[fitted] = current;
  });
  const indptr = new Int32Array(map.length + 1);
  const from: number[] = [];
  for (let i = 0; i < map.length; i++) {
    const f = map[i];
    if (f >= 0) for (let p = lists.indptr[f]; p < lists.indptr[f + 1]; p++) if (toCurrent[lists.items[p]] >= 0) from.push(p);
    indptr[i + 1] = from.length;
  }
  const fromArr = Int32Array.from(from);
  return {
    lists: {
      indptr,
      items: fromArr.map((p) => toCurrent[lists.items[p]]),
      scores: Float32Array.from(fromArr, (p) => lists.scores[p]),
    },
    map,
    from: fromArr,
  };
}

/** Re-indexes a per-item array onto the current catalogue (items unknown to the model get 0). */
export function remapPerItem<T extends Float32Array | Int32Array>(values: T, map: Int32Array | null): T {
  if (!map) return values;
  const out = new (values.constructor as new (n: number) => T)(map.length);
  map.forEach((f, i) => {
    if (f >= 0) out[i] = values[f];
  });
  return out;
}
