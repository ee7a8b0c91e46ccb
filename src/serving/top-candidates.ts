import type { SparseScores } from '../recommenders/sparse-scores.js';
import { scratchSite, type TopKScratch } from '../recommenders/top-k-heap.js';
import type { Candidates } from './user-entry.js';

const freshBest = scratchSite();
const boughtBest = scratchSite();

/**
 * The `n` best-scored items the user has not bought, merged in score order with the user's own
 * best-scored purchases (at most `n` of them). Serving drops the purchases unless excludePurchased=false,
 * so either way at least the top `n` of what may be shown are stored. Items scoring <= 0 are left out.
 */
export function topCandidates(scores: Float32Array, purchasedMask: Uint8Array, n: number): Candidates {
  const fresh = freshBest(n);
  const bought = boughtBest(n);
  // Most of a catalogue scores below the kept minimum once the heaps are full: test before calling.
  let freshMin = fresh.heap.threshold;
  let boughtMin = bought.heap.threshold;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (!(s > 0)) continue;
    if (purchasedMask[i]) {
      if (s < boughtMin) continue;
      bought.heap.push(i, s);
      boughtMin = bought.heap.threshold;
    } else {
      if (s < freshMin) continue;
      fresh.heap.push(i, s);
      freshMin = fresh.heap.threshold;
    }
  }
  return mergeBestFirst(fresh, bought);
}

/** topCandidates over the touched items of sparse scores (untouched items score 0, so never qualify). */
export function topSparseCandidates(scores: SparseScores, purchasedMask: Uint8Array, n: number): Candidates {
  const fresh = freshBest(n);
  const bought = boughtBest(n);
  const values = scores.values;
  for (let p = 0; p < scores.size; p++) {
    const i = scores.item(p);
    const s = values[i];
    if (!(s > 0)) continue;
    const heap = purchasedMask[i] ? bought.heap : fresh.heap;
    if (s >= heap.threshold) heap.push(i, s);
  }
  return mergeBestFirst(fresh, bought);
}

/** The pairs of both heaps in one list, best first (ties to the lower item), as sorting them together would order them. */
function mergeBestFirst(fresh: TopKScratch, bought: TopKScratch): Candidates {
  const a = fresh.drain();
  const b = bought.drain();
  const items = new Int32Array(a + b);
  const scores = new Float32Array(a + b);
  let i = 0;
  let j = 0;
  for (let out = 0; out < a + b; out++) {
    const takeFresh = j >= b || (i < a && (fresh.scores[i] > bought.scores[j] || (fresh.scores[i] === bought.scores[j] && fresh.items[i] < bought.items[j])));
    if (takeFresh) {
      items[out] = fresh.items[i];
      scores[out] = fresh.scores[i++];
    } else {
      items[out] = bought.items[j];
      scores[out] = bought.scores[j++];
    }
  }
  return { items, scores };
}
