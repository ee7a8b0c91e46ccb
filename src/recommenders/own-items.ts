import type { HistoryEntry } from './recommender.js';

/**
 * The distinct items of a user's history in [0, itemCount), listed and marked 1 in `mask`: what a
 * source's cut to its best items keeps apart (Recommender.scoreSparse). One per call site, reused from
 * user to user (scoring is synchronous): `mark` forgets the previous user's items first.
 */
export class OwnItems {
  mask = new Uint8Array(0);
  readonly items: number[] = [];

  mark(history: readonly HistoryEntry[], itemCount: number): void {
    for (const i of this.items) this.mask[i] = 0;
    this.items.length = 0;
    if (this.mask.length !== itemCount) this.mask = new Uint8Array(itemCount);
    for (const { item } of history) {
      if (Number.isInteger(item) && item >= 0 && item < itemCount && this.mask[item] === 0) {
        this.mask[item] = 1;
        this.items.push(item);
      }
    }
  }
}
