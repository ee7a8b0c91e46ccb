import type { SparseScores } from '../recommenders/sparse-scores.js';
import { TopKHeap } from '../recommenders/top-k-heap.js';
import type { Candidates } from './user-entry.js';

/**
 * The `n` best-scored items the user has not bought, merged in score order with the user's own
 * best-scored purchases (at most `n` of them). Serving drops the purchases unless excludePurchased=false,
 * so either way at least the top `n` of what may be shown are stored. Items scoring <= 0 are left out.
 */
export function topCandidates(scores: Float32Array, purchasedMask: Uint8Array, n: number): Candidates {
  const fresh = new TopKHeap(n);
  const bought = new TopKHeap(n);
  // Most of a catalogue scores below the kept minimum once the heaps are full: test before calling.
  let freshMin = fresh.threshold;
  let boughtMin = bought.threshold;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (s <= 0) continue;
    if (purchasedMask[i]) {
      if (s < boughtMin) continue;
      bought.push(i, s);
      boughtMin = bought.threshold;
    } else {
      if (s < freshMin) continue;
      fresh.push(i, s);
      freshMin = fresh.threshold;
    }
  }
  const all = [...fresh.result(), ...bought.result()].sort((a, b) => b.score - a.score || a.item - b.item);
  return { items: Int32Array.from(all, (c) => c.item), scores: Float32Array.from(all, (c) => c.score) };
}

/** topCandidates over the touched items of sparse scores (untouched items score 0, so never qualify). */
export function topSparseCandidates(scores: SparseScores, purchasedMask: Uint8Array, n: number): Candidates {
  const fresh = new TopKHeap(n);
  const bought = new TopKHeap(n);
  const values = scores.values;
  for (let p = 0; p < scores.size; p++) {
    const i = scores.item(p);
    const s = values[i];
    if (s <= 0) continue;
    const heap = purchasedMask[i] ? bought : fresh;
    if (s >= heap.threshold) heap.push(i, s);
  }
  const all = [...fresh.result(), ...bought.result()].sort((a, b) => b.score - a.score || a.item - b.item);
  return { items: Int32Array.from(all, (c) => c.item), scores: Float32Array.from(all, (c) => c.score) };
}
