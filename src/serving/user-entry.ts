/**
 * Per-user serving entries, one keyed entry per known user and table (read one at a time per request):
 *   serving-users           the user's purchases, latest items, popularity segment and hybrid candidates
 *   serving-user-<source>   the candidates of one single strategy (for `strategy=<source>` comparisons)
 * Candidate lists hold the top non-purchased items and, after them in the same score order, the user's
 * own best-scored purchases (so excludePurchased=false still has them); item indices refer to the
 * version's item table.
 */
import { decodeRecord, encodeRecord, type RecordLayout } from './packed-record.js';

export const USERS_TABLE = 'serving-users';
export const strategyTable = (strategy: string) => `serving-user-${strategy}`;

/** Scored candidates, best first. */
export interface Candidates {
  items: Int32Array;
  scores: Float32Array;
}

export interface UserEntry {
  /** Index of the user's popularity segment in the popular table, -1 = global. */
  segment: number;
  /** Distinct orders in training. */
  orders: number;
  /** Latest training purchase (epoch ms). */
  lastTs: number;
  /** Distinct purchased items, ascending (binary search). */
  purchased: Int32Array;
  /** The latest distinct purchases, newest first, with their times: the "because you bought" anchors. */
  recentItems: Int32Array;
  recentTs: Float64Array;
  hybrid: Candidates & {
    /** Bit k set = hybridSources[k] contributed a meaningful share of the item's score. */
    sourceMask: Uint32Array;
    /** The purchase that best explains each candidate (anchor-finder.ts AnchorCode), -1 = none. */
    because: Int32Array;
  };
}

const USER_LAYOUT: RecordLayout = {
  magic: 0x31555352, // "RSU1"
  version: 2,
  arrays: [Float64Array, Int32Array, Int32Array, Float64Array, Int32Array, Float32Array, Uint32Array, Int32Array],
};
const STRATEGY_LAYOUT: RecordLayout = {
  magic: 0x31535352, // "RSS1"
  version: 1,
  arrays: [Int32Array, Float32Array],
};

export function encodeUserEntry(e: UserEntry): Uint8Array {
  return encodeRecord(USER_LAYOUT, [
    Float64Array.of(e.segment, e.orders, e.lastTs),
    e.purchased,
    e.recentItems,
    e.recentTs,
    e.hybrid.items,
    e.hybrid.scores,
    e.hybrid.sourceMask,
    e.hybrid.because,
  ]);
}

export function decodeUserEntry(bytes: Uint8Array): UserEntry {
  const [scalars, purchased, recentItems, recentTs, items, scores, sourceMask, because] = decodeRecord(USER_LAYOUT, bytes) as [
    Float64Array,
    Int32Array,
    Int32Array,
    Float64Array,
    Int32Array,
    Float32Array,
    Uint32Array,
    Int32Array,
  ];
  return {
    segment: scalars[0],
    orders: scalars[1],
    lastTs: scalars[2],
    purchased,
    recentItems,
    recentTs,
    hybrid: { items, scores, sourceMask, because },
  };
}

export function encodeCandidates(c: Candidates): Uint8Array {
  return encodeRecord(STRATEGY_LAYOUT, [c.items, c.scores]);
}

export function decodeCandidates(bytes: Uint8Array): Candidates {
  const [items, scores] = decodeRecord(STRATEGY_LAYOUT, bytes) as [Int32Array, Float32Array];
  return { items, scores };
}

/** Binary search in an ascending Int32Array. */
export function sortedHas(sorted: Int32Array, item: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid];
    if (v === item) return true;
    if (v < item) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
