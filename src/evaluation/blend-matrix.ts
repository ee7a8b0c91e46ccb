import { grownTo } from '../recommenders/grow-array.js';
import type { SourcePart } from './blend-cache.js';

/**
 * The cached source lists of a BlendCache laid out for re-blending: per user, the union of the items
 * any source listed (its candidates), and per candidate one score per source (0 where the source did
 * not list it), row-major. Tuning re-blends the same lists hundreds of times with different weights;
 * this layout turns each re-blend into a contiguous multiply-add per candidate instead of a scatter
 * into a catalogue-sized vector, a list of touched items and a scan of it.
 */
export interface BlendMatrix {
  /** Source names, in the column order of `scores`. */
  sources: string[];
  /** The parts the matrix was built from, in `sources` order (to tell when it is stale). */
  parts: SourcePart[];
  /** Candidate range of cached user j: [indptr[j], indptr[j + 1]). */
  indptr: Int32Array;
  /** Item index of each candidate, ascending within a user. */
  items: Int32Array;
  /** 1 when the candidate is among the user's train items (excluded in mode novel, never discounted). */
  owned: Uint8Array;
  /** scores[c * sources.length + s]: source s's normalised score of candidate c. */
  scores: Float32Array;
}

/** Builds the matrix of `parts` for `userCount` users whose train items are `trainItems[j]`. */
export function buildBlendMatrix(parts: ReadonlyMap<string, SourcePart>, userCount: number, trainItems: readonly Int32Array[], itemCount: number): BlendMatrix {
  const sources = [...parts.keys()];
  const list = sources.map((s) => parts.get(s)!);
  const width = sources.length;
  const indptr = new Int32Array(userCount + 1);
  // Candidate slot per item for the user being built; -1 = not a candidate yet.
  const slot = new Int32Array(itemCount).fill(-1);
  const owned = new Uint8Array(itemCount);
  let items = new Int32Array(1024);
  let scores = new Float32Array(1024 * width);
  let flags = new Uint8Array(1024);
  let n = 0;
  const grow = (need: number) => {
    if (need <= items.length) return;
    items = grownTo(items, need);
    scores = grownTo(scores, items.length * width);
    flags = grownTo(flags, items.length);
  };
  for (let j = 0; j < userCount; j++) {
    const start = n;
    const mine: number[] = [];
    for (const part of list) for (let p = part.indptr[j]; p < part.indptr[j + 1]; p++) if (slot[part.items[p]] < 0) (slot[part.items[p]] = 0), mine.push(part.items[p]);
    mine.sort((a, b) => a - b);
    grow(start + mine.length);
    for (const i of trainItems[j]) owned[i] = 1;
    for (let c = 0; c < mine.length; c++) {
      items[start + c] = mine[c];
      flags[start + c] = owned[mine[c]];
      slot[mine[c]] = start + c;
    }
    list.forEach((part, s) => {
      for (let p = part.indptr[j]; p < part.indptr[j + 1]; p++) scores[slot[part.items[p]] * width + s] = part.scores[p];
    });
    for (const i of mine) slot[i] = -1;
    for (const i of trainItems[j]) owned[i] = 0;
    n = start + mine.length;
    indptr[j + 1] = n;
  }
  return { sources, parts: list, indptr, items: items.slice(0, n), owned: flags.slice(0, n), scores: scores.slice(0, n * width) };
}

/** True when `matrix` was built from exactly these parts. */
export function matrixMatches(matrix: BlendMatrix | undefined, parts: ReadonlyMap<string, SourcePart>): boolean {
  if (!matrix || matrix.parts.length !== parts.size) return false;
  return matrix.sources.every((s, k) => parts.get(s) === matrix.parts[k]);
}
